"""Running independent jobs (videos, datasets) in parallel: in this process, in local worker
processes, or on a ``dask.distributed`` cluster — one function for every caller.

Results never depend on where a job ran: every job carries its own seed (spawned from one
``SeedSequence`` by the caller), so the bytes written are those of a serial run whatever the
number of workers.  Worker processes are started with ``spawn`` (numba's threading layers are
not fork-safe) and get ``cores // workers`` threads each for the numerical libraries, so that
two workers on two cores do not fight over four threads.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .errors import UserError

__all__ = ["run_jobs", "default_workers", "check_dask"]

log = logging.getLogger(__name__)

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def default_workers(jobs: int, workers: int | None = None) -> int:
    """Processes to use for ``jobs`` jobs: ``workers`` (None: one per core), at most one per job."""
    if workers is not None and workers < 1:
        raise UserError(f"workers = {workers}: expected a positive number of processes")
    return max(1, min(jobs, workers or os.cpu_count() or 1))


def check_dask(address: str | None) -> None:
    """Refuse a ``--dask`` that cannot work before anything runs or is written: dask.distributed not
    installed, or an address that is neither ``local`` nor one that dask splits into a host and a
    port (``[tcp|tls|ws|wss://]host:port``).  Whether the scheduler answers is found when connecting."""
    if address is None:
        return
    try:
        from distributed.comm.addressing import get_address_host_port
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install 'nanoaquarium[dask]'") from None
    if address == "local":
        return
    try:
        get_address_host_port(address)
    except ValueError as exc:
        raise UserError(f"--dask {address}: {exc}; expected local or a scheduler address such as "
                        "tcp://HOST:8786") from None


def _limit_threads(threads: int) -> None:
    """Process-pool initializer: cap the numerical libraries' threads before they are imported."""
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)


def _importable(fn: Callable) -> bool:
    """Whether another process can import ``fn`` by its module and name (how it is sent there)."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    obj: Any = module
    for part in (getattr(fn, "__qualname__", "") or "<none>").split("."):
        obj = getattr(obj, part, None)
    return obj is fn and module is not None and getattr(module, "__name__", "") != "__main__"


def _picklable(job: tuple) -> bool:
    """Whether a job's arguments can be sent to another process (a lambda or closure cannot), tried
    with the serialiser that ``concurrent.futures`` itself uses to send them."""
    from multiprocessing.reduction import ForkingPickler

    try:
        ForkingPickler.dumps(job)
    except Exception:  # PicklingError, AttributeError, TypeError: whatever the serialiser refuses
        return False
    return True


def run_jobs(fn: Callable[..., Any], jobs: list[tuple], *, workers: int | None = 1,
             dask: str | None = None) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*job)`` for every job; yield ``(index, result)`` as jobs finish.

    Parameters
    ----------
    fn : a module-level function (other processes import it by module and name; anything else,
        e.g. a closure, runs in this process)
    jobs : argument tuples
    workers : local processes (None: one per core, at most one per job; 1: this process), or,
        with ``dask="local"``, the LocalCluster's worker processes
    dask : ``"local"`` for a ``dask.distributed`` LocalCluster, or a scheduler address
        (``tcp://host:8786``) whose workers can import nanoaquarium and see the same files

    Raises
    ------
    UserError
        ``workers`` < 1, dask missing, a malformed address (:func:`check_dask`), or the scheduler
        unreachable.
    """
    check_dask(dask)
    n = default_workers(len(jobs), workers)
    if not jobs:
        return
    if dask is not None:
        yield from _run_dask(fn, jobs, dask, n)
    elif n > 1 and _importable(fn) and _picklable(jobs[0]):
        yield from _run_processes(fn, jobs, n)
    else:
        if n > 1:
            log.info("%r or its arguments (e.g. a lambda or closure as the method) cannot be sent to other "
                     "processes; running its %d jobs here", fn, len(jobs))
        for i, job in enumerate(jobs):
            yield i, fn(*job)


def _run_processes(fn: Callable, jobs: list[tuple], n: int) -> Iterator[tuple[int, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // n)
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_limit_threads,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:  # a job failed or the caller stopped: do not run the queued jobs
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_dask(fn: Callable, jobs: list[tuple], address: str, n: int) -> Iterator[tuple[int, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            raise UserError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    try:
        futures = {client.submit(fn, *job, pure=False): i for i, job in enumerate(jobs)}
        for fut in as_completed(list(futures)):
            yield futures[fut], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
