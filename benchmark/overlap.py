"""Label-overlap matrix: the one kernel every instance metric of the benchmark stands on.

``label_overlap(true, pred)`` counts, for every (true label, predicted label) pair, the pixels
they share, after relabelling both images sequentially (row/column 0 = background).  It is the
quantity of stardist's ``matching.label_overlap``; the numba kernel :func:`_label_overlap_numba`
is the same five-line loop (one pass over the pixels, no temporary of size ``n_pixels``), and
:func:`_label_overlap_numpy` is its pure-NumPy reference (``np.bincount`` over paired labels).
The tests run on both engines (``tests/benchmark/test_overlap_engines.py``).

From the overlap matrix follow the IoU matrix (:func:`iou_from_overlap`), the Hungarian
matching (:func:`baselines.matching.match`) and the CTC SEG (:func:`benchmark.metrics.seg_measure`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit
from skimage.segmentation import relabel_sequential

__all__ = ["ENGINES", "label_overlap", "iou_from_overlap", "sequential"]

Engine = Literal["numba", "numpy"]
ENGINES: tuple[str, ...] = ("numba", "numpy")


@njit(cache=True, nogil=True)
def _label_overlap_numba(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
    """Add 1 to ``out[x[i], y[i]]`` for every pixel ``i`` (x, y: 1-D int64; out: zeroed)."""
    for i in range(x.size):
        out[x[i], y[i]] += 1


def _label_overlap_numpy(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """NumPy reference of :func:`_label_overlap_numba` (same arguments, same result)."""
    n_y = out.shape[1]
    out += np.bincount(x * n_y + y, minlength=out.size).reshape(out.shape)


_KERNELS = {"numba": _label_overlap_numba, "numpy": _label_overlap_numpy}


def label_overlap(true: np.ndarray, pred: np.ndarray, *, engine: Engine = "numba"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel overlaps of every true and predicted instance.

    Parameters
    ----------
    true, pred : (Y, X) or (T, Y, X) non-negative integer labels of the same shape; 0 = background
    engine : ``"numba"`` (default) or ``"numpy"`` (reference)

    Returns
    -------
    overlap : (n_true + 1, n_pred + 1) int64; row/column 0 is the background
    true_ids, pred_ids : original label of each row / column (index 0 = background, value 0)

    Examples
    --------
    >>> a = np.array([[0, 5, 5], [0, 5, 0]]); b = np.array([[2, 2, 0], [0, 2, 0]])
    >>> label_overlap(a, b)[0].tolist()
    [[2, 1], [1, 2]]
    """
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape:
        raise ValueError(f"shapes differ: ground truth {true.shape}, prediction {pred.shape}")
    if engine not in _KERNELS:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    t, _, t_inv = relabel_sequential(true)
    p, _, p_inv = relabel_sequential(pred)
    return _overlap_sequential(t, p, engine), np.asarray(t_inv), np.asarray(p_inv)


def sequential(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 1, 2, …, n in increasing order of the original ids (0 stays 0): the first
    output of scikit-image's ``relabel_sequential``, by a lookup table from ``np.bincount`` when
    the ids are small enough (the usual case, several times faster than its hash of the frame),
    by ``relabel_sequential`` itself otherwise.

    Parameters
    ----------
    labels : non-negative integer labels, any shape
    """
    labels = np.asarray(labels)
    top = int(labels.max(initial=0))
    if top > 4 * labels.size + 1024 or labels.dtype.kind not in "iu":
        return relabel_sequential(labels)[0]
    present = np.bincount(labels.ravel(), minlength=top + 1) > 0
    present[0] = False
    lut = np.cumsum(present) * present
    return lut.astype(np.min_scalar_type(max(int(lut[-1]), 1)))[labels]


def _overlap_sequential(t: np.ndarray, p: np.ndarray, engine: Engine) -> np.ndarray:
    """Overlap matrix of two images already labelled 0, 1, …, n without gaps."""
    out = np.zeros((int(t.max(initial=0)) + 1, int(p.max(initial=0)) + 1), np.int64)
    _KERNELS[engine](t.ravel().astype(np.int64, copy=False), p.ravel().astype(np.int64, copy=False), out)
    return out


def iou_from_overlap(overlap: np.ndarray) -> np.ndarray:
    """IoU (n_true, n_pred) of every true (rows) against every predicted (columns) instance,
    background excluded, from a :func:`label_overlap` matrix."""
    inter = overlap[1:, 1:].astype(np.float64)
    union = overlap[1:, :].sum(1)[:, None] + overlap[:, 1:].sum(0)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
