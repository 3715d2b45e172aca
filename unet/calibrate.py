"""Choosing the post-processing thresholds of a trained model on training data (never on test data).

A small grid over :func:`unet.postprocess.instances_from_probabilities`' ``threshold`` (outline),
``seed_threshold``, ``boundary_threshold``, ``merge_threshold`` and ``min_area_px`` is scored on whole frames of the
training datasets (:class:`unet.data.DiskFrames`, e.g. the benchmark's ``train`` split).  The
score of a setting is F1 at IoU 0.5 plus AP@0.5:0.95 (TP/(TP+FP+FN) averaged over IoU 0.5, 0.55,
…, 0.95: the Data Science Bowl 2018 / StarDist definition, as in ``benchmark.metrics``), each
pooled over a dataset's frames and averaged over datasets (scenario × dose cells), so that every
cell counts the same whatever its particle count.  F1@0.5 alone hardly sees where the outlines
lie (any IoU above 0.5 counts), so a grid scored by it alone cannot choose the outline threshold.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.parallel import run_jobs
from unet.data import DiskFrames
from unet.infer import logits_of_normalized
from unet.model import UNet
from unet.postprocess import (border_strengths, instances_from_probabilities, keep_large, merge_weak_borders,
                              watershed_regions)

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_POSTPROCESS", "POSTPROCESS_GRID", "IOU_THRESHOLDS", "match_counts", "tune_postprocess"]

log = logging.getLogger(__name__)

#: Post-processing used when none was tuned (probabilities 0.5: the decision of the trained heads).
DEFAULT_POSTPROCESS: dict[str, Any] = {"threshold": 0.5, "boundary_threshold": 0.5, "min_area_px": 8}
#: Settings searched by :func:`tune_postprocess` (384 combinations; no seed threshold is below
#: an outline threshold).  The shipped model's choice and its score are recorded in
#: ``unet/weights/default.json`` (``postprocess``, ``postprocess_tuning``) and discussed in
#: ``unet/weights/README.md``; for an earlier model, whose best boundary threshold was the lowest
#: here (0.1), values past the ends (boundary 0.05, seeds 0.98, min area 96 px) scored lower.
POSTPROCESS_GRID: dict[str, list[Any]] = {
    "threshold": [0.35, 0.5, 0.65, 0.8],
    "seed_threshold": [0.8, 0.95],
    "boundary_threshold": [0.1, 0.2, 0.3],
    "merge_threshold": [0.0, 0.2, 0.3, 0.4],
    "min_area_px": [8, 12, 24, 48],
}
#: The parameters of :func:`watershed_regions` (the rest, ``merge_threshold``, acts after it).
_WATERSHED_PARAMS = ("threshold", "boundary_threshold", "min_area_px", "seed_threshold")
#: instances_from_probabilities' defaults, for a setting that leaves some parameters out.
_SIGNATURE_DEFAULTS: dict[str, Any] = {
    n: p.default for n, p in inspect.signature(instances_from_probabilities).parameters.items()
    if p.default is not inspect.Parameter.empty}
#: IoU thresholds of AP@0.5:0.95 (Data Science Bowl 2018; ``benchmark.metrics`` uses the same).
IOU_THRESHOLDS: np.ndarray = np.round(np.arange(0.5, 0.951, 0.05), 2)


def match_counts(pred: np.ndarray, truth: np.ndarray,
                 thresholds: np.ndarray | tuple[float, ...] = tuple(IOU_THRESHOLDS)) -> tuple[np.ndarray, int, int]:
    """Matched, predicted and true objects of one frame.

    Parameters
    ----------
    pred, truth : (Y, X) int
        Instance labels, 0 = background.
    thresholds : sequence of float
        IoU thresholds, each at least 0.5.

    Returns
    -------
    (matches, n_pred, n_true)
        ``matches`` (len(thresholds),) int: pairs with IoU > 0.5 (such a pair is the only match of
        both of its objects, so no assignment is needed) and IoU ≥ each threshold.
    """
    p, t = pred.ravel().astype(np.int64), truth.ravel().astype(np.int64)
    n_p, n_t = int(p.max(initial=0)) + 1, int(t.max(initial=0)) + 1
    inter = np.bincount(p * n_t + t, minlength=n_p * n_t).reshape(n_p, n_t)[1:, 1:]
    area_p, area_t = np.bincount(p, minlength=n_p)[1:], np.bincount(t, minlength=n_t)[1:]
    iou = inter / np.maximum(area_p[:, None] + area_t[None, :] - inter, 1)
    best = iou[iou > 0.5]
    matches = np.array([(best >= th).sum() for th in thresholds], np.int64)
    return matches, int((area_p > 0).sum()), int((area_t > 0).sum())


def _scores(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled F1@0.5 and AP@0.5:0.95 of every setting from (settings, thresholds + 2) counts."""
    tp, n_p, n_t = counts[:, :-2], counts[:, -2:-1], counts[:, -1:]
    denom = n_p + n_t
    empty = denom[:, 0] == 0
    f1 = np.where(empty, 1.0, 2 * tp[:, 0] / np.maximum(denom[:, 0], 1))
    ap = np.where(empty, 1.0, (tp / np.maximum(denom - tp, 1)).mean(axis=1))
    return f1, ap


def _frame_counts(prob: np.ndarray, truth: np.ndarray, combos: list[dict[str, Any]]) -> np.ndarray:
    """(settings, thresholds + 2) counts of one frame: the matches at each IoU threshold, then the
    predicted and true objects, for every post-processing setting of ``prob`` ((2, Y, X)).

    The labels are those of :func:`instances_from_probabilities` for each setting, built from its
    stages: the settings that differ only in ``merge_threshold`` share one watershed and one
    measure of its borders, and are done together (one watershed in memory at a time).
    """
    counts = np.zeros((len(combos), len(IOU_THRESHOLDS) + 2), np.int64)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    full = [{**_SIGNATURE_DEFAULTS, **params} for params in combos]
    for k, params in enumerate(full):
        groups[tuple(params[n] for n in _WATERSHED_PARAMS)].append(k)
    for key, members in groups.items():
        regions = watershed_regions(prob[0], prob[1], **dict(zip(_WATERSHED_PARAMS, key)))
        borders = border_strengths(regions, prob[1]) if any(full[k]["merge_threshold"] > 0 for k in members) else None
        for k in members:
            merged = regions if full[k]["merge_threshold"] <= 0 else \
                merge_weak_borders(regions, borders, full[k]["merge_threshold"])
            matches, n_p, n_t = match_counts(keep_large(merged, full[k]["min_area_px"]), truth)
            counts[k, :-2], counts[k, -2:] = matches, (n_p, n_t)
    return counts


def tune_postprocess(
    model: UNet,
    data: DiskFrames,
    *,
    frames_per_video: int = 2,
    grid: dict[str, list[Any]] | None = None,
    workers: int | None = 1,
    device: str | torch.device | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Best post-processing of ``model`` on ``frames_per_video`` evenly spaced frames of each video of ``data``.

    The network runs once per frame, here, on ``device`` (default: where the model is); every setting
    post-processes the same probabilities, in ``workers`` processes (None: one per core;
    :func:`simulator.parallel.run_jobs`).  The counts are integers summed per dataset, so the choice
    does not depend on ``workers``.

    Returns
    -------
    (params, info)
        ``params`` for :func:`~unet.postprocess.instances_from_probabilities`; ``info`` holds the
        mean F1@0.5 and AP@0.5:0.95 over datasets of the best and of the default setting, the
        number of frames and datasets used and the grid.
    """
    if frames_per_video < 1:
        raise ValueError(f"frames_per_video = {frames_per_video}: expected at least 1")
    grid = grid or POSTPROCESS_GRID
    unknown = sorted(set(grid) - set(_SIGNATURE_DEFAULTS))
    if unknown:
        raise ValueError(f"grid: unknown post-processing parameters {unknown}; expected some of "
                         f"{sorted(_SIGNATURE_DEFAULTS)}")
    names = list(grid)
    combos = [dict(zip(names, c)) for c in itertools.product(*(grid[n] for n in names))]
    if DEFAULT_POSTPROCESS not in combos:
        combos.append(dict(DEFAULT_POSTPROCESS))
    per_dataset: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(combos), len(IOU_THRESHOLDS) + 2), np.int64))
    jobs, datasets = [], []
    model.eval()
    device = next(model.parameters()).device if device is None else device
    context = model.hparams["in_channels"]
    for name, (x, labels) in zip(data.names, data.videos):
        ts = np.unique(np.linspace(0, x.shape[0] - 1, min(frames_per_video, x.shape[0])).round().astype(int))
        for t, logits in zip(ts, logits_of_normalized(x, model, frames=ts, context=context,
                                                                margin=data.margin, device=device)):
            jobs.append((1.0 / (1.0 + np.exp(-logits)), labels[t], combos))
            datasets.append(name.rsplit("/", 1)[0])
    for i, counts in run_jobs(_frame_counts, jobs, workers=workers):
        per_dataset[datasets[i]] += counts
    n_frames = len(jobs)
    if not per_dataset:
        raise ValueError("tune_postprocess: the data has no frames to choose the post-processing on")
    f1s, aps = zip(*(_scores(c) for c in per_dataset.values()))
    mean_f1, mean_ap = np.mean(f1s, axis=0), np.mean(aps, axis=0)
    best = int(np.argmax(mean_f1 + mean_ap))
    default = combos.index(dict(DEFAULT_POSTPROCESS))
    log.info("post-processing %s: mean F1@0.5 %.3f, AP@0.5:0.95 %.3f (default %.3f, %.3f) on %d frames",
             combos[best], mean_f1[best], mean_ap[best], mean_f1[default], mean_ap[default], n_frames)
    return combos[best], {"objective": "mean over datasets of F1@0.5 + AP@0.5:0.95",
                          "mean_f1": float(mean_f1[best]), "mean_ap": float(mean_ap[best]),
                          "default_mean_f1": float(mean_f1[default]), "default_mean_ap": float(mean_ap[default]),
                          "frames": n_frames, "datasets": len(per_dataset), "grid": grid}
