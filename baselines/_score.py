"""A small, self-contained instance F1 at an IoU threshold (for the tuner).

Ground-truth and predicted instances of a frame are matched one-to-one by the Hungarian
algorithm (:func:`scipy.optimize.linear_sum_assignment`) on their IoU; a match counts when its
IoU is at least the threshold.  The benchmark computes the full metrics separately.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.segmentation import relabel_sequential

__all__ = ["iou_matrix", "match_frame", "f1_score"]


def iou_matrix(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU of every ground-truth instance with every predicted one.

    Parameters
    ----------
    gt, pred : (Y, X) int
        Instance labels of one frame, 0 = background.

    Returns
    -------
    (n_gt, n_pred) float
        Row ``i`` is the ``i``-th ground-truth label in increasing order, column ``j`` likewise.
    """
    g, _, _ = relabel_sequential(np.asarray(gt))
    p, _, _ = relabel_sequential(np.asarray(pred))
    ng, npr = int(g.max(initial=0)), int(p.max(initial=0))
    pairs = g.astype(np.int64).ravel() * (npr + 1) + p.astype(np.int64).ravel()
    overlap = np.bincount(pairs, minlength=(ng + 1) * (npr + 1)).reshape(ng + 1, npr + 1)
    area_g = overlap.sum(axis=1)[1:, None]
    area_p = overlap.sum(axis=0)[None, 1:]
    inter = overlap[1:, 1:]
    return inter / np.maximum(area_g + area_p - inter, 1)


def match_frame(gt: np.ndarray, pred: np.ndarray, *, iou_threshold: float = 0.5) -> tuple[int, int, int]:
    """True positives, ground-truth count and predicted count of one frame.

    Parameters
    ----------
    gt, pred : (Y, X) int instance labels
    iou_threshold : a matched pair counts when its IoU is at least this (0 < t <= 1)
    """
    iou = iou_matrix(gt, pred)
    n_gt, n_pred = iou.shape
    if n_gt == 0 or n_pred == 0:
        return 0, n_gt, n_pred
    rows, cols = linear_sum_assignment(iou, maximize=True)
    tp = int(np.count_nonzero(iou[rows, cols] >= iou_threshold))
    return tp, n_gt, n_pred


def f1_score(gt: np.ndarray, pred: np.ndarray, *, iou_threshold: float = 0.5) -> float:
    """F1 of instance detection over all frames (true positives pooled over frames).

    Parameters
    ----------
    gt, pred : (T, Y, X) or (Y, X) int instance labels of the same shape

    Returns
    -------
    float in [0, 1]; 1.0 when both are empty.
    """
    gt, pred = np.asarray(gt), np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"shapes differ: ground truth {gt.shape}, prediction {pred.shape}")
    if gt.ndim == 2:
        gt, pred = gt[None], pred[None]
    tp = n_gt = n_pred = 0
    for g, p in zip(gt, pred):
        a, b, c = match_frame(g, p, iou_threshold=iou_threshold)
        tp, n_gt, n_pred = tp + a, n_gt + b, n_pred + c
    if n_gt + n_pred == 0:
        return 1.0
    return 2.0 * tp / (n_gt + n_pred)
