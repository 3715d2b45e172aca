"""Boundary F1: the numba engine against the scikit-image/SciPy reference, and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import draw
from skimage.segmentation import find_boundaries

from benchmark.boundary import boundary_f1, inner_boundaries
from benchmark.overlap import ENGINES


def _discs(rng, n=12, shape=(70, 90), shift=(0, 0)):
    labels = np.zeros(shape, np.int64)
    for k in range(n):  # overlapping discs: later ones cut earlier ones, so instances touch
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        rr, cc = draw.disk((r + shift[0], c + shift[1]), rng.integers(3, 10), shape=shape)
        labels[rr, cc] = k + 1
    return labels


@pytest.mark.parametrize("seed", range(6))
def test_inner_boundaries_equal_scikit_image(seed):
    labels = _discs(np.random.default_rng(seed))
    expected = find_boundaries(labels, mode="inner")
    for engine in ENGINES:
        np.testing.assert_array_equal(inner_boundaries(labels, engine=engine), expected)


@pytest.mark.parametrize("tol_px", [0.5, 1.0, 1.5, 2.0, 2.9, 4.0, 6.3])
def test_engines_agree(tol_px):
    rng = np.random.default_rng(int(tol_px * 10))
    for _ in range(4):
        t, p = _discs(rng), _discs(rng)
        values = [boundary_f1(t, p, tol_px, engine=e) for e in ENGINES]
        assert values[0] == pytest.approx(values[1], abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_known_answers(engine):
    t = np.zeros((40, 40), np.int64)
    t[10:30, 10:30] = 1
    assert boundary_f1(t, t, 0.5, engine=engine) == 1.0
    assert boundary_f1(t, np.roll(t, 2, axis=1), 2.0, engine=engine) == 1.0   # within tolerance
    # Shifted right by 3 px, tolerance 2 px, 76 boundary pixels per square.  Of the true outline,
    # the top and bottom edges match but for their left corner (19 + 19), the left edge's 18 inner
    # pixels do not, the right edge's match only within 2 px of the other's top/bottom (2 + 2):
    # 42 of 76, and the same for the prediction by symmetry.
    shifted = np.roll(t, 3, axis=1)
    assert boundary_f1(t, shifted, 2.0, engine=engine) == pytest.approx(42 / 76, abs=1e-12)
    assert boundary_f1(t, np.zeros_like(t), 2.0, engine=engine) == 0.0
    assert boundary_f1(np.zeros_like(t), np.zeros_like(t), 2.0, engine=engine) == 1.0


@pytest.mark.parametrize("tol_px", [0.0, 0.9, 1.0, 3.0, 12.0])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (3, 4), (16, 16)])
def test_engines_agree_on_small_frames_and_edges(shape, tol_px):
    # Tiny frames (the tolerance disk larger than the frame), objects touching the edges and
    # each other, labels not consecutive.
    rng = np.random.default_rng(sum(shape) + int(10 * tol_px))
    for _ in range(10):
        t = rng.choice([0, 0, 3, 70, 2**20], size=shape)
        p = rng.choice([0, 0, 5, 9], size=shape)
        values = [boundary_f1(t, p, tol_px, engine=e) for e in ENGINES]
        assert values[0] == pytest.approx(values[1], abs=1e-12)


def test_boundary_f1_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        boundary_f1(np.zeros((3, 3), int), np.zeros((3, 4), int), 1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_tolerance_or_engine_is_a_value_error(engine) -> None:
    from benchmark.boundary import boundary_f1

    a = np.zeros((8, 8), np.int32)
    a[2:5, 2:5] = 1
    with pytest.raises(ValueError, match="tol_px"):
        boundary_f1(a, a, -1.0, engine=engine)
    with pytest.raises(ValueError, match="engine"):
        boundary_f1(a, a, 1.0, engine="cuda")
