"""Seeded watershed: touching particles separate, outlines sit where the probability crosses the outline threshold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk

from unet.postprocess import (border_strengths, instances_from_probabilities, keep_large, merge_weak_borders,
                              targets_from_labels)


def test_two_touching_discs_are_split() -> None:
    truth = np.zeros((64, 96), np.int32)
    truth[disk((32, 30), 14, shape=truth.shape)] = 1
    truth[disk((32, 57), 14, shape=truth.shape)] = 2   # centres 27 px apart: they touch
    fg, bd = targets_from_labels(truth)
    assert ((fg > 0) & (truth == 0)).sum() == 0
    assert bd.sum() > 0 and (bd <= fg).all()
    # foreground alone is one blob
    assert ndi.label(fg > 0)[1] == 1
    labels = instances_from_probabilities(fg, bd)
    assert labels.max() == 2
    for k in (1, 2):
        match = np.bincount(labels[truth == k]).argmax()
        iou = ((labels == match) & (truth == k)).sum() / ((labels == match) | (truth == k)).sum()
        assert iou > 0.9


def test_small_objects_dropped_and_empty() -> None:
    fg = np.zeros((32, 32))
    fg[5:7, 5:7] = 1.0
    assert instances_from_probabilities(fg, np.zeros_like(fg), min_area_px=8).max() == 0
    assert instances_from_probabilities(np.zeros((8, 8)), np.zeros((8, 8))).max() == 0


def _ramp_disc(shape: tuple[int, int], centre: tuple[float, float], radius: float, width: float) -> np.ndarray:
    """Foreground probability of a disc: a logistic ramp that crosses 0.5 exactly at ``radius`` (px)."""
    yy, xx = np.indices(shape)
    r = np.hypot(yy - centre[0], xx - centre[1])
    return 1.0 / (1.0 + np.exp(-(radius - r) / width))


def test_seed_threshold_restores_the_outline_a_single_high_threshold_shrinks() -> None:
    # Oracle: the probability crosses 0.5 on the true outline, so the outline at 0.5 is the true
    # disc pixel for pixel; a single threshold of 0.95 puts it width*ln(19) = 4.4 px inside.
    shape, centre, radius, width = (64, 64), (31.3, 32.6), 14.0, 1.5
    fg = _ramp_disc(shape, centre, radius, width)
    yy, xx = np.indices(shape)
    truth = np.hypot(yy - centre[0], xx - centre[1]) < radius
    bd = np.zeros(shape)
    shrunk = instances_from_probabilities(fg, bd, threshold=0.95, boundary_threshold=0.5, min_area_px=8)
    inner = np.hypot(yy - centre[0], xx - centre[1]) < radius - width * np.log(19)
    np.testing.assert_array_equal(shrunk > 0, inner)
    fixed = instances_from_probabilities(fg, bd, threshold=0.5, seed_threshold=0.95, boundary_threshold=0.5,
                                         min_area_px=8)
    assert fixed.max() == 1
    np.testing.assert_array_equal(fixed > 0, truth)


def test_seed_threshold_separates_touching_discs_and_drops_unconfident_blobs() -> None:
    shape = (64, 112)
    truth = np.zeros(shape, np.int32)
    yy, xx = np.indices(shape)
    fg = np.zeros(shape)
    for k, cx in ((1, 30.0), (2, 58.0)):                     # 28 px apart, radius 14: touching
        truth[np.hypot(yy - 32, xx - cx) < 14] = k
        fg = np.maximum(fg, _ramp_disc(shape, (32, cx), 14, 1.0))
    fg = np.maximum(fg, 0.8 * _ramp_disc(shape, (32, 95), 8, 1.0) / _ramp_disc(shape, (32, 95), 8, 1.0).max())
    _, bd = targets_from_labels(truth)
    labels = instances_from_probabilities(fg, bd, threshold=0.5, seed_threshold=0.95, boundary_threshold=0.5,
                                          min_area_px=8)
    assert labels.max() == 2                                 # the blob below 0.95 has no seed
    for k in (1, 2):
        match = np.bincount(labels[truth == k]).argmax()
        iou = ((labels == match) & (truth == k)).sum() / ((labels == match) | (truth == k)).sum()
        assert iou > 0.97
    # one threshold of 0.5 keeps the blob as a third object
    assert instances_from_probabilities(fg, bd, threshold=0.5, boundary_threshold=0.5, min_area_px=8).max() == 3


def test_without_seed_threshold_the_seeds_use_the_outline_threshold() -> None:
    # Backward compatibility: a model JSON without "seed_threshold" behaves as before.
    rng = np.random.default_rng(0)
    fg = _smooth(rng.random((48, 48)))
    bd = _smooth(rng.random((48, 48)))
    old = instances_from_probabilities(fg, bd, threshold=0.5, boundary_threshold=0.5, min_area_px=4)
    assert old.max() > 1
    for seed in (0.5, 0.2):                                  # at or below the threshold: the same
        np.testing.assert_array_equal(
            instances_from_probabilities(fg, bd, threshold=0.5, boundary_threshold=0.5, min_area_px=4,
                                         seed_threshold=seed), old)


def _smooth(x: np.ndarray) -> np.ndarray:
    y = ndi.gaussian_filter(x, 3)
    return (y - y.min()) / (y.max() - y.min())


def test_merge_threshold_undoes_a_split_across_a_faint_rim_but_keeps_a_strong_one() -> None:
    # A rod crossed by a faint false rim (boundary probability 0.25, noise of the boundary head)
    # and two squares touching along a true rim (probability 1 on both sides of their border).
    truth = np.zeros((48, 96), np.int32)
    truth[8:18, 10:60] = 1
    truth[26:42, 20:36], truth[26:42, 36:52] = 2, 3
    fg = (truth > 0).astype(float)
    _, bd = targets_from_labels(truth)
    bd[truth == 1] = 0.0
    bd[8:18, 34:36] = 0.25
    kw = {"threshold": 0.5, "seed_threshold": 0.95, "boundary_threshold": 0.1, "min_area_px": 8}
    split = instances_from_probabilities(fg, bd, **kw)
    assert split.max() == 4                                  # the rod in two pieces
    merged = instances_from_probabilities(fg, bd, merge_threshold=0.3, **kw)
    assert merged.max() == 3
    np.testing.assert_array_equal(merged == merged[12, 12], truth == 1)
    for k in (2, 3):
        match = np.bincount(merged[truth == k]).argmax()
        iou = ((merged == match) & (truth == k)).sum() / ((merged == match) | (truth == k)).sum()
        assert iou > 0.95
    # a merge threshold above the true rim's strength merges the squares too
    assert instances_from_probabilities(fg, bd, merge_threshold=1.01, **kw).max() == 2


@pytest.mark.parametrize("min_area_px", [0, 1, 5, 30])
def test_keep_large_drops_the_small_objects_then_numbers_as_scikit_images_relabel_sequential(min_area_px) -> None:
    from skimage.segmentation import relabel_sequential

    rng = np.random.default_rng(min_area_px)
    labels = ndi.label(rng.random((64, 64)) < 0.45)[0]
    labels[labels > 0] = rng.permutation(labels.max() + 5)[labels[labels > 0]] + 1  # ids with gaps, unordered
    small = np.bincount(labels.ravel())[labels] < min_area_px
    expected = relabel_sequential(np.where(small, 0, labels))[0]
    got = keep_large(labels, min_area_px)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int32 and 10 < got.max() and small.any() == (min_area_px > 1)
    assert got.max() == len(np.unique(got)) - 1                  # numbered 1..N, whatever the gaps


def test_seeds_smaller_than_a_quarter_of_the_min_area_are_dropped_and_their_particle_with_them() -> None:
    # Two 10 x 10 squares of foreground 0.9 whose confident cores (0.99) are 4 and 3 px: with
    # min_area_px 16 a seed needs 16 // 4 = 4 px, so only the first square is a particle.
    fg = np.zeros((16, 32))
    fg[3:13, 2:12] = fg[3:13, 18:28] = 0.9
    fg[7:9, 6:8] = 0.99                                       # 4 px core
    fg[7, 22:24] = fg[8, 22] = 0.99                           # 3 px core
    labels = instances_from_probabilities(fg, np.zeros_like(fg), threshold=0.5, seed_threshold=0.95,
                                          boundary_threshold=0.5, min_area_px=16)
    np.testing.assert_array_equal(labels, (fg > 0.5) * (np.arange(32) < 16))


def test_a_border_is_weak_when_the_mean_of_its_pixel_pairs_is_below_the_merge_threshold() -> None:
    # Regions 1 and 2 share a border of 6 pixel pairs of strength 0.5, 0.25, 0.5, ... (each the
    # mean of its two pixels' boundary probability): mean 0.375, max 0.5.  Region 3 touches nothing.
    labels = np.zeros((6, 12), np.int64)
    labels[:, :4], labels[:, 4:8], labels[1:3, 10:] = 1, 2, 3
    boundary = np.zeros(labels.shape)
    boundary[:, 3:5] = np.where(np.arange(6) % 2 == 0, 0.5, 0.25)[:, None]
    pairs, strength = border_strengths(labels, boundary)
    np.testing.assert_array_equal(pairs, [[1, 2]])
    assert strength.tolist() == [0.375]
    np.testing.assert_array_equal(merge_weak_borders(labels, (pairs, strength), 0.375), labels)  # not below
    merged = merge_weak_borders(labels, (pairs, strength), 0.376)
    np.testing.assert_array_equal(merged, np.where(labels == 2, 1, np.where(labels == 3, 2, labels)))
