"""Segmentation metrics of one frame or one video against the ground truth.

Names are those of ``results.json`` (issue #5).  Every metric is a plain function registered in
:data:`FRAME_METRICS` (per frame, averaged over frames) — the registry the report and the gate
iterate over.

- Pixel: ``iou_pixel``, ``dice_pixel`` of the foreground.
- Instances matched one to one by the Hungarian algorithm on IoU
  (:func:`baselines.matching.match`): ``f1@0.5``, ``precision@0.5``, ``recall@0.5``,
  ``ap@0.5:0.95`` = TP/(TP+FP+FN) averaged over IoU thresholds 0.5, 0.55, …, 0.95 (the Data
  Science Bowl 2018 / StarDist definition), ``pq`` panoptic quality = (Σ IoU of matches with
  IoU > 0.5) / (TP + FP/2 + FN/2) (Kirillov et al., CVPR 2019), ``mean_matched_iou``.
- ``seg``: the Cell Tracking Challenge SEG: for every reference object, the Jaccard index with
  the predicted object covering more than half of it (0 if none), averaged over reference
  objects (Maška et al., Bioinformatics 2014).
- ``boundary_f1``: F1 of boundary pixels within a tolerance (``BOUNDARY_TOL_NM``) of the
  other's boundary (Csurka et al., BMVC 2013).
- Shape fidelity over matched pairs (IoU ≥ 0.5): ``area_rel_error``, ``centroid_error_nm``,
  ``orientation_error_rad`` (only objects whose true eccentricity exceeds 0.6).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import regionprops
from skimage.segmentation import find_boundaries

from baselines.matching import Matching, iou_matrix, match, overlap_matrix

__all__ = ["FRAME_METRICS", "HIGHER_IS_BETTER", "frame_metrics", "seg_measure", "BOUNDARY_TOL_NM"]

BOUNDARY_TOL_NM = 2.0
_AP_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)


def _pixel(true, pred):
    t, p = true > 0, pred > 0
    inter, union = np.logical_and(t, p).sum(), np.logical_or(t, p).sum()
    s = t.sum() + p.sum()
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


def seg_measure(true: np.ndarray, pred: np.ndarray) -> float:
    """CTC SEG of one frame (NaN when the frame has no reference object)."""
    ov, _, _ = overlap_matrix(true, pred)
    if ov.shape[0] <= 1:
        return float("nan")
    sizes_t = ov[1:, :].sum(1)
    sizes_p = ov[:, 1:].sum(0)
    inter = ov[1:, 1:]
    best = inter.argmax(axis=1) if inter.shape[1] else np.zeros(len(sizes_t), int)
    got = inter[np.arange(len(sizes_t)), best] if inter.shape[1] else np.zeros(len(sizes_t))
    ok = got > 0.5 * sizes_t
    j = np.where(ok, got / np.maximum(sizes_t + (sizes_p[best] if inter.shape[1] else 0) - got, 1), 0.0)
    return float(j.mean())


def _boundary_f1(true, pred, pixel_size_nm):
    bt, bp = find_boundaries(true, mode="inner"), find_boundaries(pred, mode="inner")
    if not bt.any() and not bp.any():
        return 1.0
    if not bt.any() or not bp.any():
        return 0.0
    tol = BOUNDARY_TOL_NM / pixel_size_nm
    dt = ndimage.distance_transform_edt(~bt)
    dp = ndimage.distance_transform_edt(~bp)
    precision = (dt[bp] <= tol).mean()
    recall = (dp[bt] <= tol).mean()
    return float(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))


def _shape(true, pred, m: Matching, pixel_size_nm):
    keep = m.ious >= 0.5
    if not keep.any():
        return float("nan"), float("nan"), float("nan")
    pt = {r.label: r for r in regionprops(true)}
    pp = {r.label: r for r in regionprops(pred)}
    t_ids = np.unique(true[true > 0])
    p_ids = np.unique(pred[pred > 0])
    area, cent, orient = [], [], []
    for r, c in zip(m.rows[keep], m.cols[keep]):
        a, b = pt[t_ids[r]], pp[p_ids[c]]
        area.append(abs(b.area - a.area) / a.area)
        cent.append(np.hypot(*(np.subtract(a.centroid, b.centroid))) * pixel_size_nm)
        if a.eccentricity > 0.6:
            d = abs(a.orientation - b.orientation) % np.pi
            orient.append(min(d, np.pi - d))
    return float(np.mean(area)), float(np.mean(cent)), float(np.mean(orient)) if orient else float("nan")


def frame_metrics(true: np.ndarray, pred: np.ndarray, *, pixel_size_nm: float = 1.0) -> dict[str, float]:
    """Every per-frame metric of ``pred`` against ``true`` (both (Y, X) integer labels)."""
    iou, dice = _pixel(true, pred)
    m = match(true, pred, iou=iou_matrix(true, pred))
    tp = m.tp(0.5)
    precision = 1.0 if m.n_pred == 0 and m.n_true == 0 else (tp / m.n_pred if m.n_pred else 0.0)
    recall = 1.0 if m.n_true == 0 else tp / m.n_true
    area, cent, orient = _shape(true, pred, m, pixel_size_nm)
    return {
        "iou_pixel": float(iou),
        "dice_pixel": float(dice),
        "f1@0.5": m.f1(0.5),
        "precision@0.5": float(precision),
        "recall@0.5": float(recall),
        "ap@0.5:0.95": _ap(m),
        "pq": _pq(m),
        "mean_matched_iou": float(m.ious[m.ious >= 0.5].mean()) if (m.ious >= 0.5).any() else 0.0,
        "seg": seg_measure(true, pred),
        "boundary_f1": _boundary_f1(true, pred, pixel_size_nm),
        "area_rel_error": area,
        "centroid_error_nm": cent,
        "orientation_error_rad": orient,
    }


FRAME_METRICS: tuple[str, ...] = tuple(frame_metrics(np.zeros((2, 2), int), np.zeros((2, 2), int)))

#: Direction of each metric, for the gate and the leaderboard.
HIGHER_IS_BETTER: dict[str, bool] = {name: not name.endswith(("error", "error_nm", "error_rad")) for name in FRAME_METRICS}
HIGHER_IS_BETTER.update({"det": True, "tra": True, "seconds_per_frame": False, "peak_memory_mb": False})

