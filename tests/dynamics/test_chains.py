"""Chains from the contact graph: known components, deterministic ids, and self-assembly of the
``assembly-cubes`` preset in its dense variant (mean chain size grows from a dispersed start;
without attraction it does not)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, box

from simulator.config import load_config
from simulator.dynamics.chains import chain_ids, contact_components, mean_chain_size
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


def _box_chain_sizes(overrides, seeds=(1, 2), frames=20):
    """Mean chain size over every particle of the simulation box, at frame 0 and after ``frames``."""
    cfg = load_config("assembly-cubes", overrides=["particles.count=40", *overrides])  # the dense variant
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


def test_assembly_cubes_chain_and_hard_cores_alone_do_not():
    grown = _box_chain_sizes([])
    # Attraction off, hard core kept (with dynamics.interactions = false the particles would pass
    # through each other, and the contact graph would count overlaps of an ideal gas instead).
    still = _box_chain_sizes(["dynamics.hamaker_J=0", "dynamics.surface_potential_mV=0"])
    frames = np.arange(len(grown))
    assert grown[0] < 1.2 and still[0] < 1.2  # a dispersed start
    # With attraction the mean size keeps growing (measured: 1.07 -> 1.95 in 20 frames) ...
    assert grown[-1] > 1.5 * grown[0] and np.polyfit(frames, grown, 1)[0] > 0.02
    # ... without, it relaxes within a frame to the contacts of hard particles (~1.2) and stays there.
    assert abs(np.polyfit(frames[2:], still[2:], 1)[0]) < 0.006 and still[-1] < 1.35 < grown[-1]


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
