"""IoU matching and the tuner's F1 (known answers), and the random search."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.draw import disk

from baselines.matching import iou_matrix, match, pooled_f1 as f1_score
from baselines.registry import parse_params
from baselines.tune import search_space, tune, write_params
from baselines.registry import get_method
from simulator.errors import UserError
from simulator.video import Video, VideoMeta


def test_iou_of_two_squares_with_known_overlap():
    gt = np.zeros((20, 20), int)
    pred = np.zeros((20, 20), int)
    gt[0:10, 0:10] = 3
    pred[0:10, 5:15] = 7  # overlap 50 px, union 150 px
    np.testing.assert_allclose(iou_matrix(gt, pred), [[50 / 150]])
    m = match(gt, pred)
    assert (m.tp(0.3), m.tp(0.5), m.n_true, m.n_pred) == (1, 0, 1, 1)


def test_hungarian_matching_is_one_to_one():
    gt = np.zeros((10, 30), int)
    gt[:, 0:10], gt[:, 10:20] = 1, 2
    pred = np.zeros_like(gt)
    pred[:, 0:20] = 1  # one prediction covering both: IoU 0.5 with each, matches only one
    m = match(gt, pred)
    assert (m.tp(0.5), m.n_true, m.n_pred) == (1, 2, 1)
    assert f1_score(gt, pred) == pytest.approx(2 / 3)


def test_f1_edge_cases():
    empty = np.zeros((2, 5, 5), int)
    assert f1_score(empty, empty) == 1.0
    full = np.ones((2, 5, 5), int)
    assert f1_score(full, empty) == 0.0 and f1_score(full, full) == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        f1_score(full, full[:1])


def test_f1_pools_true_positives_over_videos_of_different_sizes():
    hit = np.zeros((1, 8, 8), int)
    hit[0, 2:6, 2:6] = 1
    big = np.zeros((3, 16, 16), int)
    big[:, 0:4, 0:4], big[:, 8:12, 8:12] = 1, 2
    miss = big.copy()
    miss[:, 8:12, 8:12] = 0  # one of the two particles missed in each of the 3 frames
    # pooled: 2 * (1 + 3) true positives / (1 + 1 + 6 + 3) instances, not the mean of 1.0 and 2/3
    got = f1_score([hit, big], (p for p in [hit, miss]))
    assert got == pytest.approx(8 / 11)
    with pytest.raises(ValueError, match="video 1 has no prediction"):
        f1_score([hit, big], [hit])
    with pytest.raises(ValueError, match="video 1 has a prediction but no ground truth"):
        f1_score([hit], [hit, big])
    # a frame as nested lists is a sequence of rows, i.e. of 1-D "videos": refused, not scored
    with pytest.raises(ValueError, match=r"video 0: labels of shape \(2,\)"):
        f1_score([[1, 1], [1, 1]], [[1, 1], [0, 0]])


def _training_videos():
    """Two short videos of dark discs at a dose low enough (6 counts against 10) that Otsu's
    defaults find them only in part (F1 0.46) and other settings do better."""
    rng = np.random.default_rng(0)
    videos = []
    for i in range(2):
        labels = np.zeros((2, 48, 48), np.uint32)
        for j, (r, c) in enumerate([(12, 12), (12, 36), (36, 24)], start=1):
            labels[:, *disk((r, c), 5, shape=(48, 48))] = j
        frames = rng.poisson(np.where(labels > 0, 6.0, 10.0)).astype(np.uint16)
        meta = VideoMeta(f"video_{i:03d}", frames.shape, 1.0, 1.0)
        videos.append(Video(meta=meta, frames=frames, labels=labels))
    return videos


def test_tune_improves_on_the_defaults_and_is_reproducible(tmp_path):
    videos = _training_videos()
    a = tune("otsu", videos, budget=6, rng=1)
    b = tune("otsu", videos, budget=6, rng=1)
    assert a.params == b.params and a.f1 == b.f1
    assert len(a.trials) == 6 and a.trials[0][0]["sigma_px"] == 1.0  # the defaults come first
    assert a.f1 == max(f for _, f in a.trials) > a.trials[0][1]
    path = write_params(tmp_path / "otsu.json", a.params)
    params = parse_params(f"@{path}")
    assert params == json.loads(json.dumps(a.params))
    # segment accepts the tuned parameters and reproduces the tuned score
    labels = [get_method("otsu")(v.frames, v.meta, **params) for v in videos]
    assert f1_score([v.labels for v in videos], labels) == pytest.approx(a.f1)


def test_out_in_a_missing_folder_or_a_folder_is_refused_before_writing(tmp_path):
    with pytest.raises(UserError, match=r"^--out \S+otsu.json: folder \S+no does not exist$"):
        write_params(tmp_path / "no" / "otsu.json", {})
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserError, match=r"folder\S* is a folder; expected a JSON file, e.g. \S+params.json$"):
        write_params(tmp_path / "folder", {})
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_write_params_leaves_no_temporary_file_when_it_fails(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("simulator.outfile.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_params(tmp_path / "otsu.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_search_space_covers_method_specific_parameters():
    space = search_space(get_method("sauvola"), method="sauvola")
    assert {"window_size", "k", "sigma_px", "temporal_window", "min_area_nm2", "watershed"} <= set(space)
    assert "block_size" not in space and "nbins" not in space


def test_tune_refuses_a_method_without_search_space_and_a_bad_budget():
    with pytest.raises(UserError, match="method os:getcwd: no search space"):
        tune("os:getcwd", _training_videos(), budget=2)
    with pytest.raises(UserError, match="budget = 0"):
        tune("otsu", _training_videos(), budget=0)
