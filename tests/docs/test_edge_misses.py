"""docs/unet/edge_misses.py: hits, misses and false positives split by the frame's edge."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from benchmark.metrics import frame_metrics

from _scripts import load_script

em = load_script("docs/unet/edge_misses.py", "edge_misses")


def test_edge_objects_are_counted_apart_and_do_not_count_when_they_do_not_care() -> None:
    truth = np.zeros((40, 40), np.int32)
    pred = np.zeros_like(truth)
    truth[10:18, 10:18] = pred[10:18, 10:18] = 12  # inside, found (track-like ids, not 1..N)
    truth[20:28, 25:33] = 40                         # inside, missed
    truth[37:40, 20:26] = 5                          # a sliver on the bottom edge, missed
    truth[22:26, 37:40] = 77                         # a sliver on the right edge, missed
    pred[0:6, 0:6] = 7                               # a false positive in the top-left corner
    pred[30:34, 5:9] = 3                             # a false positive inside
    counts = em.frame_counts(truth, pred)
    assert counts == {"tp": 1, "tp_edge": 0, "fn": 1, "fn_edge": 2, "fp": 1, "fp_edge": 1}
    scores = em.cell_scores([truth], [pred])
    assert scores["f1"] == pytest.approx(2 / (2 + 2 + 3))     # every object counts
    assert scores["f1_inner"] == pytest.approx(2 / (2 + 1 + 1))  # the edge objects do not care
    # a hit on an edge object is neither a true positive inside nor a false positive
    pred[37:40, 20:26] = 9
    assert em.frame_counts(truth, pred) == {"tp": 1, "tp_edge": 1, "fn": 1, "fn_edge": 1, "fp": 1, "fp_edge": 1}
    # nothing to count: 1, as the benchmark scores an empty frame
    assert em.cell_scores([np.zeros((8, 8), np.int32)], [np.zeros((8, 8), np.int32)])["f1_inner"] == 1.0


def test_every_object_counting_is_the_benchmarks_f1() -> None:
    """Counted over every object, the F1 is ``frame_metrics``' f1@0.5, on random blobs."""
    rng = np.random.default_rng(5)
    for _ in range(15):
        truth = ndimage.label(ndimage.gaussian_filter(rng.random((48, 48)), 2) > 0.52)[0]
        pred = ndimage.label(ndimage.gaussian_filter(rng.random((48, 48)), 2) > 0.52)[0]
        pred = np.where(rng.random() < 0.3, truth, pred)
        assert em.cell_scores([truth], [pred])["f1"] == pytest.approx(frame_metrics(truth, pred)["f1@0.5"])
