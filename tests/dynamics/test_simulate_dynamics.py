"""The dynamics inside a simulated video: every model moves the particles reproducibly, the
interacting presets write their pair potential, nothing overlaps under the hard core, and no
random step outgrows dynamics.max_step_nm when reactions make particles faster or nuclei appear in
a scene that starts empty."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.config import list_presets, load_config
from simulator.simulate import Simulation, simulate_video

SMALL = ["video.frames=4", "video.height_px=96", "video.width_px=96", "detector.model=ideal",
         "dynamics.boundary=reflect"]  # every particle stays in view, so positions line up by frame


def _xy(video):
    n = len({r["id"] for r in video.particles})
    return np.array([[r["x_nm"], r["y_nm"]] for r in video.particles]).reshape(-1, n, 2)


@pytest.mark.parametrize("model", ["brownian", "fbm", "ctrw"])
def test_models_move_particles_reproducibly(model):
    cfg = load_config("brownian-prisms", overrides=SMALL + [f"dynamics.model={model}", "particles.count=4"])
    a, b = simulate_video(cfg, seed=1), simulate_video(cfg, seed=1)
    assert np.array_equal(a.frames, b.frames) and a.particles == b.particles
    xy = _xy(a)
    assert np.abs(xy[-1] - xy[0]).max() > 0.1
    assert all(r["D_nm2_s"] > 0 and r["Dr_rad2_s"] > 0 for r in a.particles)


def test_flow_carries_particles_downstream():
    cfg = load_config("brownian-prisms", overrides=SMALL + ["particles.count=4", "dynamics.slowdown=1e-9",
                                                            "dynamics.flow_nm_s=[50.0, 0.0]"])
    xy = _xy(simulate_video(cfg, seed=2))
    # 3 frame intervals of 0.1 s at 50 nm/s: 15 nm downstream (diffusion is negligible here)
    np.testing.assert_allclose(xy[-1, :, 0] - xy[0, :, 0], 15.0, atol=0.2)


def test_interacting_preset_writes_potential_and_keeps_the_hard_core():
    cfg = load_config("assembly-cubes", overrides=SMALL + ["dynamics.interactions=true", "particles.count=6"])
    sim = Simulation(cfg, seed=3)
    for _ in sim.frames():
        assert not sim._sites.overlapping(sim.positions_nm, sim.angles, cfg.dynamics.hard_core_nm).any()
    pot = sim.potential
    assert pot and set(pot[0]) == {"r_nm", "U_kT"}
    r = np.array([row["r_nm"] for row in pot])
    u = np.array([row["U_kT"] for row in pot])
    assert np.all(np.diff(r) > 0) and np.isfinite(u).all()
    assert abs(u[-1]) < 0.05  # beyond the cut-off the potential vanishes


def test_static_scene_ignores_interactions():
    cfg = load_config("assembly-cubes", overrides=SMALL + ["dynamics.model=static", "dynamics.interactions=true",
                                                           "particles.count=6"])
    video = simulate_video(cfg, seed=4)
    xy = _xy(video)
    assert video.potential is None and np.array_equal(xy[0], xy[-1])


def test_etching_shrinks_then_dissolves_with_consistent_lineage():
    cfg = load_config("etching-rods", overrides=["video.frames=12", "video.height_px=96", "video.width_px=96",
                                                 "detector.model=ideal", "particles.count=3",
                                                 "reactions.etch_rate_nm_s=4.0"])
    video = simulate_video(cfg, seed=5)
    by_id: dict[int, list] = {}
    for r in video.particles:
        by_id.setdefault(r["id"], []).append((r["frame"], r["area_nm2"]))
    for rows in by_id.values():
        assert np.all(np.diff([a for _, a in rows]) < 0)  # every frame smaller than the last
    dissolved = {int(e["ids"]): e["frame"] for e in video.events if e["kind"] == "dissolve"}
    assert dissolved  # 4 nm/s at 150 e/Å²/s for 2.2 s dissolves ~14 nm rods
    tracks = {t["id"]: t for t in video.tracks}
    for i, f in dissolved.items():
        assert tracks[i]["last_frame"] == f - 1 == max(fr for fr, _ in by_id[i])
        assert not (video.labels[f:] == i).any()


def test_coalescence_and_nucleation_conserve_volume_and_lineage():
    cfg = load_config("growth-coalescence", overrides=["video.frames=12", "video.height_px=96", "video.width_px=96",
                                                       "detector.model=ideal", "reactions.etch_rate_nm_s=0.0",
                                                       "dynamics.boundary=reflect",
                                                       "reactions.nucleation_rate_per_um2_s=2000", "particles.count=12"])
    video = simulate_video(cfg, seed=3)
    kinds = [e["kind"] for e in video.events]
    assert "merge" in kinds and "nucleate" in kinds
    rows = {(r["frame"], r["id"]): r for r in video.particles}
    tracks = {t["id"]: t for t in video.tracks}

    def volume(r):  # spheres: thickness is the diameter
        return np.pi / 6 * r["thickness_nm"] ** 3

    for e in video.events:
        f = e["frame"]
        if e["kind"] == "merge":
            a, b, child = map(int, e["ids"].split())
            assert tracks[child]["parents"] == f"{a} {b}" and tracks[child]["first_frame"] == f
            assert tracks[a]["last_frame"] == tracks[b]["last_frame"] == f - 1
            assert volume(rows[(f, child)]) == pytest.approx(volume(rows[(f - 1, a)]) + volume(rows[(f - 1, b)]),
                                                              rel=1e-9)
            assert (video.labels[f] == child).any() and not (video.labels[f:] == a).any()
        elif e["kind"] == "nucleate":
            assert tracks[int(e["ids"])]["first_frame"] == f
    for t in video.tracks:  # every track is in the table exactly from first to last frame
        frames = sorted(fr for fr, i in rows if i == t["id"])
        assert frames == list(range(t["first_frame"], t["last_frame"] + 1))


def test_open_boundary_particles_leave_and_enter_and_labels_match_tracks():
    cfg = load_config("brownian-prisms", overrides=["video.frames=30", "video.height_px=64", "video.width_px=64",
                                                    "detector.model=ideal", "particles.count=4",
                                                    "particles.size_nm=12", "dynamics.slowdown=1e-4",
                                                    "dynamics.interactions=false"])
    video = simulate_video(cfg, seed=7)
    kinds = [e["kind"] for e in video.events]
    assert "leave" in kinds and "enter" in kinds
    tracks = {t["id"]: t for t in video.tracks}
    counts = []
    for t in range(video.labels.shape[0]):
        shown = set(np.unique(video.labels[t])) - {0}
        assert shown == {r["id"] for r in video.particles if r["frame"] == t}
        assert all(tracks[i]["first_frame"] <= t <= tracks[i]["last_frame"] for i in shown)
        counts.append(len(shown))
    for tr in video.tracks:  # tracks are runs of consecutive frames (Cell Tracking Challenge)
        assert all((video.labels[f] == tr["id"]).any() for f in range(tr["first_frame"], tr["last_frame"] + 1))
    # the count in view stays steady: no drain through the field edges (first vs second half)
    assert abs(np.mean(counts[:15]) - np.mean(counts[15:])) < 0.35 * np.mean(counts) and min(counts) >= 1


def test_etched_rod_diffuses_faster_as_it_shortens():
    from simulator.hydrodynamics import rod_diffusion

    cfg = load_config("etching-rods", overrides=["video.frames=8", "video.height_px=96", "video.width_px=96",
                                                 "detector.model=ideal", "particles.count=2",
                                                 "dynamics.boundary=reflect", "reactions.etch_rate_nm_s=2.0"])
    sim = Simulation(cfg, seed=4)
    dyn = cfg.dynamics
    d_seen = []
    for out in sim.frames():
        d_seen.append(out.particles[0]["D_nm2_s"])
        spec = sim.specs[0]
        minx, _, maxx, _ = spec.outline.bounds
        par, perp, rot = rod_diffusion(maxx - minx, spec.height_nm, temperature_K=dyn.temperature_K,
                                       viscosity_Pa_s=dyn.viscosity_Pa_s)
        assert out.particles[0]["D_nm2_s"] == pytest.approx(dyn.slowdown * (par + perp) / 2, rel=1e-12)
        assert out.particles[0]["Dr_rad2_s"] == pytest.approx(dyn.slowdown * rot, rel=1e-12)
    assert np.all(np.diff(d_seen) > 0)


# Interacting particles that reactions make faster: spheres etched anisotropically into lenses
# (2 nm/s, anisotropy 5), and nuclei of 0.8 nm radius among 5 nm spheres (no growth).
ETCHING = ["video.frames=12", "video.height_px=96", "video.width_px=96", "detector.model=ideal",
           "particles.count=2", "dynamics.boundary=reflect", "dynamics.interactions=true",
           "particles.shapes={sphere=1.0}", "reactions.etch_rate_nm_s=2.0", "reactions.anisotropy=5.0"]
NUCLEATION = ["video.frames=8", "video.height_px=96", "video.width_px=96", "detector.model=ideal",
              "particles.count=6", "dynamics.boundary=reflect", "dynamics.interactions=true",
              "reactions.etch_rate_nm_s=0.0", "reactions.nucleus_radius_nm=0.8",
              "reactions.nucleation_rate_per_um2_s=2000"]


def _spy_steps(monkeypatch) -> list[tuple[float, float]]:
    """(dt, largest of max(D∥, D⊥)) of every call of the integrator, as it is called."""
    from simulator import simulate

    calls, real = [], simulate.overdamped_steps

    def spy(pos, angle, d_par, d_perp, d_rot, *, dt, **kw):
        calls.append((dt, float(np.maximum(d_par, d_perp).max())))
        return real(pos, angle, d_par, d_perp, d_rot, dt=dt, **kw)

    monkeypatch.setattr(simulate, "overdamped_steps", spy)
    return calls


@pytest.mark.parametrize("preset, overrides", [("etching-rods", ETCHING), ("growth-coalescence", NUCLEATION)],
                         ids=["etching", "nucleation"])
def test_interacting_particles_that_reactions_make_faster_keep_their_step_under_max_step(
        monkeypatch, preset, overrides):
    """Every step the integrator takes, the fastest particle's rms random step sqrt(2 D dt) stays
    under dynamics.max_step_nm, though the reactions make particles faster than the first frame's
    (with the first frame's sub-step throughout: 2.0 and 1.7 times max_step_nm here)."""
    cfg = load_config(preset, overrides=overrides)
    calls = _spy_steps(monkeypatch)
    sim = Simulation(cfg, seed=3)
    d_start = float(np.maximum(sim.d_par, sim.d_perp).max())
    events = [e["kind"] for out in sim.frames() for e in out.events]
    assert ("dissolve" if preset == "etching-rods" else "nucleate") in events
    assert max(d for _, d in calls) > 1.5 * d_start  # the reactions did make a particle faster
    rms_step_nm = max(np.sqrt(2 * d * dt) for dt, d in calls)
    assert rms_step_nm / cfg.dynamics.max_step_nm <= 1 + 1e-12


# A scene that starts without particles: nuclei of 0.8 nm radius appear from the second frame on.
EMPTY = ["video.frames=8", "video.height_px=96", "video.width_px=96", "detector.model=ideal", "particles.count=0",
         "dynamics.boundary=reflect", "dynamics.interactions=true", "reactions.etch_rate_nm_s=0.0",
         "reactions.nucleus_radius_nm=0.8", "reactions.nucleation_rate_per_um2_s=20000"]


def test_nuclei_of_a_scene_that_starts_empty_interact_and_keep_their_step_under_max_step(monkeypatch):
    """The nuclei get interaction sites and forces, the hard core holds, and the sub-step is set
    for them from the start (the frame interval / substeps would give such a nucleus a 3.3 nm rms
    step), so that the noise drawn ahead fits it and it never changes: their rms random step stays
    at dynamics.max_step_nm."""
    cfg = load_config("growth-coalescence", overrides=EMPTY)
    calls = _spy_steps(monkeypatch)
    sim = Simulation(cfg, seed=3)
    dt_start = sim._dt_s
    dt_substeps = cfg.imaging.frame_interval_s / cfg.dynamics.substeps
    for _ in sim.frames():
        assert sim._sites.n == len(sim.specs)
        assert not sim._sites.overlapping(sim.positions_nm, sim.angles, cfg.dynamics.hard_core_nm).any()
    assert len(sim.specs) >= 2
    force, _, energy = sim._sites.forces(sim.positions_nm, sim.angles, sim._params)
    assert np.abs(force).max() > 0 and energy != 0  # every pair is within the 48 nm cut-off here
    d_max = max(d for _, d in calls)
    assert np.sqrt(2 * d_max * dt_substeps) > 5 * cfg.dynamics.max_step_nm
    assert np.sqrt(2 * d_max * dt_start) == pytest.approx(cfg.dynamics.max_step_nm)
    assert sim._dt_s == dt_start
    assert max(np.sqrt(2 * d * dt) for dt, d in calls) / cfg.dynamics.max_step_nm <= 1 + 1e-12


def test_a_scene_that_starts_empty_writes_the_potential_of_two_nuclei():
    """That of a scene of spheres of the nucleus size, the only particles that can appear; none
    without nucleation (the scene stays empty)."""
    nuclei = Simulation(load_config("growth-coalescence", overrides=EMPTY), seed=1).potential
    spheres = Simulation(load_config("growth-coalescence", overrides=EMPTY + [
        "particles.count=3", "particles.size_nm=1.6", "particles.size_cv=0.0"]), seed=1).potential
    assert nuclei and nuclei == spheres
    empty = load_config("growth-coalescence", overrides=EMPTY + ["reactions.nucleation_rate_per_um2_s=0"])
    video = simulate_video(empty, seed=1)
    assert video.potential is None and not video.particles


def test_an_etched_sphere_outruns_a_sphere_of_the_critical_radius():
    """Why the sub-step is not bounded once at the start by a particle of the critical radius:
    anisotropic etching flattens a sphere into a lens thinner than the critical diameter (a 40 nm
    sphere at anisotropy 10: 2.5 times the D of a sphere of the critical radius, and more than
    the 6π/12 = 1.57 times of a thin disc of that radius)."""
    from simulator.shapes import make_shape

    cfg = load_config("etching-rods", overrides=ETCHING + [
        "reactions.anisotropy=10.0", "reactions.etch_rate_nm_s=1.0", "particles.size_nm=40.0", "video.frames=40",
        "imaging.frame_interval_s=0.05", "imaging.exposure_s=0.02"])
    sim = Simulation(cfg, seed=0)
    d_critical = sim._diffusion(make_shape("sphere", 2 * cfg.reactions.critical_radius_nm))[0]
    d_seen = [float(sim.d_par.max(initial=0.0)) for _ in sim.frames()]
    assert max(d_seen) > 2 * d_critical


def test_a_step_count_too_large_after_reactions_is_refused_naming_the_frame(monkeypatch):
    from simulator import simulate
    from simulator.errors import ConfigError

    cfg = load_config("etching-rods", overrides=ETCHING)
    sim = Simulation(cfg, seed=3)
    monkeypatch.setattr(simulate, "_MAX_STEPS_PER_FRAME", int(np.ceil(cfg.imaging.frame_interval_s / sim._dt_s)))
    with pytest.raises(ConfigError, match=r"^dynamics: \d+ integration steps per frame from frame \d+ on \(after "
                                          r"reactions made a particle faster\) .* more than \d+; lower "
                                          r"dynamics.slowdown \(2e-06\), raise dynamics.max_step_nm or shorten "
                                          r"imaging.frame_interval_s$"):
        for _ in sim.frames():
            pass


# Interactions reduced to the hard core (no DLVO forces) among a few 25 nm spheres of one size, so
# that a step's displacement is its random step; D = 34 nm^2/s, frame interval τ = 0.1 s.
HARD_CORE = ["video.frames=20", "video.height_px=128", "video.width_px=128", "detector.model=ideal",
             "dynamics.boundary=reflect", "particles.shapes={sphere=1.0}", "particles.size_cv=0.0",
             "particles.count=6", "dynamics.interactions=true", "dynamics.hamaker_J=0",
             "dynamics.surface_potential_mV=0"]


def _rms_step_per_axis(dt_s: float, d_nm2_s: float, tau_s: float, model: str, hurst: float) -> float:
    """The rms random step per axis over one step (nm): sqrt(2 D dt) (brownian, a ctrw mobile
    spell), sqrt(2 D τ) (dt/τ)^H for fbm (MSD 4 D τ (t/τ)^(2H), simulator.config.DynamicsConfig)."""
    if model == "fbm":
        return float(np.sqrt(2 * d_nm2_s * tau_s) * (dt_s / tau_s) ** hurst)
    return float(np.sqrt(2 * d_nm2_s * dt_s))


@pytest.mark.parametrize("model, hurst", [("brownian", 0.5), ("fbm", 0.35), ("fbm", 0.7), ("ctrw", 0.5)],
                         ids=["brownian", "fbm-0.35", "fbm-0.7", "ctrw"])
def test_the_measured_random_step_of_every_model_stays_under_max_step(monkeypatch, model, hurst):
    """Every step the integrator takes is measured (its recorded positions); the rms displacement
    per axis of the steps that moved (not rejected by the hard core, nor pinned by ctrw) is the
    model's own rms step for the sub-steps taken (within 4 / sqrt(samples), over 5 standard
    errors of sqrt(1 / (2 samples))), and that is under dynamics.max_step_nm.  For fbm of
    H = 0.35 the Brownian rule sqrt(2 D dt) ≤ max_step_nm would give 1.6 times max_step_nm here
    (measured 1.58 with that rule at 30 steps a frame, 0.99 with fbm's own at 115)."""
    from simulator import simulate

    cfg = load_config("brownian-prisms", overrides=HARD_CORE + [f"dynamics.model={model}",
                                                                f"dynamics.hurst={hurst}"])
    real, moves, variances = simulate.overdamped_steps, [], []
    tau, s = cfg.imaging.frame_interval_s, cfg.dynamics.max_step_nm

    def spy(pos, angle, d_par, d_perp, d_rot, *, dt, **kw):
        start, record = pos.copy(), []
        out = real(pos, angle, d_par, d_perp, d_rot, dt=dt, record=record, **kw)
        step = np.diff(np.stack([start] + [p for p, _ in record]), axis=0)  # (steps, N, 2) nm
        moved = (step != 0).any(-1)
        moves.append(step[moved])
        variances.append(np.full(int(moved.sum()), _rms_step_per_axis(dt, d_par[0], tau, model, hurst) ** 2))
        return out

    monkeypatch.setattr(simulate, "overdamped_steps", spy)
    sim = Simulation(cfg, seed=11)
    d = float(sim.d_par[0])
    assert np.all(sim.d_par == d) and np.all(sim.d_perp == d)  # spheres of one size: every axis alike
    for _ in sim.frames():
        pass
    measured = np.concatenate(moves)
    expected_nm = np.sqrt(np.concatenate(variances).mean())
    assert measured.size > 1000
    assert np.sqrt((measured**2).mean()) == pytest.approx(expected_nm, rel=4 / np.sqrt(measured.size))
    assert expected_nm <= s
    assert np.sqrt((measured**2).mean()) <= s * (1 + 4 / np.sqrt(measured.size))
    if model == "fbm" and hurst < 0.5:
        assert _rms_step_per_axis(s**2 / (2 * d), d, tau, model, hurst) > 1.6 * s


def test_fbm_msd_over_a_frame_is_4_D_tau_with_the_shortened_sub_step():
    """The sub-step that keeps fbm's step under max_step_nm (58 steps a frame here, against 18 by
    the Brownian rule and 10 without interactions) leaves the MSD over a frame interval at 4 D τ.
    40 spheres of 20 nm, interactions reduced to the hard core, 100 frames: 3960 squared
    displacements, exponential in 2-D, so a standard error of 1.6 % of the mean; the tolerance
    is 4 of them.  The spheres are large enough that their rotation is slow (Dr = 0.16 rad^2/s):
    the body-frame noise turns with the particle, which decorrelates fGn's anticorrelated
    increments and raises the MSD by sum γ(k-j) exp(-Dr |t_k - t_j|) / n^(2H), 0.3 % here (2.2 %
    for 10 nm spheres)."""
    cfg = load_config("brownian-prisms", overrides=HARD_CORE + [
        "dynamics.model=fbm", "video.frames=100", "video.height_px=320", "video.width_px=320",
        "particles.count=40", "particles.size_nm=20.0", "dynamics.slowdown=1e-6"])
    sim = Simulation(cfg, seed=2)
    tau = cfg.imaging.frame_interval_s
    assert tau / sim._dt_s > 5 * cfg.dynamics.substeps
    rows = [r for out in sim.frames() for r in out.particles]
    n = len({r["id"] for r in rows})
    xy = np.array([[r["x_nm"], r["y_nm"]] for r in rows]).reshape(-1, n, 2)
    d = rows[0]["D_nm2_s"]
    squared = (np.diff(xy, axis=0) ** 2).sum(-1)  # (frames - 1, N) nm^2 over one frame interval
    assert squared.mean() == pytest.approx(4 * d * tau, rel=4 / np.sqrt(squared.size))


@pytest.mark.parametrize("hurst, count", [(0.35, r"\d+"), (0.001, "more than 1e15")])
def test_an_fbm_step_count_too_large_is_refused_in_one_line(hurst, count):
    """At slowdown 1e-3 brownian takes 31,356 steps a frame, fbm of H = 0.35 2.65 million, more
    than _MAX_STEPS_PER_FRAME (at H = 0.001 so many that the sub-step underflows to 0)."""
    from simulator.errors import ConfigError

    cfg = load_config("brownian-prisms", overrides=SMALL + ["dynamics.model=fbm", f"dynamics.hurst={hurst}",
                                                            "dynamics.slowdown=1e-3"])
    Simulation(load_config("brownian-prisms", overrides=SMALL + ["dynamics.slowdown=1e-3"]), seed=1)  # brownian: fine
    with pytest.raises(ConfigError, match=rf"^dynamics: {count} integration steps per frame \(interactions keep each "
                                          rf"step under dynamics.max_step_nm = 0.5 nm for the fastest particle, "
                                          rf"D = [\d.e+]+ nm\^2/s, fbm of dynamics.hurst = {hurst:g}\), more than "
                                          rf"100000; lower dynamics.slowdown \(0.001\), raise dynamics.max_step_nm "
                                          rf"or shorten imaging.frame_interval_s$"):
        Simulation(cfg, seed=1)


@pytest.mark.parametrize("preset", sorted(list_presets()))
def test_presets_keep_their_first_sub_step(preset):
    """No shipped preset has interacting particles that reactions make faster, so every preset
    integrates with the sub-step of its first frame throughout: the steps and the noise drawn,
    hence the bytes, are those of a video whose step is fixed at the start."""
    cfg = load_config(preset, overrides=["video.frames=6", "video.height_px=96", "video.width_px=96",
                                         "detector.model=ideal"])
    sim = Simulation(cfg, seed=0)
    dt_start = sim._dt_s
    for _ in sim.frames():
        assert sim._dt_s == dt_start


@pytest.mark.parametrize("count", [300, 1_000_000])
def test_impossible_density_fails_before_building_the_particles(count):
    from simulator.errors import ConfigError

    # 1e6 prisms would take minutes to build one by one; the area check refuses them first.
    with pytest.raises(ConfigError, match=rf"particles.count = {count}: only \d+ particles .* jams at 55 % cover"):
        Simulation(load_config("brownian-prisms", overrides=[f"particles.count={count}"]), seed=1)


def test_impossible_density_per_um2_names_that_key():
    from simulator.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^particles.density_per_um2 = 5000: only \d+ particles .*\(\d+ in view, "
                                          r"\d+ with its \d+ nm margin\).* lower particles.density_per_um2 or"):
        Simulation(load_config("assembly-cubes", overrides=["particles.density_per_um2=5000"]), seed=1)


def _placement_failures(size: int, seeds) -> list[int]:
    """Seeds at which the default assembly-cubes preset cannot be placed in a ``size`` px field."""
    from simulator.errors import ConfigError

    cfg = load_config("assembly-cubes", overrides=[f"video.height_px={size}", f"video.width_px={size}"])
    failed = []
    for seed in seeds:
        try:
            Simulation(cfg, seed=seed)
        except ConfigError:
            failed.append(seed)
    return failed


@pytest.mark.parametrize("size", [96, 128])
def test_dense_assembly_preset_is_placed_at_small_fields(size):
    # Area fraction 0.17 (density_per_um2 = 610): 6 in view at 96 px, 10 at 128 px, each with its margin.
    assert _placement_failures(size, range(8)) == []


@pytest.mark.slow
@pytest.mark.parametrize("size", [96, 128, 256])
def test_dense_assembly_preset_is_placed_at_every_seed(size):
    assert _placement_failures(size, range(100)) == []
