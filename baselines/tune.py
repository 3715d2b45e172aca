"""A fair tuner: search each baseline's parameters on a training dataset.

Random search over the options that matter for thresholding noisy LPEM frames (denoising
strength, temporal averaging, background flattening, minimum area, watershed splitting, local
window), scoring the mean F1 at IoU 0.5 over the training frames.  The same budget for every
method, the same data the U-Net trains on, and a seeded search: the comparison is fair and
reproducible.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from simulator.dataset import open_dataset

from .matching import match
from .registry import get_method
from .threshold import LOCAL_THRESHOLDS

__all__ = ["search_space", "tune"]

log = logging.getLogger(__name__)


def search_space(method: str, rng: np.random.Generator) -> dict[str, Any]:
    """One random draw of parameters for ``method``."""
    p: dict[str, Any] = {
        "denoise": str(rng.choice(["gaussian", "median", "nlmeans"], p=[0.6, 0.25, 0.15])),
        "denoise_sigma_nm": float(np.round(rng.uniform(0.5, 4.0), 2)),
        "temporal_window": int(rng.choice([1, 3, 5])),
        "flatten_sigma_nm": float(rng.choice([0.0, 30.0, 60.0])),
        "min_area_nm2": float(rng.choice([5.0, 20.0, 50.0, 100.0])),
        "split_touching": bool(rng.random() < 0.7),
        "min_separation_nm": float(rng.choice([3.0, 6.0, 10.0])),
    }
    if method in LOCAL_THRESHOLDS:
        p["window_size"] = int(rng.choice([15, 31, 51, 101]))
        p["k"] = float(np.round(rng.uniform(-0.2, 0.5), 2))
    return p


def _score(func, params, videos) -> float:
    f1 = []
    for frames, labels, meta in videos:
        pred = func(frames, meta, **params)
        f1 += [match(labels[t], pred[t]).f1(0.5) for t in range(frames.shape[0])]
    return float(np.mean(f1)) if f1 else 0.0


def tune(method: str, dataset: str | Path, *, budget: int = 20, rng: np.random.Generator | int | None = 0,
         max_frames: int = 4, progress: bool = True) -> tuple[dict[str, Any], float]:
    """Best parameters of ``method`` on ``dataset`` (and their mean F1@0.5) after ``budget`` draws.

    The first draw is the method's defaults, so tuning never does worse than them on the data.
    """
    rng = np.random.default_rng(rng)
    func = get_method(method)
    ds = open_dataset(dataset)
    videos = []
    for vid in ds.video_ids:
        v = ds.read_video(vid)
        videos.append((v.frames[:max_frames], v.labels[:max_frames], v.meta))
    best, best_score = {}, _score(func, {}, videos)
    for _ in tqdm(range(max(budget - 1, 0)), desc=f"tune {method}", disable=not progress):
        params = search_space(method, rng)
        score = _score(func, params, videos)
        if score > best_score:
            best, best_score = params, score
            log.info("tune %s: F1@0.5 %.3f with %s", method, score, params)
    return best, best_score
