"""Reactions against their oracles: etched area against the imposed rate, curvature-driven
shrinkage against its ODE, growth, tips faster than sides, volume conservation in merges and a
consistent lineage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from shapely.geometry import Point

from simulator.dynamics.reactions import (Lineage, dose_rate_scaling, etched_thickness, evolve_outline,
                                          merge_outlines, nucleation_count)
from simulator.shapes import make_shape


def _disc(r):
    return Point(0, 0).buffer(r, quad_segs=64)


@pytest.mark.parametrize("rate", [0.8, -0.8])
def test_etched_area_follows_the_imposed_rate(rate):
    out = evolve_outline(_disc(20.0), rate, 5.0, curvature_gain=0.0, spacing_nm=0.5)
    assert out.area == pytest.approx(np.pi * (20.0 - rate * 5.0) ** 2, rel=0.01)


def test_curvature_term_follows_gibbs_thomson_ode():
    k, g, ell, r0, t = 0.5, 1.0, 3.0, 10.0, 8.0
    sol = solve_ivp(lambda _, r: -k * (1 + g * ell / r), (0, t), [r0], rtol=1e-8)
    out = evolve_outline(_disc(r0), k, t, curvature_gain=g, capillary_nm=ell, spacing_nm=0.3)
    assert np.sqrt(out.area / np.pi) == pytest.approx(sol.y[0, -1], rel=0.02)


def test_rod_tips_etch_faster_than_its_sides():
    rod = make_shape("rod", 14.0, aspect_ratio=3.0).outline
    out = evolve_outline(rod, 1.0, 3.0, anisotropy=0.5)
    x0, y0, x1, y1 = rod.bounds
    a0, b0, a1, b1 = out.bounds
    end_loss, side_loss = (x1 - x0 - (a1 - a0)) / 2, (y1 - y0 - (b1 - b0)) / 2
    assert side_loss == pytest.approx(3.0, rel=0.05)
    assert end_loss > 1.5 * side_loss


def test_small_particle_dissolves_completely():
    assert evolve_outline(_disc(2.0), 1.0, 5.0) is None


def test_thickness_shrinks_consistently():
    disc = evolve_outline(_disc(10.0), 1.0, 2.0, curvature_gain=0.0)
    assert etched_thickness(20.0, disc, 1.0, 2.0, rounded=True) == pytest.approx(16.0, rel=0.01)
    assert etched_thickness(8.0, disc, 1.0, 2.0, rounded=False) == pytest.approx(4.0)


def test_dose_rate_scaling_and_nucleation():
    assert dose_rate_scaling(0.5, 400.0, 100.0) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    counts = [nucleation_count(1e-4, 1e4, 2.0, rng=rng) for _ in range(4000)]
    assert np.mean(counts) == pytest.approx(2.0, rel=0.05)


def test_merge_conserves_volume_and_covers_both():
    a, b = _disc(5.0), make_shape("rod", 6.0, aspect_ratio=3.0).outline
    va, vb = a.area * 10.0, b.area * 6.0 * 0.9
    body, centre, h = merge_outlines(a, np.array([0.0, 0.0]), 0.0, va, b, np.array([13.0, 2.0]), 0.4, vb)
    assert body.area * h == pytest.approx(va + vb, rel=1e-12)
    assert body.centroid.distance(Point(0, 0)) < 1e-9
    assert body.buffer(1e-6).contains(Point(-centre[0], -centre[1]).buffer(4.9))  # particle a inside


def test_lineage_is_consistent():
    lin = Lineage()
    assert lin.view(0, [10, 11, 12]) == {10: 1, 11: 2, 12: 3}
    lin.view(4, [10, 11, 12])
    lin.record("merge", [10, 11, 13])  # 10 and 11 coalesce into 13
    assert lin.view(5, [12, 13]) == {12: 3, 13: 4}
    lin.record("dissolve", [12])
    lin.record("nucleate", [14])
    lin.view(6, [13, 14])
    lin.view(7, [14, 15])  # 13 leaves the field, 15 comes in
    lin.view(8, [13, 14, 15])  # 13 comes back: a new track
    tracks = {t["id"]: t for t in lin.tracks}
    assert tracks[4]["parents"] == "1 2" and tracks[4]["first_frame"] == 5
    for p in (1, 2):
        assert tracks[p]["last_frame"] == 4 < tracks[4]["first_frame"]
    assert tracks[3]["last_frame"] == 5 and tracks[5]["first_frame"] == 6 and tracks[4]["last_frame"] == 6
    assert tracks[6]["first_frame"] == 7 and tracks[7] == {"id": 7, "first_frame": 8, "last_frame": 8, "parents": ""}
    assert [(e["frame"], e["kind"], e["ids"]) for e in lin.events] == [
        (5, "merge", "1 2 4"), (6, "dissolve", "3"), (6, "nucleate", "5"), (7, "leave", "4"), (7, "enter", "6"),
        (8, "enter", "7")]
    assert len({t["id"] for t in lin.tracks}) == len(lin.tracks) == 7
