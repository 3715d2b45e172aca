"""Benchmark of one interacting dynamics step (forces by cell list, drift, noise, hard core) for
200, 2,000 and 20,000 particles at a fixed area fraction: the cost should grow linearly.

Run the timings with ``python -m pytest tests/dynamics/test_bench_dynamics.py --benchmark-enable``.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.dynamics.integrate import Sites, overdamped_steps
from simulator.dynamics.interactions import InteractionParams, interaction_sites
from simulator.dynamics.motion import NoiseStream
from simulator.shapes import make_shape

PRM = InteractionParams.from_physical(ionic_strength_M=1e-2, surface_potential_mV=-30, hamaker_J=1e-19)


def _system(n: int, seed: int = 0):
    """Rods and prisms of ~20 nm on a jittered square lattice of 40 nm spacing (area fraction ~0.15)."""
    rng = np.random.default_rng(seed)
    shapes = [interaction_sites(make_shape(k, 10.0, aspect_ratio=2.0, thickness_ratio=0.3, truncation=0.1).outline)
              for k in ("rod", "prism")]
    sites = Sites([shapes[i % 2][0] for i in range(n)], [shapes[i % 2][1] for i in range(n)])
    side = int(np.ceil(np.sqrt(n)))
    pos = (np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n] * 40.0
           + rng.uniform(-4, 4, (n, 2)))
    lo, hi = np.full((n, 2), -20.0), np.full((n, 2), side * 40.0)
    return sites, pos, rng.uniform(0, 2 * np.pi, n), lo, hi


@pytest.mark.parametrize("n", [200, 2_000, 20_000])
def test_one_interacting_step(benchmark, n):
    sites, pos, ang, lo, hi = _system(n)
    d = np.full(n, 50.0)
    noise = NoiseStream("brownian", n, rng=1)
    rejected = benchmark(overdamped_steps, pos, ang, d, d, np.full(n, 0.1), dt=0.005, steps=1, lo=lo, hi=hi,
                         noise=noise, sites=sites, params=PRM)
    assert 0 <= rejected <= n
    assert not sites.overlapping(pos, ang, PRM.core_nm).any()
