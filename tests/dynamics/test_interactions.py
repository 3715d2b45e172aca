"""Pair interactions against their oracles: forces = −∇U, torques = −∂U/∂θ, the cell list against
all pairs, the Debye length, no overlaps under the hard core, and the pair potential recovered by
Boltzmann inversion of a dilute simulation."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.dynamics.integrate import Sites, overdamped_steps
from simulator.dynamics.interactions import (InteractionParams, debye_length_nm, interaction_sites,
                                             pair_potential_table, site_pair_energy, sites_lab)
from simulator.dynamics.motion import NoiseStream
from simulator.shapes import make_shape

ENGINES = ["numba", "numpy"]
PRM = InteractionParams.from_physical(ionic_strength_M=1e-2, surface_potential_mV=-35, hamaker_J=2e-20, core_nm=0.5)


def test_debye_length_matches_israelachvili():
    # κ⁻¹ = 0.304 nm / sqrt(I / M) for a 1:1 electrolyte at 25 °C (Israelachvili 2011, eq. 14.36)
    for ionic in (1e-3, 1e-2, 0.1):
        assert debye_length_nm(ionic) == pytest.approx(0.304 / np.sqrt(ionic), rel=0.01)


def test_sites_follow_the_shape():
    kw = dict(aspect_ratio=3.0, thickness_ratio=0.25, truncation=0.08)
    counts = {n: len(interaction_sites(make_shape(n, 30.0, **kw).outline)[0])
              for n in ("sphere", "rod", "prism", "cube", "hexagonal-plate")}
    assert counts == {"sphere": 1, "rod": 3, "prism": 4, "cube": 5, "hexagonal-plate": 1}
    body, radius = interaction_sites(make_shape("rod", 30.0, **kw).outline)
    assert radius == pytest.approx([15.0, 15.0, 15.0], rel=0.02)  # end caps of a spherocylinder


def _scene(n, seed, spacing=40.0):
    """Mixed shapes on a jittered grid without overlaps."""
    rng = np.random.default_rng(seed)
    names = ["sphere", "rod", "prism", "cube"]
    bodies, radii = [], []
    for i in range(n):
        b, r = interaction_sites(make_shape(names[i % 4], 12.0, aspect_ratio=2.5, thickness_ratio=0.3,
                                            truncation=0.1).outline)
        bodies.append(b)
        radii.append(r)
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n] * spacing
    pos = grid + rng.uniform(-3, 3, (n, 2))
    return Sites(bodies, radii), pos.astype(float), rng.uniform(0, 2 * np.pi, n)


@pytest.mark.parametrize("engine", ENGINES)
def test_forces_and_torques_are_minus_the_gradient(engine):
    sites, pos, ang = _scene(9, 0, spacing=32.0)
    force, torque, e0 = sites.forces(pos, ang, PRM, engine=engine)
    assert np.abs(force).max() > 1e-3  # the test configuration interacts
    eps = 1e-5
    for i in range(9):
        for ax in range(2):
            p = pos.copy()
            p[i, ax] += eps
            num = -(sites.forces(p, ang, PRM, engine=engine)[2] - e0) / eps
            assert force[i, ax] == pytest.approx(num, rel=1e-3, abs=1e-6)
        a = ang.copy()
        a[i] += eps
        assert torque[i] == pytest.approx(-(sites.forces(pos, a, PRM, engine=engine)[2] - e0) / eps,
                                          rel=1e-3, abs=1e-6)


def test_energy_is_the_sum_of_site_pair_energies():
    sites, pos, ang = _scene(16, 1, spacing=30.0)
    xy = sites_lab(pos, ang, sites.body, sites.owner)
    i, j = np.triu_indices(len(xy), 1)
    keep = sites.owner[i] != sites.owner[j]
    r = np.hypot(*(xy[i[keep]] - xy[j[keep]]).T)
    expect = site_pair_energy(r, sites.radius[i[keep]], sites.radius[j[keep]], PRM).sum()
    assert sites.forces(pos, ang, PRM)[2] == pytest.approx(expect, rel=1e-10)


def test_cell_list_kernel_matches_all_pairs_reference():
    sites, pos, ang = _scene(300, 2, spacing=28.0)
    f1, t1, e1 = sites.forces(pos, ang, PRM, engine="numba")
    f2, t2, e2 = sites.forces(pos, ang, PRM, engine="numpy")
    np.testing.assert_allclose(f1, f2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(t1, t2, rtol=1e-9, atol=1e-12)
    assert e1 == pytest.approx(e2, rel=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_hard_core_prevents_overlaps_in_a_sticky_dense_system(engine):
    sticky = InteractionParams.from_physical(ionic_strength_M=0.5, surface_potential_mV=-10, hamaker_J=4e-19,
                                             core_nm=1.0)
    sites, pos, ang = _scene(36, 3, spacing=34.0)
    assert not sites.overlapping(pos, ang, 1.0).any()
    n = len(pos)
    d = np.full(n, 200.0)
    lo, hi = np.full((n, 2), -20.0), np.full((n, 2), 150.0)
    rec: list = []
    rejected = overdamped_steps(pos, ang, d, d, np.full(n, 0.5), dt=0.01, steps=60, lo=lo, hi=hi,
                                noise=NoiseStream("brownian", n, rng=4), sites=sites, params=sticky,
                                engine=engine, record=rec)
    assert rejected > 0  # the core was actually hit
    for p, a in rec[::5]:
        xy = sites_lab(p, a, sites.body, sites.owner)
        i, j = np.triu_indices(len(xy), 1)
        keep = sites.owner[i] != sites.owner[j]
        gap = np.hypot(*(xy[i[keep]] - xy[j[keep]]).T) - sites.radius[i[keep]] - sites.radius[j[keep]]
        assert gap.min() >= 1.0 - 1e-9


def test_potential_table_of_spheres_is_the_site_potential():
    body, radius = np.zeros((1, 2)), np.array([4.0])
    r = np.arange(9.0, 25.0, 0.5)
    rows = pair_potential_table(body, radius, body, radius, PRM, r, n_angles=4)
    np.testing.assert_allclose([row["U_kT"] for row in rows], site_pair_energy(r, 4.0, 4.0, PRM))


def _square_distance_pdf(r, side):
    """pdf of the distance between two uniform points in a square (r ≤ side)."""
    return 2 * r / side**4 * (np.pi * side**2 - 4 * side * r + r**2)


def test_boltzmann_inversion_recovers_the_pair_potential():
    # K independent pairs of spheres (a = 4 nm), each pair confined to its own 40 nm box.
    K, a, side = 400, 4.0, 40.0
    n = 2 * K
    box = np.repeat(np.arange(K), 2) * (side + 200.0)
    lo = np.stack([box, np.zeros(n)], 1)
    hi = lo + side
    rng = np.random.default_rng(5)
    pos = lo + rng.uniform(0, side, (n, 2))
    for k in range(K):  # start without overlap
        while np.hypot(*(pos[2 * k] - pos[2 * k + 1])) < 2 * a + PRM.core_nm:
            pos[2 * k + 1] = lo[2 * k + 1] + rng.uniform(0, side, 2)
    sites = Sites([np.zeros((1, 2))] * n, [np.array([a])] * n)
    ang = np.zeros(n)
    d = np.full(n, 1.0)
    noise = NoiseStream("brownian", n, rng=6)
    kw = dict(dt=0.025, lo=lo, hi=hi, noise=noise, sites=sites, params=PRM)
    overdamped_steps(pos, ang, d, d, np.zeros(n), steps=5000, **kw)
    dist = []
    for _ in range(300):
        overdamped_steps(pos, ang, d, d, np.zeros(n), steps=50, **kw)
        dist.append(np.hypot(*(pos[0::2] - pos[1::2]).T))
    dist = np.concatenate(dist)
    edges = np.arange(2 * a + PRM.core_nm, 30.0, 0.5)
    mid = (edges[1:] + edges[:-1]) / 2
    hist = np.histogram(dist, edges)[0] / dist.size / np.diff(edges)
    g = hist / _square_distance_pdf(mid, side)
    tail = mid > 2 * a + PRM.cut_nm
    g /= g[tail].mean()
    u_true = site_pair_energy(mid, a, a, PRM)
    ok = g > 0.1
    assert ok[:4].any()  # the close range is sampled
    err = np.abs(-np.log(g[ok]) - u_true[ok])
    assert err.max() < 0.3, (mid[ok][np.argmax(err)], err.max())
