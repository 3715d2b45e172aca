"""The thresholding baselines against scikit-image, on synthetic discs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import filters
from skimage.draw import disk

from baselines import threshold as th
from baselines.matching import pooled_f1 as f1_score
from simulator.video import VideoMeta

GLOBAL = {"otsu": filters.threshold_otsu, "li": filters.threshold_li, "triangle": filters.threshold_triangle,
          "yen": filters.threshold_yen, "isodata": filters.threshold_isodata, "mean": filters.threshold_mean,
          "minimum": filters.threshold_minimum}
# Everything but the threshold switched off, so the foreground is the threshold's alone.
RAW = dict(denoise="none", clip_percent=0.0, fill_holes=False, min_area_nm2=0.0, watershed=False)


def _meta(shape, mode="bright-field", pixel_size_nm=1.0):
    return VideoMeta(video_id="v", shape=tuple(shape), pixel_size_nm=pixel_size_nm, frame_interval_s=1.0, mode=mode)


def _discs(rng, *, size=96, bright=False, dose=400.0, contrast=0.5):
    """A Poisson frame with 6 non-touching discs of radius 6 px and its ground-truth labels."""
    labels = np.zeros((size, size), np.int32)
    centres = [(16, 16), (16, 48), (16, 80), (60, 24), (60, 60), (80, 84)]
    for i, (r, c) in enumerate(centres, start=1):
        labels[disk((r, c), 6, shape=labels.shape)] = i
    factor = 1 + contrast if bright else 1 - contrast
    expected = np.where(labels > 0, dose * factor, dose)
    return rng.poisson(expected).astype(np.uint16), labels


@pytest.mark.parametrize("name", sorted(GLOBAL))
@pytest.mark.parametrize("mode", ["bright-field", "haadf"])
def test_global_wrappers_agree_with_skimage(name, mode):
    rng = np.random.default_rng(1)
    frame, _ = _discs(rng, bright=mode == "haadf")
    image = frame.astype(np.float64)
    labels = getattr(th, name)(frame[None], _meta((1, *frame.shape), mode), **RAW)[0]
    if mode == "haadf":  # bright particles: reflected within the frame's range
        image = image.min() + image.max() - image
    expected = ~(image > GLOBAL[name](image))  # dark foreground: the complement of skimage's
    np.testing.assert_array_equal(labels > 0, expected)


@pytest.mark.parametrize("name, func, kwargs", [
    ("sauvola", filters.threshold_sauvola, {"window_size": 31, "k": 0.1}),
    ("niblack", filters.threshold_niblack, {"window_size": 31, "k": 0.5}),
])
def test_local_wrappers_agree_with_skimage(name, func, kwargs):
    frame, _ = _discs(np.random.default_rng(2))
    image = frame.astype(np.float64)
    labels = getattr(th, name)(frame[None], _meta((1, *frame.shape)), **RAW, **kwargs)[0]
    extra = {"r": 0.5 * (image.max() - image.min())} if name == "sauvola" else {}
    np.testing.assert_array_equal(labels > 0, image <= func(image, **kwargs, **extra))


def test_local_gaussian_agrees_with_skimage():
    frame, _ = _discs(np.random.default_rng(3))
    image = frame.astype(np.float64)
    labels = th.local(frame[None], _meta((1, *frame.shape)), **RAW, block_size=31, offset_std=0.5)[0]
    t = filters.threshold_local(image, block_size=31, method="gaussian", offset=0.5 * image.std())
    np.testing.assert_array_equal(labels > 0, image <= t)


@pytest.mark.parametrize("mode", ["bright-field", "haadf"])
def test_otsu_finds_every_disc(mode):
    frame, truth = _discs(np.random.default_rng(4), bright=mode == "haadf", dose=400.0, contrast=0.3)
    labels = th.otsu(frame[None], _meta((1, *frame.shape), mode))
    assert labels.dtype == np.int32 and labels.shape == (1, *frame.shape)
    assert f1_score(truth[None], labels) >= 0.95


def test_polarity_override_beats_wrong_metadata():
    frame, truth = _discs(np.random.default_rng(5), bright=True, contrast=0.3)
    meta = _meta((1, *frame.shape), "bright-field")  # says dark particles, but they are bright
    wrong = th.otsu(frame[None], meta)
    right = th.otsu(frame[None], meta, polarity="bright")
    assert f1_score(truth[None], right) >= 0.95
    assert f1_score(truth[None], wrong) < 0.5


def test_two_touching_discs_split_into_two():
    mask = np.zeros((64, 80), bool)
    mask[disk((32, 26), 12, shape=mask.shape)] = True
    mask[disk((32, 50), 12, shape=mask.shape)] = True  # centres 24 px apart: the discs overlap
    image = np.where(mask, 100.0, 400.0)[None]
    meta = _meta(image.shape)
    assert th.otsu(image, meta, watershed=False).max() == 1
    split = th.otsu(image, meta, watershed=True, min_distance_nm=10.0)[0]
    assert split.max() == 2
    assert split[32, 20] != split[32, 56]


def test_min_area_is_in_nm2():
    image = np.full((1, 40, 40), 400.0)
    image[0, 10:14, 10:14] = 100.0  # 16 px
    assert th.otsu(image, _meta(image.shape, pixel_size_nm=1.0), min_area_nm2=20.0).max() == 0
    assert th.otsu(image, _meta(image.shape, pixel_size_nm=2.0), min_area_nm2=20.0).max() == 1  # 64 nm²


def test_temporal_window_averages_noise_away():
    rng = np.random.default_rng(6)
    frames, truths = zip(*(_discs(rng, dose=40.0, contrast=0.3) for _ in range(5)))
    video, truth = np.stack(frames), np.stack(truths)
    meta = _meta(video.shape)
    single = f1_score(truth, th.otsu(video, meta, denoise="none", min_area_nm2=20.0))
    averaged = f1_score(truth, th.otsu(video, meta, denoise="none", min_area_nm2=20.0, temporal_window=5))
    assert single < 0.5 and averaged >= 0.9  # the end frames average only 3 frames


@pytest.mark.parametrize("denoise", ["gaussian", "median", "nlmeans"])
def test_denoisers_keep_the_discs(denoise):
    frame, truth = _discs(np.random.default_rng(7), dose=100.0, contrast=0.3)
    labels = th.otsu(frame[None], _meta((1, *frame.shape)), denoise=denoise, background_sigma_nm=40.0)
    assert f1_score(truth[None], labels) >= 0.95


def test_background_flattening_removes_a_ramp():
    frame, truth = _discs(np.random.default_rng(8), dose=1000.0, contrast=0.3)
    ramp = np.linspace(0.6, 1.4, frame.shape[1])[None, :]  # illumination falls by 40 % to the left
    video = (frame * ramp)[None]
    meta = _meta(video.shape)
    flat = f1_score(truth[None], th.otsu(video, meta, background_sigma_nm=10.0))
    assert flat >= 0.95 > f1_score(truth[None], th.otsu(video, meta))


def test_simulated_high_dose_frame():
    simulate = pytest.importorskip("simulator.simulate")
    from simulator.config import load_config

    # Cubes of one size and thickness (one contrast), ~40x the preset's dose of 80 e-/A²/s, on an
    # integrating camera (the preset's counting one would be far past its coincidence-loss peak).
    cfg = load_config("assembly-cubes", overrides=["video.frames=1", "video.height_px=96", "video.width_px=96",
                                                   "imaging.dose_rate_e_per_A2_s=3000", "detector.model='integrating'",
                                                   "dynamics.boundary=reflect"])  # no slivers cut by the edge
    video = simulate.simulate_video(cfg, seed=3)
    assert f1_score(video.labels, th.otsu(video.frames, video.meta)) >= 0.95


def test_simulated_high_dose_spheres_every_frame():
    simulate = pytest.importorskip("simulator.simulate")
    from simulator.config import load_config

    cfg = load_config("brownian-prisms", overrides=[
        "video.frames=2", "video.height_px=128", "video.width_px=128", "particles.shapes={sphere=1.0}",
        "particles.count=8", "particles.size_nm=14", "imaging.dose_rate_e_per_A2_s=1000",
        "dynamics.boundary=reflect"])  # no slivers cut by the edge
    video = simulate.simulate_video(cfg, seed=2)
    labels = th.otsu(video.frames, video.meta)
    for t in range(2):
        assert f1_score(video.labels[t], labels[t]) >= 0.95
