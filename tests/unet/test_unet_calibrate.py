"""Post-processing calibration: its match counts agree with the benchmark's metrics, and it finds
a known best setting."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.metrics import frame_metrics
from unet import calibrate
from unet.calibrate import IOU_THRESHOLDS, match_counts, tune_postprocess
from unet.model import UNet
from unet.postprocess import instances_from_probabilities, targets_from_labels


def _discs(shape: tuple[int, int], centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    labels = np.zeros(shape, np.int32)
    yy, xx = np.indices(shape)
    for k, ((cy, cx), r) in enumerate(zip(centres, radii), 1):
        labels[(np.hypot(yy - cy, xx - cx) < r) & (labels == 0)] = k
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_match_counts_give_the_benchmarks_f1_and_ap(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    centres, radii = rng.uniform(8, 88, (n, 2)), rng.uniform(3, 9, n)
    truth = _discs((96, 96), centres, radii)
    # predictions: shifted and resized copies of most objects, some missed, two spurious
    keep = rng.random(n) < 0.8
    pred = _discs((96, 96),
                  np.vstack([centres[keep] + rng.normal(0, 1.2, (keep.sum(), 2)), rng.uniform(8, 88, (2, 2))]),
                  np.concatenate([radii[keep] + rng.normal(0, 0.8, keep.sum()), [4.0, 5.0]]))
    matches, n_pred, n_true = match_counts(pred, truth)
    fm = frame_metrics(truth, pred)
    assert n_true == len(np.unique(truth)) - 1 and n_pred == len(np.unique(pred)) - 1
    assert 0 < matches[0] < n_true and matches[-1] < matches[0]          # not a vacuous case
    assert 2 * matches[0] / (n_pred + n_true) == pytest.approx(fm["f1@0.5"])
    ap = np.mean(matches / (n_pred + n_true - matches))
    assert ap == pytest.approx(fm["ap@0.5:0.95"])
    assert len(matches) == len(IOU_THRESHOLDS)


def test_tune_postprocess_finds_the_threshold_that_puts_outlines_on_the_truth(monkeypatch) -> None:
    # Oracle: the "network" outputs probabilities that cross 0.5 exactly on the true outlines and
    # reach 0.98 in the cores, plus a blob that never exceeds 0.7.  Only outline 0.5 with seeds
    # above 0.7 reproduces the truth (F1 = AP = 1); a higher outline threshold shrinks every
    # object, a lower one grows it, seeds at 0.65 add the blob.
    shape = (64, 64)
    yy, xx = np.indices(shape)
    centres, radii = [(16.3, 17.1), (44.6, 40.2)], [9.0, 11.0]
    truth = _discs(shape, np.array(centres), np.array(radii))
    fg = np.zeros(shape)
    for (cy, cx), r in zip(centres, radii):
        fg = np.maximum(fg, 1 / (1 + np.exp(-(r - np.hypot(yy - cy, xx - cx)) / 1.0)))
    fg = np.maximum(fg, 0.7 * np.exp(-np.hypot(yy - 50, xx - 12) ** 2 / 30))
    logit = np.log(fg / (1 - fg)).clip(-20, 20)
    logits = np.stack([logit, np.full(shape, -20.0)]).astype(np.float32)
    monkeypatch.setattr(calibrate, "logits_of_normalized", lambda x, model, frames, **kw: (logits for _ in frames))
    data = SimpleNamespace(names=["cell/video_000"],
                           videos=[(np.zeros((2, *shape), np.float32), np.stack([truth] * 2))],
                           margin=0)
    grid = {"threshold": [0.35, 0.5, 0.65, 0.8], "seed_threshold": [0.65, 0.9], "boundary_threshold": [0.5],
            "min_area_px": [8]}
    params, info = tune_postprocess(UNet(in_channels=1, depth=1, base_width=2), data, grid=grid)
    assert params == {"threshold": 0.5, "seed_threshold": 0.9, "boundary_threshold": 0.5, "min_area_px": 8}
    assert info["mean_f1"] == 1.0 and info["mean_ap"] == 1.0 and info["frames"] == 2 and info["datasets"] == 1
    assert info["default_mean_f1"] < 1.0                      # the default (0.5 alone) keeps the blob


def test_an_unknown_grid_parameter_is_a_clear_error():
    data = SimpleNamespace(names=[], videos=[], margin=0)
    with pytest.raises(ValueError, match=r"^grid: unknown post-processing parameters \['min_area'\]; expected some of "
                                         r"\['boundary_threshold', 'merge_threshold', 'min_area_px', 'seed_threshold', "
                                         r"'threshold'\]$"):
        calibrate.tune_postprocess(None, data, grid={"min_area": [8]})


def test_no_frames_to_choose_on_is_a_clear_error():
    data = SimpleNamespace(names=[], videos=[], margin=0)
    with pytest.raises(ValueError, match="frames_per_video"):
        calibrate.tune_postprocess(None, data, frames_per_video=0)


def test_tune_postprocess_chooses_the_same_in_two_processes_as_in_one(monkeypatch) -> None:
    """The settings are scored in worker processes from integer counts summed per dataset: the
    choice and its scores do not depend on how many (or in which order the frames come back)."""
    rng = np.random.default_rng(4)
    shape, truths, logits = (48, 48), [], []
    for _ in range(3):  # three datasets, a noisy probability map of its discs each
        truth = _discs(shape, rng.uniform(8, 40, (5, 2)), rng.uniform(3, 7, 5))
        fg = np.clip((truth > 0) * 0.9 + rng.normal(0, 0.25, shape), 0.01, 0.99)
        truths.append(truth)
        logits.append(np.stack([np.log(fg / (1 - fg)), np.full(shape, -5.0)]).astype(np.float32))
    # the stand-in network: video i (its frames filled with i) gives dataset i's logits
    monkeypatch.setattr(calibrate, "logits_of_normalized",
                        lambda x, model, frames, **kw: (logits[int(x[0, 0, 0])] for _ in frames))
    data = SimpleNamespace(names=[f"cell{i}/video_000" for i in range(3)],
                           videos=[(np.full((3, *shape), i, np.float32), np.stack([t] * 3)) for i, t in enumerate(truths)],
                           margin=0)
    grid = {"threshold": [0.35, 0.5, 0.65], "seed_threshold": [0.8, 0.95], "boundary_threshold": [0.5],
            "min_area_px": [4, 16]}
    one = tune_postprocess(UNet(in_channels=1, depth=1, base_width=2), data, grid=grid, workers=1)
    two = tune_postprocess(UNet(in_channels=1, depth=1, base_width=2), data, grid=grid, workers=2)
    assert one == two
    assert one[1]["datasets"] == 3 and one[1]["frames"] == 6 and 0 < one[1]["mean_f1"] < 1  # not a vacuous case


def test_frame_counts_share_stages_yet_equal_each_settings_own_post_processing() -> None:
    """_frame_counts runs the watershed once per setting that differs only in merge_threshold;
    its counts must be those of instances_from_probabilities run afresh for every setting of the
    grid (and the default).  Touching discs, a noisy foreground and a noisy boundary head, so that
    every parameter changes the result somewhere."""
    rng = np.random.default_rng(7)
    shape = (80, 80)
    truth = _discs(shape, rng.uniform(10, 70, (14, 2)), rng.uniform(4, 9, 14))
    _, rim = targets_from_labels(truth)
    fg = np.clip((truth > 0) * 0.85 + rng.normal(0.05, 0.15, shape), 0.001, 0.999)
    bd = np.clip(rim * 0.6 + rng.uniform(0, 0.35, shape), 0.0, 1.0)
    combos = [dict(zip(calibrate.POSTPROCESS_GRID, c))
              for c in itertools.product(*calibrate.POSTPROCESS_GRID.values())] + [dict(calibrate.DEFAULT_POSTPROCESS)]
    counts = calibrate._frame_counts(np.stack([fg, bd]), truth, combos)
    expected = []
    for params in combos:
        matches, n_p, n_t = match_counts(instances_from_probabilities(fg, bd, **params), truth)
        expected.append([*matches, n_p, n_t])
    np.testing.assert_array_equal(counts, np.array(expected))
    merge_moves = [np.any(counts[k] != counts[j]) for k, c in enumerate(combos) for j, d in enumerate(combos)
                   if c.get("merge_threshold", 0) != d.get("merge_threshold", 0)
                   and {**c, "merge_threshold": 0} == {**d, "merge_threshold": 0}]
    assert any(merge_moves) and len(np.unique(counts[:, -2])) > 5   # not a vacuous case
