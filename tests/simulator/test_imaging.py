"""Image formation and detector against the formulas they implement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from simulator.config import load_config
from simulator.detector import apply_mtf, load_mtf_matrix, parametric_mtf, record, resample_mtf
from simulator.errors import ConfigError
from simulator.materials import MATERIALS
from simulator.poisson import poisson
from simulator.simulate import Simulation, simulate_video

FLAT = ["liquid.bulge_nm=0", "liquid.variation_nm=0", "imaging.drift_nm_per_frame=0"]


def _cfg(*extra, size=96, frames=1):
    return load_config("brownian-prisms", overrides=[f"video.height_px={size}", f"video.width_px={size}",
                                                     f"video.frames={frames}", *FLAT,
                                                     "dynamics.boundary=reflect", *extra])


def _n0(cfg):
    im = cfg.imaging
    return im.dose_rate_e_per_A2_s * im.exposure_s * (10 * im.pixel_size_nm) ** 2


def test_empty_cell_mean_counts_follow_beer_lambert():
    cfg = _cfg("particles.count=0", "detector.model=ideal", "imaging.dose_rate_e_per_A2_s=20", frames=4)
    video = simulate_video(cfg, seed=1)
    tau = 2 * 50 / MATERIALS["SiN"].mean_free_path_nm + 150 / MATERIALS["water"].mean_free_path_nm
    expected = _n0(cfg) * np.exp(-tau)
    # 4 x 64 x 64 Poisson draws: the standard error of the mean is sqrt(mean / 16384).
    assert video.frames.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected / video.frames.size))


def test_ideal_detector_variance_equals_mean():
    cfg = _cfg("particles.count=0", "detector.model=ideal", "imaging.dose_rate_e_per_A2_s=5", size=128, frames=2)
    f = simulate_video(cfg, seed=2).frames.astype(float)
    assert f.var() == pytest.approx(f.mean(), rel=0.03)


def test_counting_detector_keeps_the_mean_and_loses_coincidences():
    base = _cfg("particles.count=0", "imaging.dose_rate_e_per_A2_s=20", frames=2)
    ideal = simulate_video(base.model_copy(update={"detector": base.detector.model_copy(update={"model": "ideal"})}), seed=3)
    counting_cfg = base.model_copy(update={"detector": base.detector.model_copy(
        update={"model": "counting", "saturation_counts_per_frame": 1e12})})
    counting = simulate_video(counting_cfg, seed=3)
    assert counting.frames.mean() == pytest.approx(ideal.frames.mean(), rel=0.01)
    lossy_cfg = base.model_copy(update={"detector": base.detector.model_copy(
        update={"model": "counting", "saturation_counts_per_frame": 500.0})})
    lam = ideal.frames.mean()
    lossy = simulate_video(lossy_cfg, seed=3).frames.mean()
    assert lossy == pytest.approx(lam * np.exp(-lam / 500.0), rel=0.02)


def test_integrating_detector_gain_and_offset():
    cfg = _cfg("particles.count=0", "imaging.dose_rate_e_per_A2_s=20", "detector.hot_pixel_fraction=0",
               "detector.dead_pixel_fraction=0", "detector.gain_nonuniformity=0", frames=2)
    video = simulate_video(cfg, seed=4)
    tau = 2 * 50 / MATERIALS["SiN"].mean_free_path_nm + 150 / MATERIALS["water"].mean_free_path_nm
    d = cfg.detector
    assert video.frames.mean() == pytest.approx(d.dark_offset + d.conversion_gain * _n0(cfg) * np.exp(-tau), rel=0.01)


def test_particle_contrast_follows_beer_lambert():
    # A large flat Au cube: its interior replaces h nm of water by h nm of gold.
    cfg = _cfg("particles.count=1", "particles.shapes={cube=1.0}", "particles.size_nm=30", "particles.size_cv=0",
               "detector.model=ideal", "imaging.dose_rate_e_per_A2_s=400", "imaging.blur_base_nm=0",
               "imaging.blur_per_nm=0", size=64)
    sim = Simulation(cfg, seed=5)
    expected, labels = sim.expected_electrons(sim.positions_nm, sim.angles)
    h = 30.0
    ratio = np.exp(-h / MATERIALS["Au"].mean_free_path_nm + h / MATERIALS["water"].mean_free_path_nm)
    x, y = (sim.positions_nm[0] / cfg.imaging.pixel_size_nm).astype(int)
    assert expected[y, x] / expected[labels == 0].mean() == pytest.approx(ratio, rel=1e-3)


def test_background_electrons_follow_beer_lambert_and_lie_under_the_particles():
    """The empty cell's expected electrons: n0 exp(-tau) of the windows and the liquid, and exactly
    what a state's expected electrons show away from its particles (their blur included)."""
    cfg = _cfg("particles.count=2", "imaging.dose_rate_e_per_A2_s=50", size=96)
    sim = Simulation(cfg, seed=7)
    background = sim.background_electrons
    tau = 2 * 50 / MATERIALS["SiN"].mean_free_path_nm + 150 / MATERIALS["water"].mean_free_path_nm
    assert background.mean() == pytest.approx(_n0(cfg) * np.exp(-tau), rel=1e-6)
    assert not background.flags.writeable
    expected, labels = sim.expected_electrons(sim.positions_nm, sim.angles)
    far = ~ndimage.binary_dilation(labels > 0, iterations=12)
    assert far.sum() > 1000
    np.testing.assert_allclose(expected[far], background[far], rtol=1e-5)
    assert expected[labels > 0].mean() < 0.9 * background[labels > 0].mean()  # bright-field: particles dark


def test_haadf_particles_are_bright():
    cfg = _cfg("imaging.mode='haadf'", "detector.model=ideal", size=128)
    video = simulate_video(cfg, seed=6)
    assert video.meta.particles_bright
    f, lab = video.frames[0].astype(float), video.labels[0]
    assert f[lab > 0].mean() > 2 * f[lab == 0].mean()


def test_mtf_preserves_the_mean_and_measured_mtf_loads(real_dir):
    rng = np.random.default_rng(0)
    img = rng.poisson(50, (96, 80)).astype(float)
    for mtf in (parametric_mtf(img.shape),
                resample_mtf(load_mtf_matrix(str(real_dir / "MTFmatrix512.mat")), img.shape)):
        assert mtf[0, 0] == pytest.approx(1.0)
        out = apply_mtf(img, mtf)
        assert out.mean() == pytest.approx(img.mean(), rel=1e-10)
        assert out.var() < img.var()  # it is a low-pass filter
    m = load_mtf_matrix(str(real_dir / "MTFmatrix512.mat"))
    assert m.shape == (512, 512) and m[256, 256] == 1.0


def test_measured_mtf_in_a_simulation(real_dir):
    cfg = _cfg(f"detector.mtf_file='{real_dir / 'MTFmatrix512.mat'}'", "detector.model=counting")
    assert simulate_video(cfg, seed=1).frames.shape == (1, 96, 96)
    with pytest.raises(ConfigError, match="detector.mtf_file = '/nope.mat': no such file"):
        Simulation(_cfg("detector.mtf_file='/nope.mat'"), seed=1)


def test_measured_mtf_with_a_zero_centre_is_refused(tmp_path):
    """A matrix whose zero frequency is 0 would divide by zero and write black frames."""
    np.save(tmp_path / "zero.npy", np.zeros((8, 8)))
    with pytest.raises(ConfigError, match=r"zero.npy'.*centre \(zero frequency\) is 0.0; expected a positive"):
        load_mtf_matrix(str(tmp_path / "zero.npy"))


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_ideal_record_is_the_poisson_sampler(engine):
    lam = np.full((64, 64), 7.5)
    a = record(lam, model="ideal", mtf=None, rng=np.random.default_rng(9), engine=engine)
    b = poisson(lam, rng=np.random.default_rng(9), engine=engine)  # the law is tested in test_poisson.py
    np.testing.assert_array_equal(a, b)


def test_same_seed_same_bytes_other_seed_other_bytes():
    cfg = _cfg(frames=2)
    a, b, c = (simulate_video(cfg, seed=s) for s in (1, 1, 2))
    assert a.frames.tobytes() == b.frames.tobytes() and a.labels.tobytes() == b.labels.tobytes()
    assert a.frames.tobytes() != c.frames.tobytes()


def test_truth_table_matches_labels():
    video = simulate_video(_cfg("particles.count=4", "particles.size_nm=12", size=96), seed=3)
    rows = [r for r in video.particles if r["frame"] == 0]
    assert sorted(r["id"] for r in rows) == sorted(set(np.unique(video.labels[0])) - {0})
    for r in rows:
        ys, xs = np.nonzero(video.labels[0] == r["id"])
        assert (xs.mean() + 0.5) == pytest.approx(r["x_nm"], abs=1.0)
        assert (ys.mean() + 0.5) == pytest.approx(r["y_nm"], abs=1.0)
        assert len(xs) == pytest.approx(r["area_nm2"], rel=0.15)


def test_impossible_density_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"particles.count = 500: only \d+ particles .* fit without overlap"):
        Simulation(_cfg("particles.count=500"), seed=1)
    with pytest.raises(ConfigError, match="does not fit the 64×64 nm field"):
        Simulation(_cfg("particles.size_nm=200", "particles.size_cv=0", size=64), seed=1)


def test_render_one_512_frame_with_50_particles(benchmark):
    """Full physics: 50 particles, liquid, blur, integrating detector with the MTF (one state)."""
    cfg = load_config("brownian-prisms", overrides=[
        "video.height_px=512", "video.width_px=512", "video.frames=1", "particles.count=50",
        "particles.shapes={prism=0.5, sphere=0.3, rod=0.2}", "particles.size_nm=20", "dynamics.model='static'"])
    sim = Simulation(cfg, seed=1)
    next(Simulation(cfg, seed=1).frames())  # compile the kernels outside the timing

    def render():
        return next(Simulation.frames(sim))

    out = benchmark(render)
    assert out.image.shape == (512, 512) and len(np.unique(out.labels)) == 51
