"""Image formation and the liquid cell against the formulas they implement."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import optics
from simulator.liquid import liquid_thickness_map
from simulator.materials import MATERIALS


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


def test_haadf_is_linear_in_mass_thickness():
    liquid = np.full((3, 3), 100.0)
    thick = np.zeros((3, 3))
    thick[1, 1] = 10.0
    n = optics.haadf(500.0, thick * 1.0, thick, liquid, window_thickness_nm=0.0, efficiency_per_nm=1e-3)
    w = MATERIALS["water"].haadf_weight
    assert n[0, 0] == pytest.approx(500.0 * 1e-3 * 100 * w)
    assert n[1, 1] - n[0, 0] == pytest.approx(500.0 * 1e-3 * 10 * (1 - w))
    assert MATERIALS["Au"].haadf_weight == 1.0 and MATERIALS["Pt"].haadf_weight > MATERIALS["Ag"].haadf_weight


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
    assert (V - L).std() == pytest.approx(3.0, rel=1e-6)
    W = liquid_thickness_map((64, 64), variation_nm=3.0, rng=np.random.default_rng(1), **kw)
    assert not np.array_equal(V, W)
    thin = liquid_thickness_map((8, 8), variation_nm=0.0, rng=0, **{**kw, "thickness_nm": 0.0, "bulge_nm": 0.0})
    assert thin.min() == 1.0
