"""Chains from the contact graph: known components, deterministic ids, and self-assembly of the
``assembly-cubes`` preset at its defaults and of prisms under the same conditions (mean
chain size grows from a dispersed start; without attraction it does not)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, box

from simulator.config import load_config
from simulator.dynamics.chains import candidate_pairs, chain_ids, contact_components, mean_chain_size
from simulator.simulate import Simulation, simulate_video


def test_contact_components_of_known_layout():
    # three squares in a row 1 nm apart (one chain), a disc 5 nm away from them (alone), a pair 1.5 nm apart
    shapes = [box(0, 0, 10, 10), box(11, 0, 21, 10), box(22, 0, 32, 10), Point(37, 5).buffer(0.0001),
              box(0, 40, 10, 50), box(11.5, 40, 21.5, 50)]
    assert contact_components(shapes, contact_nm=2.0).tolist() == [0, 0, 0, 1, 2, 2]
    assert contact_components(shapes, contact_nm=1.2).tolist() == [0, 0, 0, 1, 2, 3]
    # chain ids: the smallest track id in view; out-of-view members (0) link but do not name
    ids = chain_ids(shapes, np.array([7, 0, 3, 9, 0, 0]), contact_nm=2.0)
    assert ids.tolist() == [3, 3, 3, 9, 0, 0]
    assert mean_chain_size(ids[ids > 0]) == pytest.approx(2.0)  # 4 particles in view, 2 chains


#: The chaining settings: assembly-cubes at its defaults (density 610 /um^2: 40 cubes in view at 256 px), and prisms under the same salt and
#: Hamaker constant (the documented chaining variant of brownian-prisms).
CHAINING = {
    "concave-cubes": ("assembly-cubes", []),
    "prisms": ("brownian-prisms", ["particles.shapes={prism=1.0}", "particles.count=30", "dynamics.ionic_strength_M=0.1",
                                   "dynamics.hamaker_J=3e-19", "dynamics.surface_potential_mV=-25",
                                   "dynamics.slowdown=1e-5"]),
}


def _box_chain_sizes(system, overrides, seeds=(1, 2), frames=12):
    """Mean chain size over every particle of the simulation box, frame by frame."""
    preset, base = CHAINING[system]
    cfg = load_config(preset, overrides=[*base, *overrides])
    out = []
    for seed in seeds:
        sim = Simulation(cfg, seed=seed)
        sizes = []
        for t in range(frames + 1):
            if t:
                sim._advance(cfg.imaging.frame_interval_s)
            comp = contact_components(sim._lab_outlines(), contact_nm=cfg.dynamics.contact_nm)
            sizes.append(comp.size / (comp.max() + 1))
        out.append(sizes)
    return np.mean(out, 0)


@pytest.mark.parametrize("system", sorted(CHAINING))
def test_particles_chain_and_hard_cores_alone_do_not(system):
    grown = _box_chain_sizes(system, [])
    # Attraction off, hard core kept (with dynamics.interactions = false the particles would pass
    # through each other, and the contact graph would count overlaps of an ideal gas instead).
    still = _box_chain_sizes(system, ["dynamics.hamaker_J=0", "dynamics.surface_potential_mV=0"])
    assert grown[0] < 1.2 and still[0] < 1.2  # a dispersed start
    # Without attraction the size relaxes within a frame to the contacts of hard particles
    # (~1.1-1.2) and then only fluctuates; with it, it keeps growing (measured, frames 1-4 -> 9-12:
    # cubes 1.37 -> 1.85, prisms 1.64 -> 2.12; without: 1.17 -> 1.29 and 1.09 -> 1.08).
    rise_grown = grown[-4:].mean() - grown[1:5].mean()
    rise_still = still[-4:].mean() - still[1:5].mean()
    assert rise_grown > 0.35 and rise_grown > 2.5 * rise_still and rise_still < 0.2
    assert grown[-1] > 1.4 * grown[0] and still[-1] < 1.35 < grown[-1]


def test_chain_ids_in_the_table_name_chains_of_touching_particles():
    cfg = load_config("assembly-cubes", overrides=["video.frames=3", "video.height_px=128", "video.width_px=128",
                                                   "detector.model=ideal", "particles.count=14"])
    video = simulate_video(cfg, seed=2)
    for t in range(3):
        rows = [r for r in video.particles if r["frame"] == t]
        ids = {r["id"] for r in rows}
        for r in rows:
            members = [q["id"] for q in rows if q["chain_id"] == r["chain_id"]]
            assert r["chain_id"] in ids and r["chain_id"] == min(members)
    assert any(r["chain_id"] != r["id"] for r in video.particles)  # some particles touch


def _random_layout(preset, seed, n=60, spread_nm=150.0):
    """Outlines of ``preset``'s shapes at random places and angles, dense enough for chains."""
    cfg = load_config(preset, overrides=["video.height_px=256", "video.width_px=256", "dynamics.model='static'"])
    sim = Simulation(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(sim.specs), n)
    sim.specs = [sim.specs[i] for i in k]
    pos, ang = rng.uniform(0, spread_nm, (n, 2)), rng.uniform(0, 2 * np.pi, n)
    return sim, pos, ang


@pytest.mark.parametrize("preset", ["assembly-cubes", "brownian-prisms", "etching-rods"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prefiltered_contacts_equal_the_full_contact_graph(preset, seed):
    sim, pos, ang = _random_layout(preset, seed, spread_nm=[120.0, 200.0, 400.0][seed])
    outlines = sim._lab_outlines(pos, ang)
    radii = np.array([s.radius_nm for s in sim.specs])
    tid = np.random.default_rng(seed).integers(0, 40, len(outlines))
    for contact in (0.5, 2.0, 6.0):
        full = contact_components(outlines, contact_nm=contact)
        built = []
        fast = contact_components(lambda k: built.extend(k) or sim._lab_outlines(pos, ang, index=k),
                                  contact_nm=contact, centres_nm=pos, radii_nm=radii)
        assert fast.tolist() == full.tolist()
        assert chain_ids(outlines, tid, contact_nm=contact).tolist() == chain_ids(
            outlines, tid, contact_nm=contact, centres_nm=pos, radii_nm=radii).tolist()
        if seed == 2:  # sparse: most outlines are never built
            assert len(built) < len(outlines)
    assert full.max() < len(outlines) - 1 or seed == 2  # the dense layouts do have chains


def test_candidate_pairs_hold_every_pair_in_contact():
    rng = np.random.default_rng(4)
    centres, radii = rng.uniform(0, 50, (200, 2)), rng.uniform(0.5, 4, 200)
    discs = [Point(*c).buffer(r, quad_segs=64) for c, r in zip(centres, radii)]
    pairs = {tuple(p) for p in candidate_pairs(centres, radii, contact_nm=1.0).tolist()}
    assert all(i < j for i, j in pairs)
    for i in range(len(discs)):
        for j in range(i + 1, len(discs)):
            if discs[i].distance(discs[j]) <= 1.0:
                assert (i, j) in pairs
    assert len(pairs) < 200 * 199 / 2 / 4  # and not every pair
    assert len(candidate_pairs(centres[:1], radii[:1])) == 0


def test_lab_outlines_are_shapely_affinity_bit_for_bit():
    from shapely import affinity, get_coordinates

    sim, pos, ang = _random_layout("assembly-cubes", 3)
    ang[:4] = [0.0, np.pi / 2, np.pi, -np.pi / 2]  # cos or sin snapped to 0 as shapely does
    for mine, spec, a, xy in zip(sim._lab_outlines(pos, ang), sim.specs, ang, pos):
        ref = affinity.translate(affinity.rotate(spec.outline, a, origin=(0, 0), use_radians=True), *xy)
        assert np.array_equal(get_coordinates(mine), get_coordinates(ref))
    assert [o.area for o in sim._lab_outlines(pos, ang, index=[5, 2])] == pytest.approx(
        [sim.specs[5].outline.area, sim.specs[2].outline.area])
