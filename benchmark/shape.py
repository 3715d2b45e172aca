"""Region moments of every instance at once, and the shape errors of matched pairs.

:func:`region_moments` gives, per instance, the area, centroid, orientation and eccentricity with
scikit-image's ``regionprops`` conventions (central second moments, inertia-tensor eigenvalues;
tested against it).  The sums are accumulated by a numba kernel in two passes over the pixels —
first the areas and coordinate sums (centroids), then the central second moments about those
centroids — reading the labels through the sequential lookup table of
:func:`benchmark.overlap.sequential_lut`, so no relabelled copy or coordinate arrays are made.
Its NumPy reference (:func:`_moment_sums_numpy`, ``np.bincount`` with weights) adds the same
terms in the same (pixel) order, so the two engines give bit-identical moments
(``tests/benchmark/test_shape_engines.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .overlap import Engine, SequentialLut, sequential_lut

__all__ = ["region_moments", "moments_from_lut", "shape_errors"]


@njit(cache=True, nogil=True)
def _moment_sums_numba(flat: np.ndarray, lut: np.ndarray, width: int, out: np.ndarray) -> None:  # pragma: no cover
    """Per sequential label ``k`` (row ``k`` of ``out``, (n + 1, 6) float64, zeroed): area, mean
    row, mean column, then Σ dx², Σ dx·dy, Σ dy² about that centroid (dx, dy: column, row
    offsets), the pixels taken in raster order (``flat``: the image raveled, ``width`` columns;
    ``lut[0] = 0``)."""
    height = flat.size // width
    for r in range(height):
        row = flat[r * width:(r + 1) * width]
        for c in range(width):
            if row[c] != 0:
                k = lut[row[c]]
                out[k, 0] += 1.0
                out[k, 1] += float(r)
                out[k, 2] += float(c)
    for k in range(1, out.shape[0]):
        if out[k, 0] > 0:
            out[k, 1] /= out[k, 0]
            out[k, 2] /= out[k, 0]
    for r in range(height):
        row = flat[r * width:(r + 1) * width]
        for c in range(width):
            if row[c] != 0:
                k = lut[row[c]]
                dy = float(r) - out[k, 1]
                dx = float(c) - out[k, 2]
                out[k, 3] += dx * dx
                out[k, 4] += dx * dy
                out[k, 5] += dy * dy


def _moment_sums_numpy(flat: np.ndarray, lut: np.ndarray, width: int, out: np.ndarray) -> None:
    """NumPy reference of :func:`_moment_sums_numba` (same arguments, same result)."""
    seq = lut[flat]
    idx = np.flatnonzero(seq)  # foreground only: background pixels add nothing
    rr, cc = (x.astype(np.float64) for x in np.divmod(idx, width))
    seq = seq[idx]
    n = out.shape[0]
    area = np.bincount(seq, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = np.where(area > 0, np.bincount(seq, rr, minlength=n) / area, 0.0)
        cx = np.where(area > 0, np.bincount(seq, cc, minlength=n) / area, 0.0)
    dy, dx = rr - cy[seq], cc - cx[seq]
    out[:, 0], out[:, 1], out[:, 2] = area, cy, cx
    out[:, 3] = np.bincount(seq, dx * dx, minlength=n)
    out[:, 4] = np.bincount(seq, dx * dy, minlength=n)
    out[:, 5] = np.bincount(seq, dy * dy, minlength=n)
    out[0] = 0.0


_SUMS = {"numba": _moment_sums_numba, "numpy": _moment_sums_numpy}


def moments_from_lut(s: SequentialLut, width: int, *, engine: Engine = "numba") -> np.ndarray:
    """:func:`region_moments` of the image ``s.flat`` of ``width`` columns renumbered by ``s``."""
    sums = np.zeros((s.n + 1, 6))
    _SUMS[engine](s.flat, s.lut, int(width), sums)
    area, cy, cx = sums[1:, 0], sums[1:, 1], sums[1:, 2]
    a = sums[1:, 3] / area   # inertia tensor [[a, b], [b, c]]
    b = -sums[1:, 4] / area
    c = sums[1:, 5] / area
    orient = np.where(a == c, np.where(b < 0, np.pi / 4, -np.pi / 4), 0.5 * np.arctan2(-2 * b, c - a))
    root = np.sqrt(((a - c) / 2) ** 2 + b**2)
    l1, l2 = (a + c) / 2 + root, np.maximum((a + c) / 2 - root, 0.0)
    ecc = np.sqrt(1.0 - np.divide(l2, l1, out=np.ones_like(l1), where=l1 > 0))
    return np.column_stack([area, cy, cx, orient, ecc])


def region_moments(labels: np.ndarray, *, engine: Engine = "numba") -> np.ndarray:
    """Area, centroid, orientation and eccentricity of every instance.

    Parameters
    ----------
    labels : (Y, X) non-negative integer labels, 0 = background
    engine : ``"numba"`` or ``"numpy"`` (reference)

    Returns
    -------
    (n_regions, 5) float64: area (px), centroid row and column (px), orientation (rad, as
    ``regionprops``: angle between the row axis and the major axis, in [-π/2, π/2]) and
    eccentricity; row k is the k-th smallest positive label.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2-D (Y, X), got shape {labels.shape}")
    return moments_from_lut(sequential_lut(labels, engine=engine), labels.shape[1], engine=engine)


def shape_errors(moments_true: np.ndarray, moments_pred: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 pixel_size_nm: float) -> tuple[float, float, float]:
    """Mean relative area error, centroid error (nm) and orientation error (rad) of matched pairs.

    Parameters
    ----------
    moments_true, moments_pred : (n, 5) :func:`region_moments` of the truth and the prediction
    rows, cols : (m,) indices of the matched pairs into them (m ≥ 1)
    pixel_size_nm : pixel size (nm)

    Returns
    -------
    area_rel_error, centroid_error_nm, orientation_error_rad — the last over the pairs whose true
    eccentricity exceeds 0.6 only, NaN if none.
    """
    a, b = moments_true[rows], moments_pred[cols]
    area = np.abs(b[:, 0] - a[:, 0]) / a[:, 0]
    cent = np.hypot(a[:, 1] - b[:, 1], a[:, 2] - b[:, 2]) * pixel_size_nm
    aniso = a[:, 4] > 0.6
    d = np.abs(a[aniso, 3] - b[aniso, 3]) % np.pi
    orient = np.minimum(d, np.pi - d)
    return float(area.mean()), float(cent.mean()), float(orient.mean()) if orient.size else float("nan")
