"""Peak memory of a call: how far the process's resident memory (RSS) rose above its level at
the start of the call.

Linux keeps each process's RSS high-water mark (``VmHWM`` in ``/proc/self/status``) and resets it
to the current RSS when ``5`` is written to ``/proc/self/clear_refs`` (Linux 4.0 and later;
proc(5)).  Resetting it before the call and reading it after counts every page the call made
resident, whoever allocated it (NumPy, PyTorch's CPU allocator, a C library), and costs the call
nothing.  tracemalloc, used before, sees only allocations made through Python's allocators (a
100 MiB PyTorch tensor traced as 0.0001 MB) and slows every allocation it traces, so the timing
taken with it on was slowed too.

The kernel batches its RSS counters per CPU, so the figure can be off by a few hundred KiB (more
on a machine with many cores).  It does not count memory on a GPU, nor memory the process had
already made resident and kept after freeing it (e.g. glibc's heap after an earlier video),
which the call may reuse.  Two calls at once in one process (a Dask worker with several
threads) share one high-water mark.  Where the mark cannot be reset (another OS, a sandbox that
refuses ``clear_refs``) the peak is ``None``, shown as unknown, rather than another quantity
under the same name.
"""

from __future__ import annotations

from types import TracebackType

__all__ = ["PeakMemory"]

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _high_water_mark_kib() -> int:
    """``VmHWM`` of ``/proc/self/status``, in KiB (the kernel writes it as ``N kB``)."""
    with open(_STATUS, encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def _reset_high_water_mark() -> int | None:
    """Reset the RSS high-water mark to the current RSS and return that RSS in KiB, or None
    where this cannot be done."""
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as f:
            f.write("5")
        return _high_water_mark_kib()
    except (OSError, StopIteration, ValueError, IndexError):
        return None


class PeakMemory:
    """``with PeakMemory() as mem: ...``; then ``mem.mb`` is the peak rise of the process's RSS
    during the block in MiB (2**20 bytes), or None where it cannot be measured."""

    mb: float | None = None

    def __enter__(self) -> PeakMemory:
        self.mb = None
        self._start_kib = _reset_high_water_mark()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._start_kib is not None:
            self.mb = max(0, _high_water_mark_kib() - self._start_kib) / 1024
