"""Shapes: outlines against the analytic areas and perimeters of the solids they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import ConfigError
from simulator.shapes import RAMP, ROUNDED, SHAPES, make_shape, profile_volume


@pytest.mark.parametrize("tau", [0.0, 0.05, 0.1, 0.2])
def test_truncated_prism_area_and_perimeter(tau):
    s = 30.0
    spec = make_shape("prism", s, truncation=tau, corner_rounding=0.0)
    # An equilateral triangle of edge s minus three tip triangles of edge tau*s.
    assert spec.outline.area == pytest.approx(np.sqrt(3) / 4 * s**2 * (1 - 3 * tau**2), rel=1e-9)
    assert spec.outline.length == pytest.approx(3 * s * (1 - tau), rel=1e-9)
    assert spec.height_nm == pytest.approx(0.2 * s)


def test_flat_shapes_areas():
    s = 20.0
    assert make_shape("cube", s, corner_rounding=0).outline.area == pytest.approx(s**2)
    assert make_shape("hexagonal-plate", s, corner_rounding=0).outline.area == pytest.approx(3 * np.sqrt(3) / 2 * s**2)
    # Concave cube: the square minus four circular segments of chord s and depth 0.12 s.
    d = 0.12 * s
    R = (s**2 / 4 + d**2) / (2 * d)
    segment = R**2 * np.arccos((R - d) / R) - (R - d) * np.sqrt(2 * R * d - d**2)
    concave = make_shape("concave-cube", s, corner_rounding=0).outline.area
    # The arcs are polygons (64 chords per circle), which remove slightly less: within 1 %.
    assert concave == pytest.approx(s**2 - 4 * segment, rel=0.01)


def test_round_shapes_areas():
    w, ar = 10.0, 4.0
    assert make_shape("sphere", w).outline.area == pytest.approx(np.pi * w**2 / 4, rel=0.003)
    rod = make_shape("rod", w, aspect_ratio=ar)
    assert rod.outline.area == pytest.approx(w * (ar * w - w) + np.pi * w**2 / 4, rel=0.003)
    minx, miny, maxx, maxy = rod.outline.bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((ar * w, w), rel=1e-6)
    # Aspect ratio 1 gives a sphere's outline.
    assert make_shape("rod", w, aspect_ratio=1.0).outline.area == pytest.approx(np.pi * w**2 / 4, rel=0.003)


def test_bipyramid_ramp_volume():
    # Ramp profile on a long hexagonal outline: the interior ridge reaches h at distance r = w/2;
    # an infinitely long ridge of width w has cross-section w*h/2, so the volume is below L*w*h/2.
    w, ar = 10.0, 4.0
    spec = make_shape("bipyramid", w, aspect_ratio=ar)
    assert spec.profile == RAMP
    v = profile_volume(spec)
    assert 0.6 * (ar * w) * w * w / 2 < v < (ar * w) * w * w / 2


@pytest.mark.parametrize("name", SHAPES)
def test_every_shape_is_centred_and_valid(name):
    spec = make_shape(name, 25.0)
    assert spec.outline.is_valid and spec.outline.area > 0
    c = spec.outline.centroid
    assert abs(c.x) < 1e-6 * 25 and abs(c.y) < 1e-6 * 25
    assert spec.vertices.shape[1] == 2
    assert spec.radius_nm >= np.sqrt(spec.outline.area / np.pi)
    assert spec.profile in (ROUNDED, RAMP)
    assert 0 < profile_volume(spec) <= spec.outline.area * spec.height_nm


def test_unknown_shape_is_a_config_error():
    with pytest.raises(ConfigError, match="shape 'blob' is unknown"):
        make_shape("blob", 10.0)



@pytest.mark.parametrize(("truncation", "rounding", "limit"), [(0.1, 0.2887, "0.288675"), (0.0, 0.5, "0.288675"),
                                                               (0.4, 0.25, "0.23094"), (0.1, -0.01, "0.288675")])
def test_a_prism_rounding_outside_its_range_is_a_value_error(truncation, rounding, limit):
    with pytest.raises(ValueError, match=rf"^corner_rounding = {rounding:g} for a prism with truncation {truncation:g}: "
                                         rf"expected 0 <= corner_rounding < {limit}, the inradius "):
        make_shape("prism", 30.0, truncation=truncation, corner_rounding=rounding)


@pytest.mark.parametrize("truncation", [0.0, 0.001, 0.1, 1 / 3, 0.5])
@pytest.mark.parametrize("below", [1e-2, 1e-3, 1e-6, 1e-12])
def test_a_prism_rounding_just_below_its_limit_gives_a_disc_or_a_value_error(truncation, below):
    # the inradius, as a fraction of the edge; rounding errors of the geometry may leave nothing
    # a little below it, and that must be the same clear error, never one from shapely
    limit = min(1 / (2 * np.sqrt(3)), 1 / np.sqrt(3) - np.sqrt(3) / 2 * truncation)
    try:
        spec = make_shape("prism", 30.0, truncation=truncation, corner_rounding=limit * (1 - below))
    except ValueError as exc:  # the geometry's rounding errors may empty it 0.1 % below the limit, not 1 %
        assert below <= 1e-3 and str(exc).startswith("corner_rounding = ")
    else:  # nearly the disc of the inradius
        assert spec.outline.is_valid and spec.outline.area == pytest.approx(np.pi * (30.0 * limit) ** 2, rel=0.05)


# a shape's limit on corner_rounding, and the fraction of the edge its corners are rounded by per unit of it
_ROUNDED_SHAPES = {"cube": ("a cube", 0.5, 1.0), "hexagonal-plate": ("a hexagonal plate", np.sqrt(3) / 2, 1.0),
                   "concave-cube": ("a concave cube", 0.38 / 0.3, 0.3)}


@pytest.mark.parametrize("name", sorted(_ROUNDED_SHAPES))
@pytest.mark.parametrize("factor", [1.0, 1.001, 1.5, -0.02, float("nan")])
def test_a_rounding_outside_its_range_is_a_value_error_for_every_rounded_shape(name, factor):
    what, limit, _ = _ROUNDED_SHAPES[name]
    rounding = limit * factor
    with pytest.raises(ValueError, match=rf"^corner_rounding = {rounding:g} for {what}: "
                                         rf"expected 0 <= corner_rounding < {limit:.6g}, the inradius "):
        make_shape(name, 30.0, corner_rounding=rounding)


@pytest.mark.parametrize("name", sorted(_ROUNDED_SHAPES))
@pytest.mark.parametrize("below", [1e-2, 1e-3, 1e-6, 1e-12])
def test_a_rounding_just_below_its_limit_gives_a_disc_or_a_value_error_for_every_rounded_shape(name, below):
    _, limit, per_unit = _ROUNDED_SHAPES[name]
    try:
        spec = make_shape(name, 30.0, corner_rounding=limit * (1 - below))
    except ValueError as exc:  # the geometry's rounding errors may empty it 0.1 % below the limit, not 1 %
        assert below <= 1e-3 and str(exc).startswith("corner_rounding = ")
    else:  # nearly the disc of the inradius
        assert spec.outline.geom_type == "Polygon" and spec.outline.is_valid
        assert spec.outline.area == pytest.approx(np.pi * (30.0 * limit * per_unit) ** 2, rel=0.05)
