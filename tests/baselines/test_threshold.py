from __future__ import annotations

import numpy as np
import pytest
from skimage import draw, filters

from baselines.matching import iou_matrix, match
from baselines.registry import get_method, list_methods, validate_params
from baselines.threshold import GLOBAL_THRESHOLDS, preprocess, threshold_video, to_instances
from simulator.config import load_config
from simulator.errors import UserError
from simulator.simulate import simulate_video
from simulator.video import VideoMeta


def _meta(shape, mode="bright-field"):
    return VideoMeta(video_id="v", shape=shape, pixel_size_nm=1.0, frame_interval_s=0.1, mode=mode)


def _discs(bright: bool, *, rng=0, dose=400):
    rng = np.random.default_rng(rng)
    truth = np.zeros((96, 96), np.int32)
    for i, (y, x) in enumerate([(20, 20), (20, 70), (70, 25), (65, 70)], start=1):
        truth[draw.disk((y, x), 9, shape=truth.shape)] = i
    lam = np.where(truth > 0, 0.6 * dose, dose) if not bright else np.where(truth > 0, 1.6 * dose, dose)
    return rng.poisson(lam)[None].astype(np.uint16), truth


@pytest.mark.parametrize("name", list(GLOBAL_THRESHOLDS))
def test_global_wrappers_agree_with_scikit_image(name):
    frame, _ = _discs(True)
    pre = preprocess(frame, pixel_size_nm=1.0, denoise="none")
    thr = GLOBAL_THRESHOLDS[name](pre[0])
    expected = to_instances(pre[0] > thr, pixel_size_nm=1.0)
    got = threshold_video(frame, _meta(frame.shape, "haadf"), method=name, denoise="none")[0]
    np.testing.assert_array_equal(got, expected)
    assert thr == getattr(filters, f"threshold_{name}")(pre[0])


def test_sauvola_agrees_with_scikit_image():
    frame, _ = _discs(True)
    pre = preprocess(frame, pixel_size_nm=1.0, denoise="none")[0]
    expected = to_instances(pre > filters.threshold_sauvola(pre, window_size=31, k=0.2), pixel_size_nm=1.0)
    got = threshold_video(frame, _meta(frame.shape, "haadf"), method="sauvola", denoise="none", window_size=31)[0]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mode", ["bright-field", "haadf"])
def test_polarity_both_ways(mode):
    frame, truth = _discs(bright=mode == "haadf")
    pred = get_method("otsu")(frame, _meta(frame.shape, mode))[0]
    assert match(truth, pred).f1(0.5) == 1.0
    wrong = get_method("otsu")(frame, _meta(frame.shape, mode), polarity="bright" if mode != "haadf" else "dark")[0]
    assert match(truth, wrong).f1(0.5) < 0.5


def test_two_touching_discs_are_split():
    mask = np.zeros((60, 90), bool)
    mask[draw.disk((30, 30), 15)] = True
    mask[draw.disk((30, 58), 15)] = True
    labels = to_instances(mask, pixel_size_nm=1.0, split_touching=True, min_separation_nm=10)
    assert labels.max() == 2
    assert to_instances(mask, pixel_size_nm=1.0, split_touching=False).max() == 1


def test_otsu_finds_every_particle_on_a_clean_high_dose_simulated_frame():
    cfg = load_config("brownian-prisms", overrides=[
        "video.frames=2", "video.height_px=128", "video.width_px=128", "particles.shapes={sphere=1.0}",
        "particles.count=8", "particles.size_nm=14", "imaging.dose_rate_e_per_A2_s=1000"])
    video = simulate_video(cfg, seed=2)
    pred = get_method("otsu")(video.frames, video.meta)
    for t in range(2):
        assert match(video.labels[t], pred[t]).f1(0.5) >= 0.95


def test_bad_parameters_name_parameter_and_allowed_values():
    frame, _ = _discs(True)
    meta = _meta(frame.shape)
    with pytest.raises(UserError, match=r"parameter denoise = 'wavelet': expected one of none, gaussian, median, nlmeans"):
        get_method("otsu")(frame, meta, denoise="wavelet")
    with pytest.raises(UserError, match=r"parameter window_size = 30: expected an odd integer"):
        get_method("sauvola")(frame, meta, window_size=30)
    with pytest.raises(UserError, match=r"parameter temporal_window = 0: expected a number in \[1, 99\]"):
        get_method("li")(frame, meta, temporal_window=0)
    with pytest.raises(UserError, match=r"parameter 'windw' is unknown for method otsu; allowed: polarity"):
        validate_params("otsu", get_method("otsu"), {"windw": 3})


def test_temporal_window_averages_noise_away():
    rng = np.random.default_rng(1)
    frames = rng.poisson(50, (9, 32, 32)).astype(np.uint16)
    avg = preprocess(frames, pixel_size_nm=1.0, temporal_window=5, denoise="none")
    assert avg[4].std() < frames[4].std() / 2


def test_iou_matrix_of_two_discs_with_known_overlap():
    a = np.zeros((10, 20), int)
    b = np.zeros((10, 20), int)
    a[:, 0:10] = 3
    b[:, 5:15] = 8
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150]])


def test_registry_unknown_module_function_and_entry_points(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="method 'nope' is unknown; valid methods: otsu"):
        get_method("nope")
    (tmp_path / "mythird.py").write_text(
        "import numpy as np\ndef segment(video, meta, *, level=1):\n    return (video > level).astype('int32')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    func = get_method("mythird:segment")
    assert func(np.full((1, 2, 2), 5), None).sum() == 4
    with pytest.raises(UserError, match="has no 'missing'"):
        get_method("mythird:missing")
    dist = tmp_path / "mythird-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mythird\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nanoaquarium.methods]\nmine = mythird:segment\n")
    assert "mine" in list_methods()
    assert get_method("mine")(np.full((1, 2, 2), 0), None).sum() == 0
