"""Per-video results of a running ``nanoaq bench``, so that a killed run resumes where it stopped.

Each scored video is stored as soon as it is done, in a folder beside the results file
(``<out dir>/.<out name>.cache/<key>/<task>/<video_id>/``: ``result.json`` and ``labels.npy``),
written to a temporary name and renamed, so that a crash never leaves a half entry.  The key is
the sha256 of the suite checksum, the method's name, parameters and version, the nanoaquarium
version, the sha256 of the method's source file and those of the scoring code (every module of the
project that :mod:`benchmark.score` imports, directly or through others: :func:`_scoring_modules`):
a run with anything different does not reuse an entry, so a bench resumed across a change of the
scoring does not mix two kinds of result.  When the results file has been written the cache is
removed, so a finished bench leaves nothing behind and the next run computes afresh.  Reused
entries keep the time and peak memory measured when they were computed.

``labels.npy`` is read with ``allow_pickle=False``: a cache entry cannot smuggle code in.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from simulator import __version__

from .results import VideoResult

__all__ = ["BenchCache", "cache_path"]

log = logging.getLogger(__name__)


def cache_path(out: str | Path) -> Path:
    """The cache folder of the results file ``out``: a hidden sibling, ``.<name>.cache``."""
    out = Path(out)
    return out.with_name(f".{out.name}.cache")


def _source_digest(obj: Callable[..., Any] | ModuleType) -> str:
    """sha256 of the file that defines ``obj``, a function or a module ("" when it has none, e.g. a
    builtin)."""
    try:
        source = inspect.getsourcefile(obj)
    except TypeError:
        source = None
    if not source or not os.path.isfile(source):
        return ""
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _scoring_modules() -> list[str]:
    """Every module of the project's packages (those beside ``benchmark/``) that
    :mod:`benchmark.score` imports, directly or through others (parent packages included), sorted.

    The import statements are read from the files (:mod:`ast`, those inside functions included),
    not from what this process happens to have imported, so the list is the same in every run.
    """
    root = Path(__file__).resolve().parents[1]
    found: set[str] = set()
    todo = ["benchmark.score"]
    while todo:
        name = todo.pop()
        base = root.joinpath(*name.split("."))
        path = next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)
        if name in found or path is None:
            continue  # seen, outside the project, or a name imported from a module
        found.add(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo += [name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)]  # run when it is imported
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                    if node.level else node.module or ""
                todo += [module, *(f"{module}.{a.name}" for a in node.names)]  # `from . import x`: a module
    return sorted(found)


def _scoring_digest() -> str:
    """sha256 of the names and source files of the code that turns a method's labels into a result
    (:func:`_scoring_modules`)."""
    digest = hashlib.sha256()
    for name in _scoring_modules():
        digest.update(f"{name} {_source_digest(importlib.import_module(name))}\n".encode())
    return digest.hexdigest()


class BenchCache:
    """The stored per-video results of one method on one suite.

    Parameters
    ----------
    root : the cache folder (see :func:`cache_path`)
    suite_checksum : :attr:`benchmark.suite.Suite.checksum`
    method, params, version : the method's name, its checked parameters and its version
    func : the method itself (its source file goes into the key)
    """

    def __init__(self, root: str | Path, *, suite_checksum: str, method: str, params: dict[str, Any],
                 version: str, func: Callable[..., Any]) -> None:
        key = json.dumps({"suite": suite_checksum, "method": method, "params": params, "version": version,
                          "nanoaquarium": __version__, "source": _source_digest(func),
                          "scoring": _scoring_digest()}, sort_keys=True, default=str)
        self.path = Path(root) / hashlib.sha256(key.encode()).hexdigest()[:24]

    def _entry(self, task: str, video_id: str) -> Path:
        return self.path / task / video_id

    def get(self, task: str, video_id: str) -> tuple[VideoResult, np.ndarray] | None:
        """The stored result and label video (T, Y, X) of ``video_id`` in ``task``, or None."""
        entry = self._entry(task, video_id)
        if not entry.is_dir():
            return None
        try:
            result = VideoResult.model_validate(json.loads((entry / "result.json").read_text(encoding="utf-8")))
            labels = np.load(entry / "labels.npy", allow_pickle=False)
        except Exception as exc:  # an unreadable entry is recomputed, never trusted
            log.warning("bench cache entry %s unreadable (%s); recomputing it", entry, exc)
            return None
        return result, labels

    def put(self, task: str, video_id: str, result: VideoResult, labels: np.ndarray) -> None:
        """Store one video's result and labels (atomically: a temporary folder renamed)."""
        entry = self._entry(task, video_id)
        tmp = entry.with_name(f".{entry.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        # json (not pydantic's serializer) keeps NaN as NaN, so the entry reads back equal.
        (tmp / "result.json").write_text(json.dumps(result.model_dump()), encoding="utf-8")
        np.save(tmp / "labels.npy", np.asarray(labels), allow_pickle=False)
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(tmp, entry)
