"""Boundary F1: boundary pixels of one labelling within a tolerance of the other's.

``boundary_f1(true, pred, tol_px)`` is the F1 of the two sets of inner boundary pixels, where a
boundary pixel counts as matched when a boundary pixel of the other labelling lies within
``tol_px`` (Euclidean, inclusive) — Csurka et al., BMVC 2013.  Two engines give the same numbers:

- ``"numpy"``, the reference: scikit-image's ``find_boundaries(mode="inner")`` and SciPy's
  Euclidean distance transform of each boundary set;
- ``"numba"``: the same inner boundaries from a 4-neighbour comparison (edge pixels compared with
  themselves, as ``find_boundaries``' reflecting filters do) and, for each boundary pixel, a scan
  of the disk of offsets within ``tol_px`` — the boundaries are sparse, so this costs a few
  operations per boundary pixel instead of two full-frame distance transforms.

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
def _matched_count_numba(a: np.ndarray, b: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> int:  # pragma: no cover
    """Number of True pixels of ``a`` with a True pixel of ``b`` at one of the offsets (dy, dx)."""
    ny, nx = a.shape
    count = 0
    for y in range(ny):
        for x in range(nx):
            if not a[y, x]:
                continue
            for k in range(dy.size):
                yy, xx = y + dy[k], x + dx[k]
                if 0 <= yy < ny and 0 <= xx < nx and b[yy, xx]:
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
    if engine == "numpy":
        return find_boundaries(labels, mode="inner")
    out = np.zeros(labels.shape, bool)
    _inner_boundaries_numba(np.ascontiguousarray(labels), out)
    return out


def _matched_fraction(a: np.ndarray, b: np.ndarray, tol_px: float, engine: Engine) -> float:
    """Fraction of the True pixels of ``a`` within ``tol_px`` of a True pixel of ``b``."""
    if engine == "numpy":
        return float((ndimage.distance_transform_edt(~b)[a] <= tol_px).mean())
    r = int(np.floor(tol_px))
    dy, dx = (o.ravel() for o in np.mgrid[-r:r + 1, -r:r + 1])
    keep = dy * dy + dx * dx <= tol_px * tol_px
    order = np.argsort(dy[keep] ** 2 + dx[keep] ** 2, kind="stable")  # nearest offsets first
    return _matched_count_numba(a, b, dy[keep][order].astype(np.int64), dx[keep][order].astype(np.int64)) / a.sum()


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
    bt, bp = inner_boundaries(true, engine=engine), inner_boundaries(pred, engine=engine)
    if not bt.any() and not bp.any():
        return 1.0
    if not bt.any() or not bp.any():
        return 0.0
    precision = _matched_fraction(bp, bt, tol_px, engine)
    recall = _matched_fraction(bt, bp, tol_px, engine)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
