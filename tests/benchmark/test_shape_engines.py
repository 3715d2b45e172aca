"""Region moments (numba and NumPy engines) against scikit-image's ``regionprops``, and the
sequential lookup tables against ``relabel_sequential``, on random and edge-case label images."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import draw
from skimage.measure import regionprops
from skimage.segmentation import relabel_sequential

from benchmark.overlap import ENGINES, sequential_lut
from benchmark.shape import region_moments, shape_errors


def _touching(rng: int, shape=(60, 70), n: int = 10) -> np.ndarray:
    """Overlapping discs and ellipses painted in turn (later cut earlier: touching instances) with
    non-consecutive ids."""
    g = np.random.default_rng(rng)
    labels = np.zeros(shape, np.int64)
    ids = g.choice(np.arange(1, 5000), n, replace=False)
    for k in ids:
        c = g.uniform(0, shape[0]), g.uniform(0, shape[1])
        if g.random() < 0.5:
            rr, cc = draw.disk(c, g.uniform(2, 9), shape=shape)
        else:
            rr, cc = draw.ellipse(*c, g.uniform(2, 6), g.uniform(4, 14), shape=shape, rotation=g.uniform(-3, 3))
        labels[rr, cc] = k
    return labels


def _check_against_regionprops(labels: np.ndarray, engine: str) -> None:
    ours = region_moments(labels, engine=engine)
    props = regionprops(labels.astype(np.int64))  # ordered by label, as our rows
    assert ours.shape == (len(props), 5)
    for row, r in zip(ours, props):
        assert row[0] == r.area
        assert row[1:3] == pytest.approx(r.centroid, abs=1e-9)
        assert row[4] == pytest.approx(r.eccentricity, abs=1e-9)
        if r.eccentricity > 1e-6:  # a circle's orientation is undefined
            d = abs(row[3] - r.orientation) % np.pi
            assert min(d, np.pi - d) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(4))
def test_moments_equal_regionprops_touching_instances(engine, seed):
    _check_against_regionprops(_touching(seed), engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_moments_edge_cases(engine):
    empty = np.zeros((9, 11), np.int64)
    assert region_moments(empty, engine=engine).shape == (0, 5)
    one = empty.copy()
    one[2:5, 3:10] = 70_000  # one object, a large id
    _check_against_regionprops(one, engine)
    pixel = empty.copy()
    pixel[0, 0], pixel[8, 10] = 3, 1  # single pixels at the corners: zero second moments
    got = region_moments(pixel, engine=engine)
    assert got[:, :3].tolist() == [[1, 8, 10], [1, 0, 0]] and got[:, 4].tolist() == [0, 0]
    full = np.full((5, 8), 2, np.uint8)  # the whole frame one object
    _check_against_regionprops(full, engine)
    line = empty.copy()
    line[4, :] = 5  # a one-pixel line: eccentricity 1, orientation ±π/2
    assert region_moments(line, engine=engine)[0, 4] == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.uint32, np.int64, ">i4"])
def test_engines_bit_identical_over_dtypes(dtype):
    labels = _touching(11) % 250
    a = region_moments(labels.astype(dtype), engine="numba")
    b = region_moments(labels.astype(dtype), engine="numpy")
    np.testing.assert_array_equal(a, b)  # the same sums in the same order
    np.testing.assert_array_equal(a, region_moments(labels, engine="numba"))


@pytest.mark.parametrize("top", [2**40, 2**62])
def test_huge_ids_take_scikit_image_path(top):
    labels = _touching(3)
    labels[labels > 0] += top
    for engine in ENGINES:
        np.testing.assert_array_equal(region_moments(labels, engine=engine), region_moments(_touching(3)))
        s = sequential_lut(labels, engine=engine)
        seq, _, inv = relabel_sequential(labels)
        np.testing.assert_array_equal(s.lut[s.flat].reshape(labels.shape), seq)
        np.testing.assert_array_equal(s.ids, np.asarray(inv))


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 40)))
def test_lut_and_moments_random_labels(labels):
    seq, _, inv = relabel_sequential(labels)
    for engine in ENGINES:
        s = sequential_lut(labels, engine=engine)
        np.testing.assert_array_equal(s.lut[s.flat].reshape(labels.shape), seq)
        np.testing.assert_array_equal(s.ids, np.asarray(inv))
        assert s.n == len(np.unique(labels[labels > 0]))
    a, b = (region_moments(labels, engine=e) for e in ENGINES)
    np.testing.assert_array_equal(a, b)
    _check_against_regionprops(labels, "numba")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("low", [-1, -10**6])
def test_negative_labels_raise(engine, low):
    from benchmark.metrics import frame_metrics

    labels = np.zeros((4, 5), np.int64)
    labels[1, 2], labels[3, 4] = 7, low  # a negative id beyond the table's size must not be written
    with pytest.raises(ValueError, match="non-negative"):
        sequential_lut(labels, engine=engine)
    with pytest.raises(ValueError, match="non-negative"):
        frame_metrics(np.abs(labels), labels, engine=engine)


def test_region_moments_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        region_moments(np.zeros((2, 3, 4), int))
    with pytest.raises(ValueError, match="engine"):
        sequential_lut(np.zeros((3, 3), int), engine="cuda")  # type: ignore[arg-type]


def test_shape_errors_known_answers():
    # Truth: an elongated object (eccentricity 0.9) and a round one; prediction: the first shifted
    # by (3, 4) px and rotated by 0.3 rad, grown by 10 %; the second exact.
    mt = np.array([[100.0, 10, 10, 0.2, 0.9], [50.0, 30, 30, 0.0, 0.1]])
    mp = np.array([[50.0, 30, 30, 0.0, 0.1], [110.0, 13, 14, 0.5, 0.9]])
    area, cent, orient = shape_errors(mt, mp, np.array([0, 1]), np.array([1, 0]), 2.0)
    assert area == pytest.approx(0.05) and cent == pytest.approx(5.0)  # (0.1 + 0) / 2; 5 px · 2 nm / 2
    assert orient == pytest.approx(0.3)  # the round one has no orientation
    # Orientation is modulo π: -1.5 and +1.5 rad are 0.14 rad apart.
    mp[1, 3] = -1.5
    mt[0, 3] = 1.5
    assert shape_errors(mt, mp, np.array([0]), np.array([1]), 1.0)[2] == pytest.approx(np.pi - 3.0)
    assert np.isnan(shape_errors(mt, mp, np.array([1]), np.array([0]), 1.0)[2])
