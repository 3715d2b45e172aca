"""The label-overlap kernel (numba and NumPy engines) and the metrics built on it, with known answers
and against py-ctcmetrics, scikit-image and the baselines' bincount overlap."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import draw
from skimage.metrics import contingency_table

from baselines.matching import overlap_matrix
from benchmark.metrics import frame_metrics, seg_measure, seg_video
from benchmark.overlap import ENGINES, iou_from_overlap, label_overlap
from benchmark.shape import region_moments


def _scene(rng: int, n: int = 12, shape=(96, 96), jitter: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Random non-overlapping discs (truth) and a jittered, resized copy with misses and extras."""
    g = np.random.default_rng(rng)
    true = np.zeros(shape, np.int64)
    pred = np.zeros(shape, np.int64)
    for k in range(n):
        cy, cx = g.uniform(8, shape[0] - 8), g.uniform(8, shape[1] - 8)
        r = g.uniform(3, 7)
        true[draw.disk((cy, cx), r, shape=shape)] = 10 * k + 3
        if g.random() < 0.85:
            dy, dx = g.normal(0, jitter, 2)
            pred[draw.disk((cy + dy, cx + dx), r * g.uniform(0.7, 1.3), shape=shape)] = g.integers(1, 10**6)
    pred[draw.disk((4, 4), 3, shape=shape)] = 7  # a false detection
    return true, pred


@pytest.mark.parametrize("engine", ENGINES)
def test_two_discs_known_overlap(engine):
    # Two squares of 20x20 px shifted by 5 px: 300 px shared, union 500 -> IoU 0.6.
    t = np.zeros((40, 60), np.int64)
    p = np.zeros((40, 60), np.int64)
    t[10:30, 10:30] = 4
    p[10:30, 15:35] = 9
    ov, tid, pid = label_overlap(t, p, engine=engine)
    assert ov.tolist() == [[40 * 60 - 500, 100], [100, 300]]
    assert tid.tolist() == [0, 4] and pid.tolist() == [0, 9]
    assert iou_from_overlap(ov)[0, 0] == pytest.approx(0.6)
    # Two discs of radius 10 px, centres 10 px apart: lens area 2r²acos(d/2r) − (d/2)√(4r²−d²)
    # = 122.8 px² (continuous); the pixelated IoU follows within pixelation.
    a = np.zeros((64, 64), np.int64)
    b = np.zeros((64, 64), np.int64)
    a[draw.disk((32, 27), 10)] = 1
    b[draw.disk((32, 37), 10)] = 2
    lens = 2 * 100 * np.arccos(0.5) - 5 * np.sqrt(400 - 100)
    expected = lens / (2 * np.pi * 100 - lens)
    assert iou_from_overlap(label_overlap(a, b, engine=engine)[0])[0, 0] == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("engine", ENGINES)
def test_overlap_agrees_with_skimage_contingency_and_bincount(engine):
    for seed in range(4):
        true, pred = _scene(seed, jitter=1.5)
        ov, tid, pid = label_overlap(true, pred, engine=engine)
        ref, rt, rp = overlap_matrix(true, pred)
        assert np.array_equal(ov, ref) and np.array_equal(tid, rt) and np.array_equal(pid, rp)
        table = contingency_table(true, pred).toarray()  # rows/cols indexed by the raw labels
        assert np.array_equal(ov, table[np.ix_(tid, pid)])


@settings(max_examples=40, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=st.integers(0, 5)),
       st.integers(0, 2**31))
def test_engines_identical_and_invariant_to_relabelling(true, seed):
    pred = np.random.default_rng(seed).permutation(true.ravel()).reshape(true.shape)
    a = label_overlap(true, pred, engine="numba")
    b = label_overlap(true, pred, engine="numpy")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].sum() == true.size
    # A monotone relabelling of the prediction leaves the matrix unchanged.
    assert np.array_equal(label_overlap(true, pred * 7 + np.where(pred > 0, 100, 0), engine="numba")[0], a[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_seg_equals_py_ctcmetrics_exactly(engine, tmp_path):
    from ctc_metrics.metrics import seg as ctc_seg
    from ctc_metrics.utils.representations import match as ctc_match

    for seed in range(3):
        true, pred = _scene(seed, jitter=2.0)
        tifffile.imwrite(tmp_path / "ref.tif", true.astype(np.uint16))
        tifffile.imwrite(tmp_path / "res.tif", (pred % 60000).astype(np.uint16))
        labels_ref, _, _, _, ious = ctc_match(str(tmp_path / "ref.tif"), str(tmp_path / "res.tif"))
        ref = ctc_seg([labels_ref], [np.asarray(ious)])
        assert seg_measure(true, pred % 60000, engine=engine) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_video_seg_pools_objects_like_py_ctcmetrics(engine, tmp_path):
    from ctc_metrics.metrics import seg as ctc_seg
    from ctc_metrics.utils.representations import match as ctc_match

    scenes = [_scene(s, n=n, jitter=2.0) for s, n in ((0, 3), (1, 15), (2, 8))]  # unequal counts
    true = np.stack([t for t, _ in scenes])
    pred = np.stack([p % 60000 for _, p in scenes])
    refs, ious = [], []
    for t in range(3):
        tifffile.imwrite(tmp_path / "ref.tif", true[t].astype(np.uint16))
        tifffile.imwrite(tmp_path / "res.tif", pred[t].astype(np.uint16))
        r, _, _, _, i = ctc_match(str(tmp_path / "ref.tif"), str(tmp_path / "res.tif"))
        refs.append(r)
        ious.append(np.asarray(i))
    expected = ctc_seg(refs, ious)
    assert seg_video(true, pred, engine=engine) == pytest.approx(expected, abs=1e-12)
    per_frame_mean = np.mean([seg_measure(true[t], pred[t], engine=engine) for t in range(3)])
    assert per_frame_mean != pytest.approx(expected, abs=1e-6)  # the pooling matters here


@pytest.mark.parametrize("engine", ENGINES)
def test_perfect_and_relabelled_predictions_score_one(engine):
    true, _ = _scene(7)
    perm = np.random.default_rng(1).permutation(1000) + 1
    lut = np.zeros(int(true.max()) + 1, np.int64)
    lut[np.unique(true)[1:]] = perm[: len(np.unique(true)) - 1]
    m = frame_metrics(true, lut[true], engine=engine)
    for k in ("iou_pixel", "dice_pixel", "f1@0.5", "precision@0.5", "recall@0.5", "ap@0.5:0.95", "pq",
              "mean_matched_iou", "seg", "boundary_f1"):
        assert m[k] == pytest.approx(1.0), k
    assert m["area_rel_error"] == 0 and m["centroid_error_nm"] == 0


def test_engines_give_the_same_metrics():
    for seed in range(3):
        true, pred = _scene(seed, jitter=1.0)
        a = frame_metrics(true, pred, engine="numba")
        b = frame_metrics(true, pred, engine="numpy")
        assert a == pytest.approx(b, nan_ok=True)
        assert 0 < a["f1@0.5"] < 1 and 0 < a["seg"] < 1


def test_label_overlap_rejects_bad_input():
    with pytest.raises(ValueError, match="shapes differ"):
        label_overlap(np.zeros((3, 3), int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="engine"):
        label_overlap(np.zeros((3, 3), int), np.zeros((3, 3), int), engine="cuda")  # type: ignore[arg-type]


def test_region_moments_agree_with_skimage_regionprops():
    from skimage.measure import regionprops

    labels = np.zeros((80, 90), np.int64)
    labels[draw.ellipse(20, 25, 6, 14, rotation=0.4)] = 5
    labels[draw.ellipse(55, 60, 12, 5, rotation=-1.1)] = 2
    labels[draw.disk((60, 20), 7)] = 9
    labels[5:9, 70:80] = 40  # an axis-aligned rectangle
    ours = region_moments(labels)
    for row, r in zip(ours, regionprops(labels)):  # both ordered by label
        assert row[0] == r.area and row[1:3] == pytest.approx(r.centroid)
        assert row[3] == pytest.approx(r.orientation, abs=1e-9)
        assert row[4] == pytest.approx(r.eccentricity, abs=1e-9)


def test_shape_errors_known_shift_and_rotation():
    t = np.zeros((80, 80), np.int64)
    p = np.zeros((80, 80), np.int64)
    t[draw.ellipse(40, 40, 6, 16, rotation=0.0)] = 1
    p[draw.ellipse(40, 43, 6, 16, rotation=0.0)] = 1  # shifted 3 px in x, same shape
    m = frame_metrics(t, p, pixel_size_nm=0.5)
    assert m["area_rel_error"] == 0 and m["centroid_error_nm"] == pytest.approx(1.5)
    assert m["orientation_error_rad"] == pytest.approx(0.0, abs=1e-9)
    p[:] = 0
    p[draw.ellipse(40, 40, 6, 16, rotation=0.2)] = 1  # rotated 0.2 rad about its centre
    assert frame_metrics(t, p)["orientation_error_rad"] == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize("top", [0, 3, 300, 70_000, 2**40])
def test_sequential_lut_matches_scikit_image(top):
    from skimage.segmentation import relabel_sequential

    from benchmark.overlap import sequential_lut

    rng = np.random.default_rng(top % 97)
    labels = rng.integers(0, top + 1, size=(37, 41), dtype=np.int64)
    labels[rng.random(labels.shape) < 0.3] = 0
    s = sequential_lut(labels)
    np.testing.assert_array_equal(s.lut[s.flat].reshape(labels.shape), relabel_sequential(labels)[0])
