"""Boundary F1: boundary pixels of one labelling within a tolerance of the other's.

``boundary_f1(true, pred, tol_px)`` is the F1 of the two sets of inner boundary pixels, where a
boundary pixel counts as matched when a boundary pixel of the other labelling lies within
``tol_px`` (Euclidean, inclusive) — Csurka et al., BMVC 2013.  Two engines give the same numbers:

- ``"numpy"``, the reference: scikit-image's ``find_boundaries(mode="inner")`` and SciPy's
  Euclidean distance transform of each boundary set;
- ``"numba"``: the same inner boundaries from a 4-neighbour comparison (edge pixels compared with
  themselves, as ``find_boundaries``' reflecting filters do) in masks padded by ``tol_px``, and,
  for each boundary pixel, a scan of the disk of offsets within ``tol_px`` in the other's padded
  mask, as fixed flat offsets without bounds checks — the boundaries are sparse, so this costs a
  few operations per boundary pixel instead of two full-frame distance transforms.

The tests run both engines on the same inputs (``tests/benchmark/test_boundary_engines.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import ndimage
from skimage.segmentation import find_boundaries

from .overlap import Engine

__all__ = ["boundary_f1", "inner_boundaries"]


@njit(cache=True, nogil=True)
def _inner_boundaries_numba(labels: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
    """``out[y, x]`` = labels[y, x] > 0 and differs from a 4-neighbour (edges: no neighbour)."""
    ny, nx = labels.shape
    for y in range(ny):
        for x in range(nx):
            v = labels[y, x]
            if v == 0:
                continue
            if ((y > 0 and labels[y - 1, x] != v) or (y + 1 < ny and labels[y + 1, x] != v)
                    or (x > 0 and labels[y, x - 1] != v) or (x + 1 < nx and labels[y, x + 1] != v)):
                out[y, x] = True


@njit(cache=True, nogil=True)
def _matched_count_numba(idx: np.ndarray, b: np.ndarray, offsets: np.ndarray) -> int:  # pragma: no cover
    """Number of flat indices ``idx[i]`` with ``b[idx[i] + offsets[k]]`` True for some ``k``
    (``b``: a flat mask padded so that every such index is in range)."""
    count = 0
    for i in range(idx.size):
        for k in range(offsets.size):
            if b[idx[i] + offsets[k]]:
                count += 1
                break
    return count


def inner_boundaries(labels: np.ndarray, *, engine: Engine = "numba") -> np.ndarray:
    """Inner boundary pixels of an instance labelling, as scikit-image's
    ``find_boundaries(labels, mode="inner")`` (connectivity 1).

    Parameters
    ----------
    labels : (Y, X) integer labels, 0 = background
    engine : ``"numba"`` or ``"numpy"`` (scikit-image itself)

    Returns
    -------
    (Y, X) bool
    """
    labels = np.asarray(labels)
    if engine == "numpy":
        return find_boundaries(labels, mode="inner")
    out = np.zeros(labels.shape, bool)
    _inner_boundaries_numba(np.ascontiguousarray(labels, dtype=labels.dtype.newbyteorder("=")), out)
    return out


def _padded_boundaries(labels: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner boundary mask of ``labels`` inside a border of ``pad`` False pixels, raveled, and the
    flat indices of its True pixels (numba mask kernel)."""
    ny, nx = labels.shape
    out = np.zeros((ny + 2 * pad, nx + 2 * pad), bool)
    _inner_boundaries_numba(np.ascontiguousarray(labels, dtype=labels.dtype.newbyteorder("=")), out[pad:pad + ny, pad:pad + nx])
    return out.ravel(), np.flatnonzero(out)


def _offsets(tol_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets (int64) within ``tol_px`` (inclusive), nearest first."""
    r = int(np.floor(tol_px))
    dy, dx = (o.ravel() for o in np.mgrid[-r:r + 1, -r:r + 1])
    keep = dy * dy + dx * dx <= tol_px * tol_px
    order = np.argsort(dy[keep] ** 2 + dx[keep] ** 2, kind="stable")
    return dy[keep][order].astype(np.int64), dx[keep][order].astype(np.int64)


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _boundary_f1_numpy(true: np.ndarray, pred: np.ndarray, tol_px: float) -> float:
    """The reference: ``find_boundaries`` and the Euclidean distance transform of each set."""
    bt, bp = find_boundaries(true, mode="inner"), find_boundaries(pred, mode="inner")
    if not bt.any() and not bp.any():
        return 1.0
    if not bt.any() or not bp.any():
        return 0.0
    precision = float((ndimage.distance_transform_edt(~bt)[bp] <= tol_px).mean())
    recall = float((ndimage.distance_transform_edt(~bp)[bt] <= tol_px).mean())
    return _f1(precision, recall)


def _boundary_f1_numba(true: np.ndarray, pred: np.ndarray, tol_px: float) -> float:
    """The masks are padded by the tolerance, so that the matches are looked up around the listed
    boundary pixels at fixed flat offsets, without bounds checks."""
    dy, dx = _offsets(tol_px)
    pad = int(np.floor(tol_px))
    (bt, it), (bp, ip) = _padded_boundaries(true, pad), _padded_boundaries(pred, pad)
    if not it.size and not ip.size:
        return 1.0
    if not it.size or not ip.size:
        return 0.0
    offsets = dy * (true.shape[1] + 2 * pad) + dx
    precision = _matched_count_numba(ip, bt, offsets) / ip.size
    recall = _matched_count_numba(it, bp, offsets) / it.size
    return _f1(precision, recall)


def boundary_f1(true: np.ndarray, pred: np.ndarray, tol_px: float, *, engine: Engine = "numba") -> float:
    """Boundary F1 of two instance labellings.

    Parameters
    ----------
    true, pred : (Y, X) integer labels, 0 = background
    tol_px : tolerance (pixels); a boundary pixel within this distance of the other boundary matches
    engine : ``"numba"`` or ``"numpy"`` (the reference)

    Returns
    -------
    float in [0, 1]: 1 when neither labelling has a boundary, 0 when only one has.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.ndim != 2:
        raise ValueError(f"expected two (Y, X) label images of the same shape, got {true.shape} and {pred.shape}")
    if engine not in ("numba", "numpy"):
        raise ValueError(f"engine must be 'numba' or 'numpy', got {engine!r}")
    if not tol_px >= 0:
        raise ValueError(f"tol_px = {tol_px}: expected a distance >= 0 pixels")
    return _boundary_f1_numpy(true, pred, tol_px) if engine == "numpy" else _boundary_f1_numba(true, pred, tol_px)
