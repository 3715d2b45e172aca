"""Image formation and the liquid cell against the formulas they implement."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import optics
from simulator.liquid import gaussian_random_field, liquid_thickness_map
from simulator.materials import MATERIALS, haadf_fraction_per_nm, lenz_cross_section_nm2


def test_bright_field_is_beer_lambert_and_particles_displace_liquid():
    liquid = np.full((4, 5), 200.0)
    thick = np.zeros((4, 5))
    thick[1, 2] = 30.0
    tau_p = thick / MATERIALS["Au"].mean_free_path_nm
    n = optics.bright_field(1000.0, tau_p, thick, liquid, window_thickness_nm=50.0)
    lw, ls = MATERIALS["water"].mean_free_path_nm, MATERIALS["SiN"].mean_free_path_nm
    assert n[0, 0] == pytest.approx(1000.0 * np.exp(-100 / ls - 200 / lw))
    assert n[1, 2] / n[0, 0] == pytest.approx(np.exp(-30 / MATERIALS["Au"].mean_free_path_nm + 30 / lw))
    # A particle of water's own mean free path gives no contrast.
    n_water = optics.bright_field(1000.0, thick / lw, thick, liquid, window_thickness_nm=50.0)
    np.testing.assert_allclose(n_water, n_water[0, 0])


def test_haadf_is_the_fraction_scattered_at_least_once_and_linear_when_thin():
    liquid = np.full((3, 3), 100.0)
    thick = np.zeros((3, 3))
    thick[1, 1] = 10.0
    w = MATERIALS["water"].haadf_weight
    n = optics.haadf(500.0, thick * 1.0, thick, liquid, window_thickness_nm=0.0, efficiency_per_nm=1e-3)
    assert n[0, 0] == pytest.approx(500.0 * (1 - np.exp(-1e-3 * 100 * w)))
    assert n[1, 1] == pytest.approx(500.0 * (1 - np.exp(-1e-3 * (10 + 90 * w))))
    # thin: the linear law, N0 eta S, to 1e-5
    thin = optics.haadf(500.0, thick * 1.0, thick, liquid, window_thickness_nm=0.0, efficiency_per_nm=1e-7)
    assert thin[1, 1] - thin[0, 0] == pytest.approx(500.0 * 1e-7 * 10 * (1 - w), rel=1e-5)
    # thick: never more electrons than the probe brings (the linear law gives 1.9 N0 here)
    gold = np.full((3, 3), 90.0)
    n = optics.haadf(500.0, gold, gold, liquid, window_thickness_nm=50.0, efficiency_per_nm=0.0209)
    assert np.all(n < 500.0) and n[0, 0] == pytest.approx(500.0 * (1 - np.exp(-0.0209 * (90 + 10 * w + 100 * MATERIALS["SiN"].haadf_weight))))
    assert MATERIALS["Au"].haadf_weight == 1.0 and MATERIALS["Pt"].haadf_weight > MATERIALS["Ag"].haadf_weight


def test_haadf_weights_count_the_atoms_per_volume():
    # Handbook number densities: water 1.000 g/cm3 / 18.015 g/mol, Au 19.3 / 196.97 (x N_A).
    n_water, n_au = 1.000 / 18.015 * 6.02214e23 / 1e21, 19.3 / 196.97 * 6.02214e23 / 1e21  # per nm3
    assert n_water == pytest.approx(33.43, rel=1e-3) and n_au == pytest.approx(59.01, rel=1e-3)
    expected = n_water * (2 * 1**1.7 + 8**1.7) / (n_au * 79**1.7)
    assert MATERIALS["water"].haadf_weight == pytest.approx(expected, rel=1e-3)
    assert MATERIALS["water"].haadf_weight == pytest.approx(0.0122, abs=1e-4)
    n_sin = 3.1 / (3 * 28.085 + 4 * 14.007) * 6.02214e23 / 1e21  # Si3N4 formula units per nm3
    assert MATERIALS["SiN"].haadf_weight == pytest.approx(n_sin * (3 * 14**1.7 + 4 * 7**1.7) / (n_au * 79**1.7), rel=1e-3)


@pytest.mark.parametrize("z", [1, 8, 79])
def test_lenz_cross_section_is_the_integral_of_the_screened_rutherford_law(z):
    from scipy.integrate import quad

    kv, m0 = 200.0, 510.99895
    gamma = 1 + kv / m0
    lam = 1.23984198 / np.sqrt(kv * (kv + 2 * m0))  # nm
    k0, a0 = 2 * np.pi / lam, 0.0529177
    theta0 = z ** (1 / 3) / (k0 * a0)

    def dsigma_domega(theta):  # the Lenz model (Egerton 2011, §3.1), nm2/sr
        return 4 * gamma**2 * z**2 / (a0**2 * k0**4) / (theta**2 + theta0**2) ** 2

    numeric = quad(lambda t: dsigma_domega(t) * 2 * np.pi * t, 0.05, 0.2, epsabs=0, epsrel=1e-10)[0]
    assert lenz_cross_section_nm2(z, voltage_kV=kv, inner_mrad=50, outer_mrad=200) == pytest.approx(numeric, rel=1e-5)
    # over all angles: (lambda_C^2 / pi) Z^(4/3) / beta^2, lambda_C = h/(m0 c) = 2.4263e-12 m the
    # Compton wavelength (CODATA): 1.874e-24 Z^(4/3) / beta^2 m2
    beta2 = 1 - 1 / gamma**2
    assert (2.42631e-12) ** 2 / np.pi == pytest.approx(1.874e-24, rel=1e-3)
    total = lenz_cross_section_nm2(z, voltage_kV=kv, inner_mrad=0.0, outer_mrad=np.inf)
    assert total == pytest.approx((2.42631e-12) ** 2 / np.pi * z ** (4 / 3) / beta2 * 1e18, rel=1e-5)


def test_haadf_efficiency_of_gold_is_the_lenz_model_default():
    from simulator.config import ImagingConfig

    eta = haadf_fraction_per_nm("Au", voltage_kV=200.0)
    assert ImagingConfig().haadf_efficiency_per_nm == pytest.approx(eta, abs=5e-5)
    assert 0.015 < eta < 0.03
    # fewer electrons reach a detector that starts at a larger angle, and fewer at a higher voltage
    assert haadf_fraction_per_nm("Au", detector_mrad=(80.0, 200.0)) < eta
    assert haadf_fraction_per_nm("Au", voltage_kV=300.0) < eta
    # the Lenz model's own water/Au ratio is within a factor 1.6 of the Z^1.7 weight
    ratio = haadf_fraction_per_nm("water") / eta
    assert 1 / 1.6 < ratio / MATERIALS["water"].haadf_weight < 1.6


def test_blur_grows_with_liquid_and_keeps_the_electrons():
    assert optics.blur_sigma_nm(1000.0, base_nm=0.3, per_nm=0.005) == pytest.approx(5.3)
    assert optics.blur_sigma_nm(0.0, base_nm=0.3, per_nm=0.005) == pytest.approx(0.3)
    img = np.zeros((64, 64))
    img[32, 32] = 1.0
    out = optics.blur(img, 3.0)
    assert out.sum() == pytest.approx(1.0)
    yy, xx = np.mgrid[:64, :64]
    assert ((yy - 32) ** 2 * out).sum() == pytest.approx(9.0, rel=1e-3)  # variance = sigma^2
    assert optics.blur(img, 0.01) is img


def test_liquid_bulges_towards_the_window_centre():
    kw = dict(pixel_size_nm=10.0, thickness_nm=150.0, bulge_nm=200.0, window_halfwidth_um=25.0,
              window_offset_um=10.0, variation_length_nm=60.0)
    L = liquid_thickness_map((64, 64), variation_nm=0.0, rng=np.random.default_rng(0), **kw)
    assert L.mean() == pytest.approx(150.0, abs=0.5)  # L0 at the field's centre
    # Thicker towards the window centre (smaller x): slope dL/dx = -2 b x / R^2 at x = offset.
    slope = (L[:, 0] - L[:, -1]).mean() / (63 * 10.0)
    assert slope == pytest.approx(2 * 200.0 * 10_000.0 / 25_000.0**2, rel=0.02)
    V = liquid_thickness_map((64, 64), variation_nm=3.0, rng=np.random.default_rng(0), **kw)
    assert 1.5 < (V - L).std() < 4.5  # 3 nm RMS over the ensemble; one 640 nm field holds ~100 σ² areas
    W = liquid_thickness_map((64, 64), variation_nm=3.0, rng=np.random.default_rng(1), **kw)
    assert not np.array_equal(V, W)
    thin = liquid_thickness_map((8, 8), variation_nm=0.0, rng=0, **{**kw, "thickness_nm": 0.0, "bulge_nm": 0.0})
    assert thin.min() == 1.0


def test_liquid_variation_is_stationary_with_the_set_rms_and_correlation():
    """Over the ensemble of fields the variation has RMS ``variation_nm``, mean 0 and the
    autocorrelation exp(-r²/4σ²) of white noise filtered by a Gaussian of σ = variation_length_nm."""
    # σ = 4 px: filtered on the pixel grid; σ = 40 px: on nodes every 10 px, then the bicubic spline
    for sigma_px, size, n in ((4.0, 48, 300), (40.0, 96, 1500)):
        fields = np.stack([gaussian_random_field((size, size), sigma_px, np.random.default_rng(s)) for s in range(n)])
        # (size/(2σ))² independent areas a field, at least ~1: the variance to better than 5 %
        assert fields.var() == pytest.approx(1.0, rel=0.07), sigma_px
        assert abs(fields.mean()) < 0.06, sigma_px
        for lag in (sigma_px, 2 * sigma_px):
            lag = int(lag)
            corr = (fields[:, :, :-lag] * fields[:, :, lag:]).mean() / fields.var()
            assert corr == pytest.approx(np.exp(-lag**2 / (4 * sigma_px**2)), abs=0.03), (sigma_px, lag)
        # smooth between the spline's nodes: the next pixel's correlation, 1 - 1/(4σ²) to first order
        corr1 = (fields[:, :, :-1] * fields[:, :, 1:]).mean() / fields.var()
        assert corr1 == pytest.approx(np.exp(-1 / (4 * sigma_px**2)), abs=0.01), sigma_px


def test_liquid_variation_is_the_library_gaussian_filter_of_padded_noise():
    """The FFT filtering is scipy.ndimage.gaussian_filter of the same noise, on the field padded by 4σ."""
    from scipy import fft, ndimage

    shape, sigma_px = (20, 30), 3.0
    field = gaussian_random_field(shape, sigma_px, np.random.default_rng(7))
    pad = int(np.ceil(4 * sigma_px))
    size = (fft.next_fast_len(shape[0] + 2 * pad, real=True), fft.next_fast_len(shape[1] + 2 * pad, real=True))
    noise = np.random.default_rng(7).standard_normal(size)
    ref = ndimage.gaussian_filter(noise, sigma_px, mode="wrap", truncate=12.0)[pad:pad + shape[0], pad:pad + shape[1]]
    # exact variance of unit white noise through the normalised Gaussian kernel: Σ w², per axis
    delta = np.zeros(97)
    delta[48] = 1.0
    w = ndimage.gaussian_filter1d(delta, sigma_px, truncate=12.0)
    np.testing.assert_allclose(field, ref / np.sqrt((w**2).sum() ** 2), rtol=1e-6, atol=1e-9)


def test_a_field_smaller_than_the_correlation_length_sees_an_offset_not_a_blown_up_variation():
    """A 64 nm field onto a surface correlated over 120 nm: a random offset of about the RMS and
    little variation across it (dividing by the field's own standard deviation used to blow the
    offset up to thousands of nm, or the liquid down to 1 nm)."""
    kw = dict(pixel_size_nm=0.5, thickness_nm=120.0, bulge_nm=0.0, window_halfwidth_um=25.0,
              window_offset_um=0.0, variation_nm=3.0, variation_length_nm=60.0)
    maps = np.stack([liquid_thickness_map((128, 128), rng=np.random.default_rng(s), **kw) for s in range(100)])
    offsets = maps.mean(axis=(1, 2)) - 120.0
    assert np.abs(offsets).max() < 5 * 3.0
    assert abs(offsets.mean()) < 1.0  # 3 nm / sqrt(100) = 0.3 nm standard error
    # For autocorrelation C(r) = exp(-r²/4σ²) over the field's pixel pairs, the offset's variance
    # is 9 nm² · mean C and the variance across the field 9 nm² · (1 - mean C); C is separable.
    i = np.arange(128) * 0.5
    mean_c = np.exp(-(i[:, None] - i[None, :]) ** 2 / (4 * 60.0**2)).mean() ** 2  # 0.91
    assert (offsets**2).mean() == pytest.approx(9.0 * mean_c, rel=0.3)
    assert maps.var(axis=(1, 2)).mean() == pytest.approx(9.0 * (1 - mean_c), rel=0.3)
