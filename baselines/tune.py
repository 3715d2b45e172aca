"""A fair tuner for the thresholding baselines: random search maximising F1 at IoU 0.5.

Each baseline gets the same budget of trials on a training dataset (the kind of data the U-Net
trains on); the first trial is the method's defaults, so tuning never does worse than them on
the training data.  The best parameters are written as a JSON object that
``nanoaq segment --params @file.json`` and the benchmark accept.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import UserError
from simulator.outfile import check_out_file, write_atomic
from simulator.video import Video

from .matching import pooled_f1
from .registry import get_method, validate_params

__all__ = ["SEARCH_SPACE", "TuneResult", "check_params_out", "search_space", "tune", "write_params"]

log = logging.getLogger(__name__)

#: Values tried for each parameter; a method is searched over the ones it accepts.
#: Ranges span the presets: pixel 0.5-3 nm, particles 5-120 nm (simulator/presets/*.toml).
SEARCH_SPACE: dict[str, list[Any]] = {
    "denoise": ["gaussian", "median", "nlmeans"],
    "sigma_px": [0.5, 1.0, 1.5, 2.0, 3.0],
    "median_size_px": [3, 5, 7],
    "temporal_window": [1, 3, 5],
    "background_sigma_nm": [0.0, 50.0, 150.0],
    "opening_radius_px": [0, 1, 2],
    "min_area_nm2": [0.0, 10.0, 25.0, 50.0, 100.0],
    "watershed": [True, False],
    "min_distance_nm": [5.0, 10.0, 20.0],
    "window_size": [15, 31, 51, 101],
    "block_size": [15, 31, 51, 101],
    "k": [0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
    "offset_std": [-0.25, 0.0, 0.25, 0.5, 1.0],
}


@dataclass
class TuneResult:
    """Outcome of :func:`tune`: the best parameters, their F1 and every trial in order."""

    method: str
    params: dict[str, Any]
    f1: float
    trials: list[tuple[dict[str, Any], float]] = field(default_factory=list)


def search_space(func: Callable[..., Any], *, method: str) -> dict[str, list[Any]]:
    """The part of :data:`SEARCH_SPACE` that ``func`` accepts, values checked by its specs."""
    specs = getattr(func, "__nanoaq_params__", None)
    if specs is None:
        raise UserError(f"method {method}: no search space (tune covers the project's thresholding "
                        f"baselines; a third-party method tunes itself)")
    space = {}
    for name, values in SEARCH_SPACE.items():
        if name in specs:
            ok = [v for v in values if specs[name].check(v) is not None]
            if ok:
                space[name] = ok
    return space


def _load(dataset: Any) -> list[Video]:
    if isinstance(dataset, Sequence) and not isinstance(dataset, (str, bytes)) and all(isinstance(v, Video) for v in dataset):
        return list(dataset)
    from simulator.dataset import Dataset, open_dataset

    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    return [ds.read_video(vid) for vid in ds.video_ids]


def _candidates(space: dict[str, list[Any]], budget: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``budget`` distinct settings: every one when the grid is that small, else a random sample."""
    names = list(space)
    size = int(np.prod([len(space[n]) for n in names], dtype=np.float64)) if names else 1
    if size <= budget:
        return [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
    seen: set[tuple] = set()
    out: list[dict[str, Any]] = []
    while len(out) < budget:
        combo = tuple(space[n][rng.integers(len(space[n]))] for n in names)
        if combo not in seen:
            seen.add(combo)
            out.append(dict(zip(names, combo)))
    return out


def tune(
    method: str,
    dataset: Any,
    *,
    budget: int = 40,
    rng: np.random.Generator | int | None = None,
    progress: bool = False,
) -> TuneResult:
    """Search ``method``'s parameters on ``dataset`` for the best F1 at IoU 0.5.

    Parameters
    ----------
    method : a project thresholding method name (``otsu``, ``sauvola``, ...)
    dataset : a dataset folder, an opened :class:`~simulator.dataset.Dataset`, or a list of
        :class:`~simulator.video.Video` with ground-truth labels
    budget : number of trials (the defaults plus ``budget − 1`` random settings), at least 1
    rng : seed or generator of the random search
    progress : show a tqdm progress bar over trials

    Returns
    -------
    TuneResult
        F1 at IoU 0.5 pools true positives over every frame of every video
        (:func:`baselines.matching.pooled_f1`, Hungarian matching).
    """
    from tqdm.auto import tqdm

    if not isinstance(budget, int) or budget < 1:
        raise UserError(f"budget = {budget!r}: expected a positive number of trials")
    rng = np.random.default_rng(rng)
    func = get_method(method)
    space = search_space(func, method=method)
    videos = _load(dataset)
    if not videos:
        raise UserError(f"tune {method}: the training dataset has no videos")
    specs = func.__nanoaq_params__  # type: ignore[attr-defined]
    defaults = {n: specs[n].default for n in space}
    trials_params = [defaults] + [c for c in _candidates(space, budget, rng) if c != defaults][: budget - 1]
    result = TuneResult(method=method, params=defaults, f1=-1.0)
    for params in tqdm(trials_params, desc=f"tune {method}", unit="trial", disable=not progress):
        validate_params(func, params, method=method)
        f1 = pooled_f1([v.labels for v in videos], (func(v.frames, v.meta, **params) for v in videos))
        result.trials.append((params, f1))
        log.info("tune %s: F1 %.3f with %s", method, f1, params)
        if f1 > result.f1:
            result.params, result.f1 = params, f1
    return result


def check_params_out(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line UserError when it cannot take tuned parameters (call it
    before the search)."""
    return check_out_file(path, expected="a JSON file", example="params.json")


def write_params(path: str | Path, params: dict[str, Any]) -> Path:
    """Write ``params`` as a JSON object (atomically: a temporary file renamed into place, removed
    if that fails)."""
    return write_atomic(check_params_out(path), json.dumps(params, indent=2, sort_keys=True) + "\n")
