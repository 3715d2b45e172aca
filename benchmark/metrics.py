"""Segmentation metrics of one frame or one video against the ground truth.

Names are those of ``results.json`` (issue #5).  Every metric is registered in :data:`METRICS`
(name, description, unit, direction and, for per-frame metrics, the function that computes it
from a frame's overlap and matching) — the registry that scoring, the report and the gate read.

- Pixel: ``iou_pixel``, ``dice_pixel`` of the foreground.
- Instances matched one to one by the Hungarian algorithm on IoU
  (:func:`baselines.matching.match`): ``f1@0.5``, ``precision@0.5``, ``recall@0.5``,
  ``ap@0.5:0.95`` = TP/(TP+FP+FN) averaged over IoU thresholds 0.5, 0.55, …, 0.95 (the Data
  Science Bowl 2018 / StarDist definition), ``pq`` panoptic quality = (Σ IoU of matches with
  IoU > 0.5) / (TP + FP/2 + FN/2) (Kirillov et al., CVPR 2019), ``mean_matched_iou``.  F1, AP, PQ
  and the mean matched IoU are 1 on a frame with neither true nor predicted objects, 0 on one with
  objects on one side only.
- ``seg``: the Cell Tracking Challenge SEG: for every reference object, the Jaccard index with
  the predicted object covering more than half of it (0 if none), averaged over reference
  objects (Maška et al., Bioinformatics 2014); :func:`seg_video` pools them over all frames as
  the CTC does (``results.json``'s ``seg``; :func:`video_metrics` gives it with every per-frame
  metric from the same overlaps).  Every instance metric stands on one pixel-overlap
  matrix (:func:`benchmark.overlap.label_overlap`, numba kernel with a NumPy reference).
- ``boundary_f1``: F1 of boundary pixels within a tolerance (``BOUNDARY_TOL_NM``) of the
  other's boundary (Csurka et al., BMVC 2013; :mod:`benchmark.boundary`).
- Shape fidelity over matched pairs (IoU ≥ 0.5): ``area_rel_error``, ``centroid_error_nm``,
  ``orientation_error_rad`` (only objects whose true eccentricity exceeds 0.6), from image
  moments of all regions at once (:func:`benchmark.shape.region_moments`, scikit-image's
  ``regionprops`` conventions, tested against it).

One pass over the pixels builds the overlap matrix (through lookup tables that renumber the
labels, :func:`benchmark.overlap.sequential_lut`); the foreground IoU/Dice, the IoU matrix, the
matching and every threshold of F1, AP and PQ are read from it, and the region moments are
computed only when some pair is matched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from baselines.matching import Matching, match
from benchmark.boundary import boundary_f1
from benchmark.overlap import Engine, SequentialLut, iou_from_overlap, label_overlap, overlap_from_luts, sequential_lut
from benchmark.shape import moments_from_lut, shape_errors

__all__ = ["METRICS", "Metric", "FRAME_METRICS", "HIGHER_IS_BETTER", "frame_metrics", "video_metrics", "seg_measure",
           "seg_video", "BOUNDARY_TOL_NM", "higher_is_better"]

#: Tolerance of ``boundary_f1`` in nm, divided by each video's pixel size to give pixels.  The
#: project's choice: Csurka et al. (BMVC 2013) scale it with the image (a fraction of its
#: diagonal), which would make the same physical outline error count differently at each frame
#: size; 2 nm is 2 px at the presets' usual 1 nm/px (4 px at 0.5 nm/px, 0.67 px at 3 nm/px).
BOUNDARY_TOL_NM = 2.0
_AP_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)


def _pixel(ov: np.ndarray) -> tuple[float, float]:
    """Foreground IoU and Dice from an overlap matrix (row/column 0 = background)."""
    n_true, n_pred = ov[1:, :].sum(), ov[:, 1:].sum()
    inter = ov[1:, 1:].sum()
    union, s = n_true + n_pred - inter, n_true + n_pred
    return (1.0 if union == 0 else inter / union), (1.0 if s == 0 else 2 * inter / s)


def _ap(m: Matching) -> float:
    if m.n_true == 0 and m.n_pred == 0:
        return 1.0
    vals = [m.tp(th) / (m.n_true + m.n_pred - m.tp(th)) for th in _AP_THRESHOLDS]
    return float(np.mean(vals))


def _pq(m: Matching) -> float:
    if m.n_true == 0 and m.n_pred == 0:
        return 1.0
    good = m.ious > 0.5
    tp = good.sum()
    denom = tp + 0.5 * (m.n_pred - tp) + 0.5 * (m.n_true - tp)
    return float(m.ious[good].sum() / denom) if denom > 0 else 0.0


def seg_measure(true: np.ndarray, pred: np.ndarray, *, engine: Engine = "numba") -> float:
    """CTC SEG of one frame (NaN when the frame has no reference object).

    Parameters
    ----------
    true, pred : (Y, X) integer instance labels
    engine : overlap kernel, ``"numba"`` or ``"numpy"`` (:func:`benchmark.overlap.label_overlap`)
    """
    return _seg_from_overlap(label_overlap(true, pred, engine=engine)[0])


def seg_video(true: np.ndarray, pred: np.ndarray, *, engine: Engine = "numba") -> float:
    """CTC SEG of a video: Jaccard indices pooled over every reference object of every frame.

    This is the Cell Tracking Challenge's definition (and py-ctcmetrics'): frames holding more
    reference objects weigh more than in the mean of per-frame SEG.

    Parameters
    ----------
    true, pred : (T, Y, X) integer instance labels
    engine : overlap kernel, ``"numba"`` or ``"numpy"``

    Returns
    -------
    float in [0, 1]; NaN when no frame has a reference object.
    """
    overlaps = (label_overlap(true[t], pred[t], engine=engine)[0] for t in range(true.shape[0]))
    return _pool_seg((ov.shape[0] - 1, _seg_from_overlap(ov)) for ov in overlaps)


def _pool_seg(frames: Iterable[tuple[int, float]]) -> float:
    """SEG pooled over reference objects from each frame's (number of reference objects, SEG)."""
    total, count = 0.0, 0
    for n, seg in frames:
        if n:
            total += seg * n
            count += n
    return total / count if count else float("nan")


def _seg_from_overlap(ov: np.ndarray) -> float:
    if ov.shape[0] <= 1:
        return float("nan")
    sizes_t = ov[1:, :].sum(1)
    inter = ov[1:, 1:]
    if inter.shape[1] == 0:
        return 0.0
    sizes_p = ov[:, 1:].sum(0)
    best = inter.argmax(axis=1)
    got = inter[np.arange(len(sizes_t)), best]
    ok = got > 0.5 * sizes_t
    j = np.where(ok, got / np.maximum(sizes_t + sizes_p[best] - got, 1), 0.0)
    return float(j.mean())


@dataclass(frozen=True)
class _Frame:
    """What every per-frame measure reads: the labels, their sequential lookup tables, overlap and
    matching."""

    true: np.ndarray
    pred: np.ndarray
    true_lut: SequentialLut
    pred_lut: SequentialLut
    overlap: np.ndarray
    matching: Matching
    pixel_size_nm: float
    engine: Engine

    @cached_property
    def pixel(self) -> tuple[float, float]:
        return _pixel(self.overlap)

    @cached_property
    def shape(self) -> tuple[float, float, float]:
        m = self.matching
        keep = m.ious >= 0.5
        if not keep.any():
            return float("nan"), float("nan"), float("nan")
        width = self.true.shape[1]
        return shape_errors(moments_from_lut(self.true_lut, width, engine=self.engine),
                            moments_from_lut(self.pred_lut, width, engine=self.engine),
                            m.rows[keep], m.cols[keep], self.pixel_size_nm)


def _precision(f: _Frame) -> float:
    m = f.matching
    if m.n_pred == 0:
        return 1.0 if m.n_true == 0 else 0.0
    return m.tp(0.5) / m.n_pred


def _recall(f: _Frame) -> float:
    m = f.matching
    return 1.0 if m.n_true == 0 else m.tp(0.5) / m.n_true


def _mean_matched_iou(f: _Frame) -> float:
    """Mean IoU of the pairs matched at IoU ≥ 0.5; 1.0 on a frame with neither true nor predicted
    objects (nothing to get wrong, as F1, AP and PQ score it), 0.0 when there are objects but no
    pair is matched, one side empty included (as F1, AP and PQ: nothing of it was recovered)."""
    m = f.matching
    if m.n_true == 0 and m.n_pred == 0:
        return 1.0
    good = m.ious >= 0.5
    return float(m.ious[good].mean()) if good.any() else 0.0


@dataclass(frozen=True)
class Metric:
    """One entry of the metric registry.

    ``compute`` takes the frame context (``None`` for measures computed over a whole video or by
    the physics-recovery module); ``higher_is_better`` steers the gate and the leaderboard.
    """

    name: str
    description: str
    unit: str = ""
    higher_is_better: bool = True
    compute: Callable[[_Frame], float] | None = None


def _m(name, description, compute=None, unit="", higher=True) -> tuple[str, Metric]:
    return name, Metric(name, description, unit, higher, compute)


#: The registry (stardist's ``matching_criteria`` pattern): every metric of ``results.json``.
METRICS: dict[str, Metric] = dict([
    _m("iou_pixel", "foreground Jaccard index", lambda f: f.pixel[0]),
    _m("dice_pixel", "foreground Dice coefficient", lambda f: f.pixel[1]),
    _m("f1@0.5", "instance F1, Hungarian matching at IoU 0.5", lambda f: f.matching.f1(0.5)),
    _m("precision@0.5", "matched / predicted instances at IoU 0.5", _precision),
    _m("recall@0.5", "matched / true instances at IoU 0.5", _recall),
    _m("ap@0.5:0.95", "TP/(TP+FP+FN) averaged over IoU 0.5…0.95 (DSB 2018)", lambda f: _ap(f.matching)),
    _m("pq", "panoptic quality (Kirillov et al. 2019)", lambda f: _pq(f.matching)),
    _m("mean_matched_iou", "mean IoU of pairs matched at IoU ≥ 0.5", _mean_matched_iou),
    _m("seg", "Cell Tracking Challenge SEG (pooled over the video's objects)", lambda f: _seg_from_overlap(f.overlap)),
    _m("boundary_f1", f"boundary F1 within {BOUNDARY_TOL_NM:g} nm (Csurka et al. 2013)",
       lambda f: boundary_f1(f.true, f.pred, BOUNDARY_TOL_NM / f.pixel_size_nm, engine=f.engine)),
    _m("area_rel_error", "|area − true area| / true area of matched pairs", lambda f: f.shape[0], higher=False),
    _m("centroid_error_nm", "centroid distance of matched pairs", lambda f: f.shape[1], "nm", higher=False),
    _m("orientation_error_rad", "orientation error of matched anisotropic pairs (eccentricity > 0.6)",
       lambda f: f.shape[2], "rad", higher=False),
    _m("det", "Cell Tracking Challenge DET (AOGM-D, py-ctcmetrics)"),
    _m("tra", "Cell Tracking Challenge TRA (AOGM, py-ctcmetrics)"),
    _m("diffusion_rel_error", "relative error of D from the MSD of the segmented tracks (moving particles)", higher=False),
    _m("potential_rel_error", "relative error of the Boltzmann-inverted pair potential (interacting scenarios)",
       higher=False),
    _m("etch_rate_rel_error", "relative error of the etch/growth rate from area against time (reacting scenarios)",
       higher=False),
    _m("chain_growth_rel_error", "relative error of the growth rate of the mean chain size (assembling scenarios)",
       higher=False),
    _m("seconds_per_frame", "the method's wall time per frame", unit="s", higher=False),
    _m("peak_memory_mb", "the method's peak rise of the process's resident memory (RSS high-water mark; "
       "host memory, not a GPU's; – where the OS cannot reset the mark)", unit="MiB", higher=False),
])

#: The per-frame metrics, averaged over frames (``seg`` is then pooled over the video).
FRAME_METRICS: tuple[str, ...] = tuple(name for name, m in METRICS.items() if m.compute is not None)

#: Direction of each metric, for the gate and the leaderboard.
HIGHER_IS_BETTER: dict[str, bool] = {name: m.higher_is_better for name, m in METRICS.items()}


def frame_metrics(true: np.ndarray, pred: np.ndarray, *, pixel_size_nm: float = 1.0,
                  engine: Engine = "numba") -> dict[str, float]:
    """Every per-frame metric of ``pred`` against ``true``.

    Parameters
    ----------
    true, pred : (Y, X) integer instance labels, 0 = background
    pixel_size_nm : pixel size (nm), for the boundary tolerance and the centroid error
    engine : kernels, ``"numba"`` or ``"numpy"`` (the references) — :func:`benchmark.overlap.sequential_lut`,
        :func:`benchmark.overlap.overlap_from_luts`, :func:`benchmark.shape.moments_from_lut` and
        :func:`benchmark.boundary.boundary_f1`

    Returns
    -------
    dict metric name -> value, keys :data:`FRAME_METRICS`
    """
    frame = _frame(true, pred, pixel_size_nm, engine)
    return {name: float(METRICS[name].compute(frame)) for name in FRAME_METRICS}


def video_metrics(true: np.ndarray, pred: np.ndarray, *, pixel_size_nm: float = 1.0,
                  engine: Engine = "numba") -> tuple[list[dict[str, float]], float]:
    """:func:`frame_metrics` of every frame and :func:`seg_video`, from one overlap per frame.

    Parameters
    ----------
    true, pred : (T, Y, X) integer instance labels, 0 = background
    pixel_size_nm : pixel size (nm)
    engine : kernels, ``"numba"`` or ``"numpy"`` (the reference)

    Returns
    -------
    per_frame : T dicts metric name -> value, keys :data:`FRAME_METRICS`
    seg : the CTC SEG pooled over every reference object of the video (NaN if there is none)
    """
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.ndim != 3:
        raise ValueError(f"expected two (T, Y, X) label videos of the same shape, got {true.shape} and {pred.shape}")
    per, counts = [], []
    for t in range(true.shape[0]):
        frame = _frame(true[t], pred[t], pixel_size_nm, engine)
        per.append({name: float(METRICS[name].compute(frame)) for name in FRAME_METRICS})
        counts.append(frame.overlap.shape[0] - 1)
    return per, _pool_seg(zip(counts, (m["seg"] for m in per)))


def _frame(true: np.ndarray, pred: np.ndarray, pixel_size_nm: float, engine: Engine) -> _Frame:
    """The lookup tables, overlap and matching of one frame (moments and boundaries on demand)."""
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.ndim != 2:
        raise ValueError(f"expected two (Y, X) label images of the same shape, got {true.shape} and {pred.shape}")
    t, p = sequential_lut(true, engine=engine), sequential_lut(pred, engine=engine)
    ov = overlap_from_luts(t, p, engine=engine)
    return _Frame(true, pred, t, p, ov, match(true, pred, iou=iou_from_overlap(ov)), pixel_size_nm, engine)


def higher_is_better(metric: str) -> bool:
    """Direction of a metric: from :data:`HIGHER_IS_BETTER`, else errors (``*error*``) and costs
    are lower-is-better and everything else higher-is-better."""
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    return not ("error" in metric or metric.endswith(("_s", "_mb")))
