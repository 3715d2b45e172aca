"""Choosing the post-processing thresholds of a trained model on training data (never on test data).

A small grid over :func:`unet.postprocess.instances_from_probabilities`' ``threshold``,
``boundary_threshold`` and ``min_area_px`` is scored by F1 at IoU 0.5 on whole frames of the
training datasets (:class:`unet.data.DiskFrames`, e.g. the benchmark's ``train`` split); the score
of a setting is the mean over datasets (scenario × dose cells) of each dataset's pooled F1, so
that every cell counts the same whatever its particle count.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from typing import Any

import numpy as np

from unet.data import DiskFrames
from unet.infer import logits_of_normalized
from unet.model import UNet
from unet.postprocess import instances_from_probabilities

__all__ = ["DEFAULT_POSTPROCESS", "POSTPROCESS_GRID", "tune_postprocess"]

log = logging.getLogger(__name__)

#: Post-processing used when none was tuned (probabilities 0.5: the decision of the trained heads).
DEFAULT_POSTPROCESS: dict[str, Any] = {"threshold": 0.5, "boundary_threshold": 0.5, "min_area_px": 8}
#: Settings searched by :func:`tune_postprocess`.
POSTPROCESS_GRID: dict[str, list[Any]] = {
    "threshold": [0.35, 0.5, 0.65],
    "boundary_threshold": [0.3, 0.5, 0.7],
    "min_area_px": [4, 12],
}


def tune_postprocess(
    model: UNet,
    data: DiskFrames,
    *,
    frames_per_video: int = 2,
    grid: dict[str, list[Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Best post-processing of ``model`` on ``frames_per_video`` evenly spaced frames of each video of ``data``.

    Returns
    -------
    (params, info)
        ``params`` for :func:`~unet.postprocess.instances_from_probabilities`; ``info`` holds the
        mean F1@0.5 of the best and of the default setting and the number of frames used.
    """
    from unet.train import f1_at_05

    grid = grid or POSTPROCESS_GRID
    names = list(grid)
    combos = [dict(zip(names, c)) for c in itertools.product(*(grid[n] for n in names))]
    if DEFAULT_POSTPROCESS not in combos:
        combos.append(dict(DEFAULT_POSTPROCESS))
    per_dataset: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(combos), 3), np.int64))
    n_frames = 0
    model.eval()
    context = model.hparams["in_channels"]
    for name, (x, labels) in zip(data.names, data.videos):
        ts = np.unique(np.linspace(0, x.shape[0] - 1, min(frames_per_video, x.shape[0])).round().astype(int))
        dataset = name.rsplit("/", 1)[0]
        for t, logits in zip(ts, logits_of_normalized(x, model, frames=ts, context=context,
                                                                margin=data.margin)):
            prob = 1.0 / (1.0 + np.exp(-logits))
            for k, params in enumerate(combos):
                per_dataset[dataset][k] += f1_at_05(instances_from_probabilities(prob[0], prob[1], **params),
                                                    labels[t])
            n_frames += 1
    f1s = []
    for c in per_dataset.values():
        denom = c[:, 1] + c[:, 2]
        f1s.append(np.where(denom > 0, 2 * c[:, 0] / np.maximum(denom, 1), 1.0))
    mean_f1 = np.mean(f1s, axis=0)
    best = int(np.argmax(mean_f1))
    default = combos.index(dict(DEFAULT_POSTPROCESS))
    log.info("post-processing %s: mean F1@0.5 %.3f (default %.3f) on %d frames", combos[best], mean_f1[best],
             mean_f1[default], n_frames)
    return combos[best], {"mean_f1": float(mean_f1[best]), "default_mean_f1": float(mean_f1[default]),
                          "frames": n_frames, "datasets": len(per_dataset), "grid": grid}
