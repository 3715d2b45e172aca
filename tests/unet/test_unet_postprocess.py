"""Seeded watershed separates touching particles."""

from __future__ import annotations

import numpy as np
from skimage.draw import disk

from unet.postprocess import instances_from_probabilities, targets_from_labels


def test_two_touching_discs_are_split() -> None:
    truth = np.zeros((64, 96), np.int32)
    truth[disk((32, 30), 14, shape=truth.shape)] = 1
    truth[disk((32, 57), 14, shape=truth.shape)] = 2   # centres 27 px apart: they touch
    fg, bd = targets_from_labels(truth)
    assert ((fg > 0) & (truth == 0)).sum() == 0
    assert bd.sum() > 0 and (bd <= fg).all()
    # foreground alone is one blob
    from scipy import ndimage as ndi
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
