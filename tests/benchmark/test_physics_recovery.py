"""Physics recovery metrics with known answers: Boltzmann inversion of uniform points (U = 0),
an exclusion zone, etch rates of shrinking rectangles and of simulated rods."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.physics import (area_rate, centroids_nm, etch_rate_rel_error, pair_potential_kT,
                               potential_rel_error)
from simulator.video import Video, VideoMeta


def test_uniform_points_invert_to_zero_potential_with_exact_edge_correction():
    rng = np.random.default_rng(3)
    w, h = 400.0, 250.0
    points = [rng.uniform((0, 0), (w, h), size=(60, 2)) for _ in range(300)]
    edges = np.linspace(5, 240, 25)
    u = pair_potential_kT(points, width_nm=w, height_nm=h, bins_nm=edges)
    # 300 frames x 1770 pairs: each bin holds thousands of pairs -> |U| within a few percent.
    assert np.all(np.abs(u) < 0.08)
    # Without the edge correction (an infinite plane, f = 2 pi r / WH) the far bins are biased.
    d = np.concatenate([np.hypot(*(p[:, None] - p[None]).transpose(2, 0, 1))[np.triu_indices(60, 1)]
                        for p in points])
    naive = -np.log(np.histogram(d, edges)[0] / (300 * 1770 * np.pi * np.diff(edges**2) / (w * h)))
    assert naive[-1] > 0.5


def test_exclusion_zone_has_no_pairs():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 200, size=(400, 2))
    keep = [pts[0]]
    for p in pts[1:]:
        if np.min(np.hypot(*(np.asarray(keep) - p).T)) > 20:
            keep.append(p)
    u = pair_potential_kT([np.asarray(keep)], width_nm=200, height_nm=200, bins_nm=np.array([0, 10, 20, 60]))
    assert np.isnan(u[0]) and np.isnan(u[1]) and np.isfinite(u[2])
    with pytest.raises(ValueError, match="beyond"):
        pair_potential_kT([np.asarray(keep)], width_nm=200, height_nm=100, bins_nm=np.array([0, 150]))


def test_centroids_follow_the_pixel_convention():
    lab = np.zeros((1, 10, 10), np.int64)
    lab[0, 2, 3] = 1  # pixel (row 2, col 3): centre at x = 3.5 p, y = 2.5 p
    assert centroids_nm(lab, pixel_size_nm=2.0)[0].tolist() == [[7.0, 5.0]]


def _rect_video(widths, *, p=0.5, dt=2.0, table_area=None):
    labels = np.zeros((len(widths), 30, 60), np.uint32)
    rows = []
    for k, wd in enumerate(widths):
        labels[k, 10:20, 5:5 + wd] = 1
        rows.append({"frame": k, "id": 1, "area_nm2": (table_area or (lambda k, wd: 10 * wd * p * p))(k, wd)})
    meta = VideoMeta(video_id="v", shape=labels.shape, pixel_size_nm=p, frame_interval_s=dt)
    return Video(meta=meta, frames=np.zeros(labels.shape, np.uint16), labels=labels, particles=rows)


def test_etch_rate_of_shrinking_rectangles():
    widths = [30 - 2 * k for k in range(8)]          # area 300 - 20 k px
    v = _rect_video(widths)
    rate = area_rate(v.labels, pixel_size_nm=0.5, frame_interval_s=2.0)
    assert rate == pytest.approx(-20 * 0.25 / 2.0)   # -2.5 nm^2/s
    assert etch_rate_rel_error(v, v.labels.astype(np.int64)) == pytest.approx(0.0, abs=1e-12)
    # A segmentation that sees every rectangle 2 px wider recovers the same rate; one that does not
    # see it shrink has error 1.
    wide = _rect_video([wd + 2 for wd in widths]).labels.astype(np.int64)
    assert etch_rate_rel_error(v, wide) == pytest.approx(0.0, abs=1e-12)
    frozen = _rect_video([30] * 8).labels.astype(np.int64)
    assert etch_rate_rel_error(v, frozen) == pytest.approx(1.0)
    # Nothing etched in the truth: no metric.
    still = _rect_video([30] * 8)
    assert np.isnan(etch_rate_rel_error(still, frozen))


def test_area_rate_follows_tracks_and_leaves_out_the_border():
    """A still rectangle of 300 px and one of 100 px that leaves the field through the right edge
    after frame 3: the frame's mean area falls (what the rate used to measure), no track's area does."""
    labels = np.zeros((8, 30, 60), np.int64)
    labels[:, 10:20, 5:35] = 1
    labels[:, 2:7, 45:60] = 2                 # on the border throughout: never counted
    labels[:4, 22:27, 38:58] = 3
    for k in range(4, 8):                     # cut by the edge from frame 4 on
        labels[k, 22:27, 38 + 5 * (k - 3):] = 3
    assert area_rate(labels, pixel_size_nm=1.0, frame_interval_s=1.0) == 0.0
    labels[labels == 1] = 0
    for k in range(8):                        # a shrinking one instead (-20 px/frame)
        labels[k, 10:20, 5:35 - 2 * k] = 1
    # one slope for both tracks, each weighing by its spread in time: Σ(t - mean)² = 42 and 5
    assert area_rate(labels, pixel_size_nm=1.0, frame_interval_s=1.0) == pytest.approx(-20 * 42 / 47)
    assert np.isnan(area_rate(labels[:1], pixel_size_nm=1.0, frame_interval_s=1.0))


@pytest.fixture(scope="module")
def etching():
    """A short etching-rods clip (rods cut by the border included) and prisms that do not etch."""
    from simulator.config import load_config
    from simulator.simulate import simulate_video

    small = ["video.frames=6", "video.height_px=128", "video.width_px=128", "detector.model=ideal"]
    return (simulate_video(load_config("etching-rods", overrides=small), seed=3),
            simulate_video(load_config("brownian-prisms", overrides=small), seed=1))


def test_etch_rate_truth_scores_zero_and_prisms_are_not_etched(etching):
    rods, prisms = etching
    true = rods.labels.astype(np.int64)
    edge = np.concatenate([true[:, 0], true[:, -1], true[:, :, 0], true[:, :, -1]], axis=None)
    assert np.any(edge > 0), "the clip should hold rods cut by the border"
    assert etch_rate_rel_error(rods, true) == pytest.approx(0.0, abs=1e-12)  # was 0.98 against the table
    # the label estimate agrees with the table's outline areas (rasterisation apart)
    dt = rods.meta.frame_interval_s
    ids = {int(r["id"]) for r in rods.particles}
    table = np.mean([np.polyfit([r["frame"] * dt for r in rods.particles if r["id"] == i],
                                [r["area_nm2"] for r in rods.particles if r["id"] == i], 1)[0]
                     for i in ids if sum(r["id"] == i for r in rods.particles) > 1])
    assert area_rate(true, pixel_size_nm=1.0, frame_interval_s=dt) == pytest.approx(table, rel=0.2)
    assert etch_rate_rel_error(rods, np.zeros_like(true)) == 1.0
    assert np.isnan(etch_rate_rel_error(prisms, prisms.labels.astype(np.int64)))  # was 0.18–0.58


def test_potential_error_perfect_zero_and_nan_without_potential():
    rng = np.random.default_rng(1)
    labels = np.zeros((200, 64, 64), np.uint32)
    for t in range(200):
        for k, (y, x) in enumerate(rng.integers(0, 64, size=(12, 2))):
            labels[t, y, x] = k + 1
    meta = VideoMeta(video_id="v", shape=labels.shape, pixel_size_nm=1.0, frame_interval_s=1.0)
    flat = [{"r_nm": r, "U_kT": 0.0} for r in np.linspace(2, 40, 20)]  # an ideal gas
    v = Video(meta=meta, frames=np.zeros(labels.shape, np.uint16), labels=labels, potential=flat)
    # the truth is the same inversion of the true labels: a perfect segmentation scores 0 exactly
    assert potential_rel_error(v, labels.astype(np.int64)) == 0.0
    # every point pushed into the top-left quarter: pairs crowd at short range, U falls there
    squeezed = np.zeros_like(labels)
    for t, y, x in zip(*np.nonzero(labels)):
        squeezed[t, y // 2, x // 2] = labels[t, y, x]
    assert potential_rel_error(v, squeezed.astype(np.int64)) > 0.5
    # nothing found, or one object per frame (no pair): the worst score, not "not scored"
    one = np.zeros(labels.shape, np.int64)
    one[:, 30:33, 30:33] = 1
    assert potential_rel_error(v, np.zeros(labels.shape, np.int64)) == 1.0
    assert potential_rel_error(v, one) == 1.0
    assert np.isnan(potential_rel_error(Video(meta=meta, frames=v.frames, labels=labels), labels.astype(np.int64)))


def test_mean_chain_size_of_known_frames():
    from benchmark.physics import mean_chain_sizes

    lab = np.zeros((2, 40, 60), np.int64)
    for k, x in enumerate((2, 13, 24)):  # three 10-px squares in a row, 1 px apart: one chain
        lab[0, 5:15, x:x + 10] = k + 1
    lab[0, 25:35, 45:55] = 4  # alone, 10 px away
    # 2 instances / 2 chains in frame 1: far apart
    lab[1, 5:15, 2:12], lab[1, 25:35, 45:55] = 1, 2
    np.testing.assert_allclose(mean_chain_sizes(lab, pixel_size_nm=1.0, gap_nm=3.0), [2.0, 1.0])
    # masks grow by half the tolerance (pixel-centre distance): at 2 nm/px a 1-px gap is bridged by
    # a 4 nm tolerance (1 px each), not by 3 nm (0.75 px each)
    np.testing.assert_allclose(mean_chain_sizes(lab[:1], pixel_size_nm=2.0, gap_nm=4.0), [2.0])
    np.testing.assert_allclose(mean_chain_sizes(lab[:1], pixel_size_nm=2.0, gap_nm=3.0), [1.0])
    assert np.isnan(mean_chain_sizes(np.zeros((1, 8, 8), np.int64), pixel_size_nm=1.0)[0])


@pytest.fixture(scope="module")
def assembling():
    """A dense assembly-cubes clip in which chains grow (the chaining settings of the preset)."""
    from simulator.config import load_config
    from simulator.simulate import simulate_video

    cfg = load_config("assembly-cubes", overrides=["video.frames=12", "video.height_px=192", "video.width_px=192",
                                                   "particles.count=22", "detector.model=ideal"])
    return simulate_video(cfg, seed=1)


def test_chain_growth_truth_scores_zero_and_merged_or_split_chains_score_worse(assembling):
    from skimage.measure import label
    from skimage.morphology import disk, erosion

    from benchmark.physics import chain_growth_rel_error, mean_chain_sizes
    from simulator.dynamics.chains import mean_chain_size

    v = assembling
    true = v.labels.astype(np.int64)
    assert chain_growth_rel_error(v, true) == 0.0
    # the mask measure follows the chain_id column of the table (contact graph of the outlines)
    sizes = mean_chain_sizes(true, pixel_size_nm=1.0)
    table = np.array([mean_chain_size(np.array([r["chain_id"] for r in v.particles if r["frame"] == t]))
                      for t in range(12)])
    slope_mask, slope_table = np.polyfit(np.arange(12), sizes, 1)[0], np.polyfit(np.arange(12), table, 1)[0]
    assert slope_table > 0.02 and slope_mask == pytest.approx(slope_table, rel=0.3)
    # merged: each connected foreground blob one instance (touching particles fused)
    merged = np.stack([label(f > 0) for f in true])
    # split: every particle eroded by 2 px, so bonded neighbours fall out of contact
    split = np.stack([np.where(erosion(f, disk(2)) == f, erosion(f, disk(2)), 0) for f in true])
    for bad in (merged, split, np.where(true > 0, 1, 0)):
        assert chain_growth_rel_error(v, bad) > 0.5
    # no metric without interactions, nor for a few frames of chance contacts
    from simulator.video import Video

    assert np.isnan(chain_growth_rel_error(Video(meta=v.meta, frames=v.frames, labels=v.labels), true))
    short = Video(meta=v.meta, frames=v.frames[:3], labels=v.labels[:3], potential=v.potential)
    assert np.isnan(chain_growth_rel_error(short, true[:3]))
