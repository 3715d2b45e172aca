"""The fast rendering path (numba kernels) against its NumPy references and against physics:
the same tests on both engines, plus the agreement of the engines with each other."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from scipy import ndimage, stats

from simulator import detector, optics
from simulator._raster import RasterBuffers, pack_particles, rasterize
from simulator.config import load_config
from simulator.materials import MATERIALS
from simulator.shapes import SHAPES, make_shape
from simulator.simulate import Simulation, simulate_video

ENGINES = ["numba", "numpy"]
FLAT = ["liquid.bulge_nm=0", "liquid.variation_nm=0", "imaging.drift_nm_per_frame=0"]


def _cfg(*extra, size=64, frames=1):
    return load_config("brownian-prisms", overrides=[f"video.height_px={size}", f"video.width_px={size}",
                                                     f"video.frames={frames}", *FLAT,
                                                     "dynamics.boundary=reflect", *extra])


def _n0(cfg):
    im = cfg.imaging
    return im.dose_rate_e_per_A2_s * im.exposure_s * (10 * im.pixel_size_nm) ** 2


# ---------------------------------------------------------------- whole simulation, both engines


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_same_bytes(engine):
    cfg = _cfg("particles.count=3", "particles.size_nm=12", frames=2)
    a, b, c = (simulate_video(cfg, seed=s, engine=engine) for s in (1, 1, 2))
    assert a.frames.tobytes() == b.frames.tobytes() and a.labels.tobytes() == b.labels.tobytes()
    assert a.frames.tobytes() != c.frames.tobytes()


@pytest.mark.parametrize("engine", ENGINES)
def test_ideal_detector_is_poisson_with_beer_lambert_mean(engine):
    cfg = _cfg("particles.count=0", "detector.model=ideal", "imaging.dose_rate_e_per_A2_s=5", size=128, frames=2)
    f = simulate_video(cfg, seed=2, engine=engine).frames.astype(float)
    tau = 2 * 50 / MATERIALS["SiN"].mean_free_path_nm + 150 / MATERIALS["water"].mean_free_path_nm
    lam = _n0(cfg) * np.exp(-tau)
    assert f.mean() == pytest.approx(lam, abs=4 * np.sqrt(lam / f.size))
    assert f.var() == pytest.approx(f.mean(), rel=0.03)


@pytest.mark.parametrize("engine", ENGINES)
def test_particle_contrast_is_beer_lambert(engine):
    cfg = _cfg("particles.count=1", "particles.shapes={cube=1.0}", "particles.size_nm=30", "particles.size_cv=0",
               "detector.model=ideal", "imaging.blur_base_nm=0", "imaging.blur_per_nm=0")
    sim = Simulation(cfg, seed=5, engine=engine)
    expected, labels = sim.expected_electrons(sim.positions_nm, sim.angles)
    ratio = np.exp(-30 / MATERIALS["Au"].mean_free_path_nm + 30 / MATERIALS["water"].mean_free_path_nm)
    x, y = (sim.positions_nm[0] / cfg.imaging.pixel_size_nm).astype(int)
    assert expected[y, x] / expected[labels == 0].mean() == pytest.approx(ratio, rel=1e-3)


@pytest.mark.parametrize("engine", ENGINES)
def test_integrating_counts_follow_gain_and_offset(engine):
    cfg = _cfg("particles.count=0", "imaging.dose_rate_e_per_A2_s=20", "detector.hot_pixel_fraction=0",
               "detector.dead_pixel_fraction=0", "detector.gain_nonuniformity=0", frames=2)
    video = simulate_video(cfg, seed=4, engine=engine)
    tau = 2 * 50 / MATERIALS["SiN"].mean_free_path_nm + 150 / MATERIALS["water"].mean_free_path_nm
    d = cfg.detector
    assert video.frames.mean() == pytest.approx(d.dark_offset + d.conversion_gain * _n0(cfg) * np.exp(-tau), rel=0.01)


def test_engines_render_the_same_expected_image_and_labels():
    cfg = _cfg("particles.count=6", "particles.size_nm=14", "particles.shapes={prism=0.4, sphere=0.3, rod=0.3}",
               "liquid.variation_nm=3", "imaging.blur_base_nm=2", size=96)
    a, b = (Simulation(cfg, seed=8, engine=e) for e in ENGINES)
    ea, la = a.expected_electrons(a.positions_nm, a.angles)
    eb, lb = b.expected_electrons(b.positions_nm, b.angles)
    np.testing.assert_allclose(ea, eb, rtol=1e-10)
    np.testing.assert_array_equal(la, lb)


# ---------------------------------------------------------------- optics: sparse blur vs SciPy


@pytest.mark.parametrize("mode", ["bright-field", "haadf"])
@pytest.mark.parametrize("sigma", [0.01, 1.05, 3.3])
def test_imager_equals_full_image_blurred_by_scipy(mode, sigma):
    rng = np.random.default_rng(0)
    H, W = 48, 40
    liquid = 150 + 5 * rng.standard_normal((H, W))
    thick = np.zeros((H, W))
    thick[2:9, 3:11] = rng.uniform(1, 20, (7, 8))
    thick[0:4, -5:] = 7.0  # touching the edges: the reflected images matter
    thick[-3:, 0:2] = 3.0
    tau, signal = thick / 8.0, thick * 0.9
    kw = dict(mode=mode, window_thickness_nm=50.0, efficiency_per_nm=2e-3, sigma_px=sigma)
    imager = optics.Imager(100.0, liquid, engine="numba", **kw)
    full = (optics.bright_field(100.0, tau, thick, liquid, window_thickness_nm=50.0) if mode == "bright-field"
            else optics.haadf(100.0, signal, thick, liquid, window_thickness_nm=50.0, efficiency_per_nm=2e-3))
    reference = ndimage.gaussian_filter(full, sigma, mode="reflect") if sigma > 0.05 else full
    np.testing.assert_allclose(imager.expected(tau, signal, thick), reference, rtol=1e-12)
    # Twice, with weights: the scratch is left clean and the terms add linearly.
    out = imager.background_blurred.copy()
    imager.add(out, tau, signal, thick, weight=0.25)
    imager.add(out, tau, signal, thick, weight=0.75)
    np.testing.assert_allclose(out, reference, rtol=1e-12)
    np.testing.assert_allclose(optics.Imager(100.0, liquid, engine="numpy", **kw).expected(tau, signal, thick),
                               reference, rtol=1e-12)


def test_gaussian_weights_are_scipys():
    for sigma in (0.3, 1.05, 4.2):
        w = optics.gaussian_weights(sigma)
        impulse = np.zeros(101)
        impulse[50] = 1.0
        r = (w.size - 1) // 2
        np.testing.assert_allclose(ndimage.gaussian_filter1d(impulse, sigma)[50 - r:51 + r], w, rtol=1e-12)


# ---------------------------------------------------------------- detector kernels


@pytest.mark.parametrize("lam_range", [(0.0, 60.0), (200.0, 400.0)])
def test_detector_kernels_give_the_same_counts(lam_range):
    """Deposit and readout: the numba kernels and their NumPy references, the same draws."""
    rng = np.random.default_rng(3)
    # (0, 60) spans exact-gamma and Wilson-Hilferty deposits; (200, 400): Wilson-Hilferty only,
    # where the numba kernel skips its exact-gamma pass
    n = rng.poisson(rng.uniform(*lam_range, (40, 36)))
    signal = [np.empty(n.shape, np.float32) for _ in range(2)]
    detector._deposit_numba(np.random.default_rng(7), n, 4.0, 8.0, signal[0])
    detector._deposit_numpy(np.random.default_rng(7), n, 4.0, 8.0, signal[1])
    np.testing.assert_array_equal(signal[0], signal[1])
    defects = np.zeros(n.shape, np.int8)
    defects[1, 2], defects[3, 4] = 1, -1
    gain_map = 1 + 0.01 * rng.standard_normal(n.shape)
    out = [np.empty(n.shape, np.uint16) for _ in range(2)]
    for kernel, o in zip((detector._readout_numba, detector._readout_numpy), out):
        kernel(np.random.default_rng(8), signal[0], gain_map, 100.0, 3.0, defects, o)
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0][1, 2] == 65535 and out[0][3, 4] == 0


@pytest.mark.parametrize("mean", [6.0, 150.0])
def test_detector_engines_record_the_same_law(mean):
    """Whole integrating record: the engines draw their Poisson counts with different algorithms
    (simulator.poisson), so their counts differ but follow the same law."""
    kw = dict(model="integrating", mtf=detector.parametric_mtf((256, 256)), conversion_gain=8.0, gain_spread=0.5,
              read_noise=3.0, dark_offset=100.0)
    a, b = (detector.record(np.full((256, 256), mean), rng=7, engine=e, **kw).astype(float).ravel()
            for e in ENGINES)
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert a.mean() == pytest.approx(b.mean(), rel=0.003)
    assert a.var() == pytest.approx(b.var(), rel=0.03)


@pytest.mark.parametrize("deposit", [detector._deposit_numba, detector._deposit_numpy])
@pytest.mark.parametrize("electrons", [3, 10])  # exact gamma (shape 12) and Wilson-Hilferty (shape 40)
def test_deposits_follow_the_gamma_law(deposit, electrons):
    n = np.full((300, 300), electrons)
    out = np.empty(n.shape)
    deposit(np.random.default_rng(1), n, 4.0, 1.0, out)
    law = stats.gamma(4.0 * electrons, scale=0.25)
    assert stats.kstest(out.ravel(), law.cdf).pvalue > 1e-3
    assert out.mean() == pytest.approx(electrons, rel=0.002)
    assert out.var() == pytest.approx(electrons / 4.0, rel=0.02)


@pytest.mark.parametrize("engine", ENGINES)
def test_integrating_variance_with_deposit_spread(engine):
    N, g, read, off, spread = 20.0, 8.0, 3.0, 100.0, 0.5
    out = detector.record(np.full((200, 200), N), model="integrating", mtf=None, rng=3, conversion_gain=g,
                          gain_spread=spread, read_noise=read, dark_offset=off, engine=engine).astype(float)
    assert out.mean() == pytest.approx(g * N + off, rel=0.003)
    assert out.var() == pytest.approx(g**2 * N * (1 + spread**2) + read**2 + 1 / 12, rel=0.03)


def test_mtf_half_plane_equals_the_full_grid():
    img = np.random.default_rng(0).random((30, 22))
    full = detector.parametric_mtf(img.shape)
    half = detector.half_plane(full, img.shape)
    assert half.shape == (30, 12)
    np.testing.assert_allclose(detector.apply_mtf(img, full), detector.apply_mtf(img, half), rtol=1e-12)
    ref = np.fft.irfft2(np.fft.rfft2(img) * full[:, :12], s=img.shape)
    np.testing.assert_allclose(detector.apply_mtf(img, full), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mtf_per_axis_is_scipys_rfft2_bit_for_bit(dtype):
    """apply_mtf runs the 2-D transform per axis (in place along y): the numbers of rfft2/irfft2."""
    img = np.random.default_rng(1).random((64, 50)).astype(dtype)
    half = detector.half_plane(detector.parametric_mtf(img.shape), img.shape).astype(dtype)
    spec = scipy.fft.rfft2(img, workers=1)
    spec *= half
    ref = scipy.fft.irfft2(spec, s=img.shape, workers=1)
    out = detector.apply_mtf(img.copy(), half)
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


# ---------------------------------------------------------------- rasteriser fast paths


@pytest.mark.parametrize("name", SHAPES)
def test_convex_fast_path_equals_the_reference(name):
    rng = np.random.default_rng(4)
    specs = [make_shape(name, 11.0 + 3 * i) for i in range(4)]
    centres = rng.uniform(8, 48, (4, 2))
    angles = rng.uniform(0, 6.3, 4)
    n = len(specs)
    packed = pack_particles([s.vertices for s in specs], centres[:, 0], centres[:, 1], angles,
                            [s.height_nm for s in specs], [s.rounding_nm for s in specs], [s.profile for s in specs],
                            np.full(n, 0.02), np.ones(n), np.arange(1, n + 1))
    radii = [s.radius_nm for s in specs]
    ref = rasterize(packed, radii, (56, 60), pixel_size_nm=0.8, engine="numpy")
    buffers = RasterBuffers((56, 60))
    rasterize(packed, radii, (56, 60), pixel_size_nm=0.8, buffers=buffers)  # leave something to clear
    fast = rasterize(packed, None, (56, 60), pixel_size_nm=0.8, buffers=buffers)
    for x, y in zip(fast, ref):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-9)


def test_buffers_are_cleared_between_calls():
    spec = make_shape("sphere", 10.0)
    buffers = RasterBuffers((40, 40))

    def one(cx):
        packed = pack_particles([spec.vertices], [cx], [20.0], np.zeros(1), [spec.height_nm], [spec.rounding_nm],
                                [spec.profile], [0.02], [1.0], [1])
        return [a.copy() for a in rasterize(packed, None, (40, 40), pixel_size_nm=1.0, buffers=buffers)[:3]]

    one(10.0)
    moved = one(30.0)
    fresh = pack_particles([spec.vertices], [30.0], [20.0], np.zeros(1), [spec.height_nm], [spec.rounding_nm],
                           [spec.profile], [0.02], [1.0], [1])
    for a, b in zip(moved, rasterize(fresh, None, (40, 40), pixel_size_nm=1.0)[:3]):
        np.testing.assert_array_equal(a, b)
