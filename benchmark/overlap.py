"""Label-overlap matrix: the one table every instance metric of the benchmark stands on.

``label_overlap(true, pred)`` counts, for every (true label, predicted label) pair, the pixels
they share, the labels of both images renumbered sequentially (row/column 0 = background).  It is
the quantity of stardist's ``matching.label_overlap``.  The renumbering is a lookup table
(:func:`sequential_lut`) applied inside the counting loop, so that no relabelled copy of the frame
is made: one pass over the labels marks the ids present, one pass counts the pairs.  The numba
kernels (:func:`_present_numba`, :func:`_label_overlap_numba`) each have a pure-NumPy reference
(``np.bincount``) beside them; the tests run on both engines
(``tests/benchmark/test_overlap_engines.py``).

From the overlap matrix follow the IoU matrix (:func:`iou_from_overlap`), the Hungarian
matching (:func:`baselines.matching.match`) and the CTC SEG (:func:`benchmark.metrics.seg_measure`).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from numba import njit
from skimage.segmentation import relabel_sequential

__all__ = ["ENGINES", "Engine", "SequentialLut", "label_overlap", "iou_from_overlap", "overlap_from_luts",
           "sequential_lut"]

Engine = Literal["numba", "numpy"]
ENGINES: tuple[str, ...] = ("numba", "numpy")


@njit(cache=True, nogil=True)
def _present_numba(labels: np.ndarray, present: np.ndarray) -> bool:  # pragma: no cover - numba
    """``present[v] = True`` for every value ``v`` of ``labels`` (1-D, values < present.size);
    False, with ``present`` incomplete, as soon as a value is negative."""
    for i in range(labels.size):
        v = labels[i]
        if v < 0:
            return False
        present[v] = True
    return True


def _present_numpy(labels: np.ndarray, present: np.ndarray) -> bool:
    """NumPy reference of :func:`_present_numba` (same arguments, same result)."""
    if labels.size and labels.min() < 0:
        return False
    present |= np.bincount(labels, minlength=present.size) > 0
    return True


@njit(cache=True, nogil=True)
def _label_overlap_numba(x: np.ndarray, y: np.ndarray, lut_x: np.ndarray, lut_y: np.ndarray,
                         out: np.ndarray) -> None:  # pragma: no cover - numba
    """Add 1 to ``out[lut_x[x[i]], lut_y[y[i]]]`` for every pixel ``i`` (x, y: 1-D; out: zeroed;
    ``lut_x[0] = lut_y[0] = 0``).  Pixels that are background in both, most of a frame, are only
    counted."""
    background = 0
    for i in range(x.size):
        a, b = x[i], y[i]
        if a == 0 and b == 0:
            background += 1
        else:
            out[lut_x[a], lut_y[b]] += 1
    out[0, 0] += background


def _label_overlap_numpy(x: np.ndarray, y: np.ndarray, lut_x: np.ndarray, lut_y: np.ndarray,
                         out: np.ndarray) -> None:
    """NumPy reference of :func:`_label_overlap_numba` (same arguments, same result)."""
    n_y = out.shape[1]
    out += np.bincount(lut_x[x].astype(np.int64) * n_y + lut_y[y], minlength=out.size).reshape(out.shape)


_PRESENT = {"numba": _present_numba, "numpy": _present_numpy}
_OVERLAP = {"numba": _label_overlap_numba, "numpy": _label_overlap_numpy}


class SequentialLut(NamedTuple):
    """A sequential renumbering of an image's labels, as a lookup table.

    ``lut[flat]`` is the image relabelled 1, 2, …, n in increasing order of the original ids (0
    stays 0), as the first output of scikit-image's ``relabel_sequential``; ``ids[k]`` is the
    original id of sequential label ``k`` (``ids[0] = 0``), as its inverse map.

    Attributes
    ----------
    flat : (n_pixels,) the labels, raveled (the renumbered image itself when the ids are too
        large for a table)
    lut : (max(flat) + 1,) int64 lookup table
    ids : (n + 1,) int64 original ids
    """

    flat: np.ndarray
    lut: np.ndarray
    ids: np.ndarray

    @property
    def n(self) -> int:
        """Number of labels (background excluded)."""
        return len(self.ids) - 1


def sequential_lut(labels: np.ndarray, *, engine: Engine = "numba") -> SequentialLut:
    """The sequential renumbering of ``labels`` as a lookup table (:class:`SequentialLut`).

    The table comes from the ids present (one pass) when the largest id is at most
    ``4·n_pixels + 1024`` — the usual case, several times faster than scikit-image's hash of the
    frame — and from ``relabel_sequential`` itself otherwise (the flat labels are then the
    renumbered image and the table the identity).

    Parameters
    ----------
    labels : non-negative integer labels, any shape
    engine : ``"numba"`` or ``"numpy"`` (reference) kernel marking the ids present
    """
    labels = np.asarray(labels)
    if engine not in _PRESENT:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if labels.dtype.byteorder not in "=|":
        labels = labels.astype(labels.dtype.newbyteorder("="))
    top = int(labels.max(initial=0))
    if top > 4 * labels.size + 1024 or labels.dtype.kind not in "iu":
        seq, _, inv = relabel_sequential(labels)
        ids = np.asarray(inv).astype(np.int64)
        flat = np.ascontiguousarray(seq).ravel()
        return SequentialLut(flat, np.arange(len(ids), dtype=np.int64), ids)
    flat = np.ascontiguousarray(labels).ravel()
    present = np.zeros(top + 1, bool)
    if not _PRESENT[engine](flat if engine == "numba" else flat.astype(np.intp, copy=False), present):
        raise ValueError("labels must be non-negative integers (0 = background)")
    present[0] = False
    lut = np.cumsum(present) * present
    return SequentialLut(flat, lut, np.r_[0, np.flatnonzero(present)].astype(np.int64))


def overlap_from_luts(t: SequentialLut, p: SequentialLut, *, engine: Engine = "numba") -> np.ndarray:
    """Overlap matrix ``(t.n + 1, p.n + 1)`` int64 of two renumbered images of the same size."""
    if t.flat.size != p.flat.size:
        raise ValueError(f"images differ in size: {t.flat.size} and {p.flat.size} pixels")
    if engine not in _OVERLAP:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    out = np.zeros((t.n + 1, p.n + 1), np.int64)
    _OVERLAP[engine](t.flat, p.flat, t.lut, p.lut, out)
    return out


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
    if engine not in _OVERLAP:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    t, p = sequential_lut(true, engine=engine), sequential_lut(pred, engine=engine)
    return overlap_from_luts(t, p, engine=engine), t.ids, p.ids


def iou_from_overlap(overlap: np.ndarray) -> np.ndarray:
    """IoU (n_true, n_pred) of every true (rows) against every predicted (columns) instance,
    background excluded, from a :func:`label_overlap` matrix."""
    inter = overlap[1:, 1:].astype(np.float64)
    union = overlap[1:, :].sum(1)[:, None] + overlap[:, 1:].sum(0)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
