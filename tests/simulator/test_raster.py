"""Rasteriser: coverage and thickness against the polygon's area and the particle's volume,
on the numba kernel and the NumPy reference alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator._raster import pack_particles, rasterize
from simulator.shapes import SHAPES, make_shape, profile_volume

ENGINES = ["numba", "numpy"]


def _render(specs, centres_px, angles, shape, *, pixel_nm=1.0, ss=4, engine="numba"):
    n = len(specs)
    packed = pack_particles([s.vertices for s in specs], [c[0] for c in centres_px], [c[1] for c in centres_px],
                            np.asarray(angles, float), [s.height_nm for s in specs], [s.rounding_nm for s in specs],
                            [s.profile for s in specs], np.full(n, 0.02), np.ones(n), np.arange(1, n + 1))
    return rasterize(packed, [s.radius_nm for s in specs], shape, pixel_size_nm=pixel_nm,
                     supersample=ss, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", SHAPES)
def test_area_and_volume(name, engine):
    spec = make_shape(name, 24.0)
    tau, thick, haadf, labels = _render([spec], [(100.3, 101.7)], [0.4], (200, 200), pixel_nm=0.5, ss=4, engine=engine)
    # Labelled pixels (>= half covered) against the polygon's area: within 3 % at 24 nm / 0.5 nm px.
    assert (labels == 1).sum() * 0.25 == pytest.approx(spec.outline.area, rel=0.03)
    # Integral of the projected thickness against the volume of the profile.
    assert thick.sum() * 0.25 == pytest.approx(profile_volume(spec), rel=0.02)
    np.testing.assert_allclose(tau, 0.02 * thick)
    np.testing.assert_allclose(haadf, thick)


def test_sphere_and_rod_volumes_are_exact_solids():
    R = 10.0
    assert profile_volume(make_shape("sphere", 2 * R)) == pytest.approx(4 / 3 * np.pi * R**3, rel=0.01)
    w, L = 10.0, 40.0  # spherocylinder: cylinder of length L - w plus a sphere
    v = np.pi * (w / 2) ** 2 * (L - w) + 4 / 3 * np.pi * (w / 2) ** 3
    assert profile_volume(make_shape("rod", w, aspect_ratio=L / w)) == pytest.approx(v, rel=0.01)
    cube = make_shape("cube", 20.0, corner_rounding=0.0)
    assert profile_volume(cube) == pytest.approx(20.0**3, rel=0.01)


def test_engines_agree_on_a_crowded_frame():
    rng = np.random.default_rng(0)
    specs = [make_shape(SHAPES[i % len(SHAPES)], 12.0) for i in range(10)]
    centres = rng.uniform(5, 59, (10, 2))
    angles = rng.uniform(0, 6.3, 10)
    a = _render(specs, centres, angles, (64, 64), engine="numba")
    b = _render(specs, centres, angles, (64, 64), engine="numpy")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_overlap_rule_larger_coverage_wins():
    disc = make_shape("sphere", 20.0)
    # Two discs overlapping; in the lens both cover the pixel fully: the later one wins the tie.
    _, _, _, labels = _render([disc, disc], [(20, 20), (32, 20)], [0, 0], (40, 52))
    assert labels[20, 26] == 2 and labels[20, 14] == 1 and labels[20, 38] == 2


@settings(max_examples=25, deadline=None)
@given(size=st.floats(8, 30), angle=st.floats(0, 6.283), name=st.sampled_from(SHAPES))
def test_rasterised_area_converges_to_polygon_area(size, angle, name):
    spec = make_shape(name, size)
    _, _, _, labels = _render([spec], [(100.5, 100.5)], [angle], (201, 201), pixel_nm=0.5, ss=4)
    # The error is at most the boundary band of one pixel: perimeter × pixel.
    assert abs((labels == 1).sum() * 0.25 - spec.outline.area) <= spec.outline.length * 0.5


def test_particles_outside_the_frame_are_clipped():
    spec = make_shape("sphere", 20.0)
    tau, thick, _, labels = _render([spec], [(-4.0, 10.0)], [0], (20, 20))
    assert 0 < (labels == 1).sum() < spec.outline.area / 2


def test_render_512_frame_50_particles(benchmark):
    rng = np.random.default_rng(1)
    specs = [make_shape(SHAPES[i % len(SHAPES)], 20.0) for i in range(50)]
    centres = rng.uniform(20, 492, (50, 2))
    angles = rng.uniform(0, 6.3, 50)
    _render(specs, centres, angles, (512, 512))  # compile
    out = benchmark(_render, specs, centres, angles, (512, 512))
    assert out[3].max() >= 1


@pytest.mark.parametrize("engine", ENGINES)
def test_thickness_integral_is_the_solid_volume_at_coarse_pixels(engine):
    # 1 nm pixels on 16 nm solids (the simulator's regime): the interior midpoint rule and the
    # supersampled rim together stay within 1.5 % of the exact volumes.
    R = 8.0
    sphere = make_shape("sphere", 2 * R)
    _, thick, _, _ = _render([sphere], [(20.3, 19.8)], [0.0], (40, 40), engine=engine)
    assert thick.sum() == pytest.approx(4 / 3 * np.pi * R**3, rel=0.015)
    rod = make_shape("rod", 2 * R, aspect_ratio=3.0)  # cylinder of length 4R plus a sphere
    _, thick, _, _ = _render([rod], [(40.6, 30.2)], [0.7], (60, 80), engine=engine)
    assert thick.sum() == pytest.approx(np.pi * R**2 * 4 * R + 4 / 3 * np.pi * R**3, rel=0.015)
    cube = make_shape("cube", 16.0, corner_rounding=0.0)
    _, thick, _, _ = _render([cube], [(20.5, 20.5)], [0.3], (40, 40), engine=engine)
    assert thick.sum() == pytest.approx(16.0**3, rel=0.015)
