"""End-to-end simulation: every preset renders, the truth table's contract, HAADF and drift."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.config import list_presets, load_config
from simulator.simulate import Simulation, simulate_video
from simulator.video import PARTICLE_COLUMNS

SMALL = ["video.height_px=64", "video.width_px=64", "video.frames=2", "liquid.variation_nm=0",
         "dynamics.boundary=reflect"]  # particles.count particles, all in view


@pytest.mark.parametrize("preset", sorted(list_presets()))
def test_every_preset_renders_a_small_video(preset):
    cfg = load_config(preset, overrides=[*SMALL, "particles.count=1", "particles.size_cv=0"])
    assert cfg.description
    v = simulate_video(cfg, seed=0)
    assert v.frames.shape == (2, 64, 64) and v.frames.dtype == np.uint16
    assert v.labels.dtype == np.uint32 and set(np.unique(v.labels)) <= {0, 1}
    assert len(v.particles) == 2 and all(tuple(r) == tuple(PARTICLE_COLUMNS)[: len(r)] for r in v.particles)
    assert {"frame", "id", "x_nm", "y_nm", "angle_rad", "area_nm2", "perimeter_nm", "shape", "material",
            "thickness_nm", "D_nm2_s", "Dr_rad2_s"} <= set(v.particles[0])
    assert v.meta.pixel_size_nm == cfg.imaging.pixel_size_nm and v.meta.preset == preset


def test_haadf_particles_are_bright_and_bright_field_particles_dark():
    common = [*SMALL, "particles.count=1", "particles.size_nm=20", "particles.shapes={sphere=1.0}",
              "detector.model=ideal", "dynamics.model=static", "dynamics.interactions=false"]
    bf = simulate_video(load_config("brownian-prisms", overrides=common), seed=1)
    df = simulate_video(load_config("brownian-prisms", overrides=[*common, "imaging.mode=haadf"]), seed=1)
    inside = bf.labels[0] > 0
    # Mean chord of a 20 nm Au sphere 13.3 nm: exp(-13.3 (1/55 - 1/300)) = 0.82 in bright field.
    assert bf.frames[0][inside].mean() < 0.9 * bf.frames[0][~inside].mean()
    assert df.frames[0][inside].mean() > 1.5 * df.frames[0][~inside].mean()


def test_haadf_of_thick_gold_stays_below_the_probe():
    """A 60 nm Au sphere in HAADF: the linear law would record 1.4 probes' worth of electrons at its
    centre; the fraction scattered at least once onto the detector stays below one probe."""
    from simulator.simulate import Simulation

    cfg = load_config("brownian-prisms", overrides=[
        *SMALL, "video.height_px=160", "video.width_px=160", "particles.count=1", "particles.size_nm=60",
        "particles.size_cv=0", "particles.shapes={sphere=1.0}",
        "imaging.mode=haadf", "detector.model=ideal", "dynamics.model=static", "dynamics.interactions=false"])
    sim = Simulation(cfg, seed=2)
    expected, labels = sim.expected_electrons(sim.positions_nm, sim.angles)
    im = cfg.imaging
    n0 = im.dose_rate_e_per_A2_s * im.exposure_s * (10 * im.pixel_size_nm) ** 2
    assert labels.max() > 0 and expected.max() < n0
    assert expected[labels > 0].max() > 0.5 * n0  # the sphere's core scatters most of the probe


def test_static_scene_with_drift_moves_rigidly_and_the_truth_follows():
    cfg = load_config("etching-rods", overrides=[
        *SMALL, "video.frames=3", "particles.count=2", "particles.size_nm=8", "dynamics.model=static",
        "imaging.drift_nm_per_frame=2.0"])
    v = simulate_video(cfg, seed=4)
    xy = {t: np.array([[r["x_nm"], r["y_nm"]] for r in v.particles if r["frame"] == t]) for t in range(3)}
    step = xy[1] - xy[0]
    assert np.linalg.norm(step[0]) > 0 and np.allclose(step[0], step[1])  # the same shift for all
    for r in v.particles:  # labels follow the drifted positions
        ys, xs = np.nonzero(v.labels[r["frame"]] == r["id"])
        assert xs.mean() + 0.5 == pytest.approx(r["x_nm"], abs=1.0)


def test_static_particles_give_identical_labels_in_every_frame():
    cfg = load_config("growth-coalescence", overrides=[*SMALL, "video.frames=3", "particles.count=5",
                                                       "dynamics.model=static"])
    v = simulate_video(cfg, seed=2)
    assert (v.labels == v.labels[0]).all() and not (v.frames == v.frames[0]).all()  # fresh noise
    assert [r["D_nm2_s"] for r in v.particles] == [0.0] * 15


def test_expected_image_is_deterministic_and_positive():
    cfg = load_config("low-contrast-polymer", overrides=[*SMALL, "particles.count=1"])
    a, b = Simulation(cfg, seed=3), Simulation(cfg, seed=3)
    ea, la = a.expected_electrons(a.positions_nm, a.angles)
    eb, lb = b.expected_electrons(b.positions_nm, b.angles)
    np.testing.assert_array_equal(ea, eb)
    np.testing.assert_array_equal(la, lb)
    assert ea.min() > 0
    # Polystyrene in water: a few percent of contrast, the hard case (materials docstring).
    contrast = 1 - ea[la > 0].mean() / ea[la == 0].mean()
    assert 0.005 < contrast < 0.2


def test_shape_dispersity_spreads_the_aspect_ratio_and_keeps_other_bytes():
    base = [*SMALL, "video.frames=1", "particles.count=40", "particles.size_nm=3", "particles.size_cv=0",
            "dynamics.model=static", "video.height_px=128", "video.width_px=128"]
    sim = Simulation(load_config("etching-rods", overrides=[*base, "particles.aspect_ratio_cv=0.2"]), seed=1)
    lengths = np.array([s.outline.bounds[2] - s.outline.bounds[0] for s in sim.specs]) / 3.0
    assert lengths.mean() == pytest.approx(3.0, rel=0.1) and lengths.std() / lengths.mean() == pytest.approx(0.2, rel=0.4)
    a = Simulation(load_config("etching-rods", overrides=[*base, "particles.aspect_ratio_cv=0"]), seed=1)
    b = Simulation(load_config("etching-rods", overrides=[*base, "particles.aspect_ratio_cv=0",
                                                          "particles.corner_rounding=0.05"]), seed=1)
    np.testing.assert_array_equal(a.positions_nm, b.positions_nm)
    assert np.ptp([s.outline.area for s in a.specs]) == pytest.approx(0.0, abs=1e-9)


def test_counting_detector_beyond_its_linear_range_is_warned(caplog):
    """Coincidence loss compresses and then inverts the contrast: a counting detector far beyond
    its linear range gets a warning naming the key to change; one within it does not."""
    import logging

    from simulator.config import load_config
    from simulator.simulate import simulate_video

    over = ["video.frames=1", "video.height_px=48", "video.width_px=48", "particles.count=1",
            "detector.model='counting'"]
    with caplog.at_level(logging.WARNING, logger="simulator.simulate"):
        simulate_video(load_config("low-contrast-polymer", overrides=over + ["imaging.dose_rate_e_per_A2_s=400"]), seed=0)
    assert "beyond its linear range" in caplog.text and "detector.model" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="simulator.simulate"):
        simulate_video(load_config("low-contrast-polymer", overrides=over + ["imaging.dose_rate_e_per_A2_s=4"]), seed=0)
    assert "beyond its linear range" not in caplog.text


@pytest.mark.parametrize("gap_nm", [0.0, 2.0])
def test_placed_outlines_never_overlap_even_at_a_gap_of_zero(gap_nm):
    """At ``min_gap_nm = 0`` an overlap (shapely distance 0) was not "< 0" and so was accepted:
    10 of the 28 pairs of 8 prisms in a 96 px field intersected."""
    import shapely
    from shapely import affinity

    from simulator.simulate import place_particles
    from simulator.shapes import make_shape

    rng = np.random.default_rng(0)
    outlines = [make_shape("prism", 20.0).outline for _ in range(8)]
    angles = rng.uniform(0, 2 * np.pi, 8)
    pos = place_particles(outlines, angles, (96.0, 96.0), gap_nm=gap_nm, rng=rng)
    placed = [affinity.translate(affinity.rotate(o, a, origin=(0, 0), use_radians=True), *p)
              for o, a, p in zip(outlines, angles, pos)]
    gaps = [shapely.distance(a, b) for i, a in enumerate(placed) for b in placed[i + 1:]]
    assert min(gaps) >= gap_nm and not any(a.intersects(b) for i, a in enumerate(placed) for b in placed[i + 1:])


def test_the_commonest_shape_of_a_tie_is_the_first_placed_whatever_the_hash_seed(tmp_path):
    """potential.csv is computed for the commonest shape; with as many prisms as spheres the choice
    followed the order of a set of strings, which changes with PYTHONHASHSEED."""
    import subprocess
    import sys

    code = ("from simulator.config import load_config; from simulator.simulate import Simulation; "
            "import hashlib; cfg = load_config('brownian-prisms', overrides=['particles.count=2', "
            "'particles.shapes={prism=0.5, sphere=0.5}', 'video.frames=1', 'video.height_px=96', "
            "'video.width_px=96']); s = Simulation(cfg, seed=1); "
            "names = [x.name for x in s.specs]; "
            "print(names.count('prism') == names.count('sphere'), hashlib.sha256(repr(s.potential).encode()).hexdigest())")
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**__import__("os").environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2, 3, 4)}
    assert len(out) == 1 and out.pop().startswith("True ")  # a tie, and the same table every time


def test_every_sphere_is_as_thick_as_it_is_wide_after_merging_with_prisms():
    """A merged outline was named after its first parent: a sphere + prism merge became a
    "sphere" as thick as the pair's mean thickness (a few nm), and diffused as a sphere of that
    diameter, several times too fast.  A sphere's thickness along the beam is its diameter."""
    cfg = load_config("brownian-prisms", overrides=[
        "particles.shapes={sphere=0.5, prism=0.5}", "particles.count=12", "particles.size_nm=20",
        "particles.min_gap_nm=0.5", "reactions.merge=true", "reactions.merge_gap_nm=20",
        "reactions.etch_rate_nm_s=0", "reactions.nucleation_rate_per_um2_s=0", "video.frames=2",
        "video.height_px=96", "video.width_px=96"])
    video = simulate_video(cfg, seed=3)
    assert any(e["kind"] == "merge" for e in video.events)
    spheres = [r for r in video.particles if r["shape"] == "sphere"]
    assert spheres
    for r in spheres:
        assert r["thickness_nm"] == pytest.approx(2 * np.sqrt(r["area_nm2"] / np.pi), rel=0.15), r
