"""Brownian motion against its oracles: MSD = 4Dt, rotational MSD = 2Dr t, the hydrodynamic
formulas, and the numba kernel against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.brownian import brownian_steps, step_numba, step_numpy
from simulator.config import load_config
from simulator.hydrodynamics import K_B, rod_diffusion, sphere_diffusion
from simulator.simulate import simulate_video

ENGINES = ["numba", "numpy"]


def _free(n, engine, d_par=50.0, d_perp=50.0, d_rot=0.5, steps=50, dt=0.01, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.zeros((n, 2))
    ang = rng.uniform(0, 2 * np.pi, n)
    big = np.full((n, 2), 1e9)
    rec = []
    brownian_steps(pos, ang, np.full(n, d_par), np.full(n, d_perp), np.full(n, d_rot), dt=dt, steps=steps,
                   lo=-big, hi=big, rng=rng, engine=engine, record=rec)
    return rec, ang


@pytest.mark.parametrize("engine", ENGINES)
def test_msd_is_4Dt_and_rotational_msd_is_2Drt(engine):
    rec, _ = _free(4000, engine)
    pos = np.stack([r[0] for r in rec])
    ang = np.stack([r[1] for r in rec])
    for lag in (10, 40):
        msd = ((pos[lag:] - pos[:-lag]) ** 2).sum(-1).mean()
        assert msd == pytest.approx(4 * 50.0 * lag * 0.01, rel=0.05)
        rmsd = ((ang[lag:] - ang[:-lag]) ** 2).mean()
        assert rmsd == pytest.approx(2 * 0.5 * lag * 0.01, rel=0.05)


@pytest.mark.parametrize("engine", ENGINES)
def test_anisotropic_body_frame_diffusion(engine):
    # Without rotation, displacements along the body axis have variance 2 D_par t.
    n = 4000
    rng = np.random.default_rng(1)
    pos = np.zeros((n, 2))
    ang = np.full(n, 0.3)
    big = np.full((n, 2), 1e9)
    brownian_steps(pos, ang, np.full(n, 90.0), np.full(n, 10.0), np.zeros(n), dt=0.01, steps=20,
                   lo=-big, hi=big, rng=rng, engine=engine)
    axis = np.array([np.cos(0.3), np.sin(0.3)])
    along = pos @ axis
    across = pos @ np.array([-axis[1], axis[0]])
    assert along.var() == pytest.approx(2 * 90.0 * 0.2, rel=0.06)
    assert across.var() == pytest.approx(2 * 10.0 * 0.2, rel=0.06)


def test_kernel_matches_reference():
    rng = np.random.default_rng(2)
    n = 50
    pos = rng.uniform(0, 100, (n, 2))
    ang = rng.uniform(0, 6, n)
    d = rng.uniform(1, 500, (3, n))
    noise = rng.standard_normal((n, 3))
    lo, hi = np.zeros((n, 2)), np.full((n, 2), 100.0)
    p1, a1, p2, a2 = pos.copy(), ang.copy(), pos.copy(), ang.copy()
    step_numba(p1, a1, d[0], d[1], d[2], 0.5, noise, lo, hi)
    step_numpy(p2, a2, d[0], d[1], d[2], 0.5, noise, lo, hi)
    np.testing.assert_allclose(p1, p2, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a1, a2)
    assert (p1 >= 0).all() and (p1 <= 100).all()


def test_reflecting_walls_keep_a_uniform_density():
    n = 3000
    rng = np.random.default_rng(3)
    pos = np.full((n, 2), 5.0)
    ang = np.zeros(n)
    lo, hi = np.zeros((n, 2)), np.full((n, 2), 10.0)
    brownian_steps(pos, ang, np.full(n, 100.0), np.full(n, 100.0), np.zeros(n), dt=0.05, steps=40,
                   lo=lo, hi=hi, rng=rng)
    hist = np.histogram(pos[:, 0], bins=5, range=(0, 10))[0]
    assert hist.min() > 0.8 * n / 5


def test_stokes_einstein_and_tirado_formulas():
    # A 20 nm sphere in water at 20 C: kT/(6 pi eta R) = 2.14e-11 m^2/s.
    D, _, Dr = sphere_diffusion(10.0, temperature_K=293.15, viscosity_Pa_s=1.002e-3)
    assert D == pytest.approx(K_B * 293.15 / (6 * np.pi * 1.002e-3 * 10e-9) * 1e18)
    assert D == pytest.approx(2.14e7, rel=0.01)
    assert Dr == pytest.approx(K_B * 293.15 / (8 * np.pi * 1.002e-3 * 1e-24))
    # Rod of aspect ratio 5: D_par / D_perp = 2 (ln p + nu_par) / (ln p + nu_perp).
    dpar, dperp, _ = rod_diffusion(50.0, 10.0, temperature_K=293.15, viscosity_Pa_s=1.002e-3)
    p = 5.0
    nu_par = -0.207 + 0.980 / p - 0.133 / p**2
    nu_perp = 0.839 + 0.185 / p + 0.233 / p**2
    assert dpar / dperp == pytest.approx(2 * (np.log(p) + nu_par) / (np.log(p) + nu_perp))
    assert 1.0 < dpar / dperp < 2.0  # a rod diffuses faster along its axis


def test_rod_mean_diffusion_matches_the_separately_published_mean():
    """The orientation average (D∥ + 2 D⊥)/3 of the component formulas against the paper's own,
    separately fitted mean, ``kT (ln p + ν) / (3 π η L)``, ``ν = 0.312 + 0.565/p − 0.100/p²``
    (Tirado, Martínez & García de la Torre, J. Chem. Phys. 81, 2047 (1984)): two fits to the same
    bead-model hydrodynamics agree to 4 % at p = 2 and better than 0.5 % from p = 10 on; and the
    anisotropy D∥/D⊥ grows with p towards the slender-body limit of 2 (Batchelor, J. Fluid
    Mech. 44, 419 (1970))."""
    kw = dict(temperature_K=293.15, viscosity_Pa_s=1.002e-3)
    kT, eta = K_B * 293.15, 1.002e-3
    ratios = []
    for p in [2.0, 3.0, 5.0, 10.0, 20.0, 30.0]:
        length = 10.0 * p  # nm, 10 nm wide
        dpar, dperp, _ = rod_diffusion(length, 10.0, **kw)
        nu = 0.312 + 0.565 / p - 0.100 / p**2
        mean = kT * (np.log(p) + nu) / (3 * np.pi * eta * length * 1e-9) * 1e18
        assert (dpar + 2 * dperp) / 3 == pytest.approx(mean, rel=0.045 if p < 10 else 0.005)
        ratios.append(dpar / dperp)
    assert np.all(np.diff(ratios) > 0) and ratios[-1] < 2.0


def test_stubby_rods_go_over_to_the_sphere_of_their_volume():
    """Below p = 2 (outside Tirado's range) the coefficients run from a rod as wide at p = 2 down
    to the sphere of the same volume at p = 1: there D∥ = D⊥ and all three are Stokes-Einstein's;
    they fall as the rod lengthens and join Tirado's values at p = 2 without a step."""
    kw = dict(temperature_K=293.15, viscosity_Pa_s=1.002e-3)
    d = 14.0
    radius = (3 * (np.pi * d**2 / 4 * d) / (4 * np.pi)) ** (1 / 3)
    np.testing.assert_allclose(rod_diffusion(d, d, **kw), sphere_diffusion(radius, **kw), rtol=1e-12)
    lengths = np.linspace(d, 2 * d, 21)
    values = np.array([rod_diffusion(L, d, **kw) for L in lengths])
    assert (np.diff(values[:, 1:], axis=0) < 0).all()  # D⊥ and Dr fall as the rod lengthens
    # D∥ stays between its ends (a p = 2 rod moves 2 % faster along its axis than the sphere of
    # its volume); it was 1.4 times the sphere's at p = 1
    assert (values[:, 0] <= values[0, 0] + 1e-9).all()
    np.testing.assert_allclose(rod_diffusion(2 * d * (1 - 1e-9), d, **kw), rod_diffusion(2 * d, d, **kw), rtol=1e-6)


def test_simulated_tracks_recover_D():
    cfg = load_config("brownian-prisms", overrides=[
        "dynamics.model='brownian'", "video.frames=40", "video.height_px=64", "video.width_px=64",
        "particles.count=3", "particles.shapes={sphere=1.0}", "particles.size_nm=10", "particles.size_cv=0",
        "dynamics.slowdown=2e-6", "detector.model='ideal'"])
    video = simulate_video(cfg, seed=4)
    rows = video.particles
    D = rows[0]["D_nm2_s"]
    assert D == pytest.approx(2e-6 * sphere_diffusion(5.0, temperature_K=293.15, viscosity_Pa_s=1.002e-3)[0])
    disp = []
    for pid in {r["id"] for r in rows}:
        xy = np.array([(r["x_nm"], r["y_nm"]) for r in rows if r["id"] == pid])
        disp.append((np.diff(xy, axis=0) ** 2).sum(1))
    msd = np.concatenate(disp).mean()
    # 117 one-frame displacements: the mean of chi^2_2 samples is within ~25 % at 2.5 sigma.
    assert msd == pytest.approx(4 * D * cfg.imaging.frame_interval_s, rel=0.3)
    # Labels follow the table: the centroid of each label is at the particle's mid-exposure position.
    t = 20
    for r in (r for r in rows if r["frame"] == t):
        ys, xs = np.nonzero(video.labels[t] == r["id"])
        assert xs.mean() + 0.5 == pytest.approx(r["x_nm"], abs=1.0)
