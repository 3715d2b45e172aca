"""Per-frame bookkeeping of instance labels: which ids a label image shows, and relabelling it
in place through a lookup table.

``visible_ids`` and ``relabel`` are the checking wrappers; ``_seen_numba`` and
``_relabel_numba`` the kernels (one pass over the pixels, no temporaries), with the NumPy
references ``_seen_numpy`` and ``_relabel_numpy`` beside them (``engine="numpy"``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["visible_ids", "relabel"]


@njit(cache=True, nogil=True)
def _seen_numba(labels, seen):
    """``seen[v] = True`` for every value ``v`` of ``labels`` (all ``< seen.size``)."""
    for v in labels.ravel():
        seen[v] = True


def _seen_numpy(labels, seen):
    """NumPy reference of :func:`_seen_numba`."""
    seen[np.unique(labels)] = True


@njit(cache=True, nogil=True)
def _relabel_numba(labels, lut):
    """``labels[...] = lut[labels]``, in place."""
    flat = labels.ravel()
    for i in range(flat.size):
        flat[i] = lut[flat[i]]


def _relabel_numpy(labels, lut):
    """NumPy reference of :func:`_relabel_numba`."""
    labels[...] = lut[labels]


def _check_engine(engine: str) -> None:
    if engine not in ("numba", "numpy"):
        raise ValueError(f"engine must be 'numba' or 'numpy', got {engine!r}")


def visible_ids(labels: np.ndarray, max_id: int, *, engine: str = "numba") -> np.ndarray:
    """The positive ids that ``labels`` shows, ascending (int64), as ``np.unique`` without 0.

    Parameters
    ----------
    labels : (Y, X) unsigned integer labels, C-contiguous, every value at most ``max_id``
    max_id : the largest id ``labels`` may hold
    engine : ``"numba"`` (kernel) or ``"numpy"`` (reference)
    """
    _check_engine(engine)
    seen = np.zeros(int(max_id) + 1, np.bool_)
    (_seen_numba if engine == "numba" else _seen_numpy)(np.ascontiguousarray(labels), seen)
    seen[0] = False
    return np.flatnonzero(seen)


def relabel(labels: np.ndarray, lut: np.ndarray, *, engine: str = "numba") -> np.ndarray:
    """Replace every label ``v`` by ``lut[v]`` in place and return ``labels``.

    Parameters
    ----------
    labels : (Y, X) unsigned integer labels, C-contiguous and writable, every value ``< lut.size``
    lut : (M,) new label of each old one, of ``labels``' dtype
    engine : ``"numba"`` (kernel) or ``"numpy"`` (reference)
    """
    _check_engine(engine)
    if not labels.flags.c_contiguous or lut.dtype != labels.dtype:
        raise ValueError("relabel: labels must be C-contiguous and lut of the labels' dtype")
    (_relabel_numba if engine == "numba" else _relabel_numpy)(labels, lut)
    return labels
