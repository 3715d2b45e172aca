"""docs/unet/detection_limit.py: the Hotelling d' against Monte-Carlo Poisson frames, its scaling
with dose, the sum over a window of frames, and the d' with a static clutter against Monte-Carlo
frames of clutter and noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from _scripts import load_script

dl = load_script("docs/unet/detection_limit.py", "detection_limit")


def test_hotelling_d2_is_the_separation_of_the_linear_statistic_on_poisson_frames() -> None:
    """Frames drawn with and without a 10 %-contrast disc: the Hotelling template's statistic
    separates them by d' = sqrt(d'^2) of the formula (within the Monte-Carlo error)."""
    yy, xx = np.mgrid[:32, :32]
    disc = ((yy - 16) ** 2 + (xx - 16) ** 2 < 6**2).astype(int)
    background = np.full((32, 32), 50.0)
    expected = background * (1 - 0.1 * disc)
    d2 = dl.hotelling_d2(expected, background, disc)
    assert d2[0] == 0.0 and d2[1] == pytest.approx(disc.sum() * 5.0**2 / 47.5)
    template = (expected - background) / ((expected + background) / 2)
    rng = np.random.default_rng(0)
    with_disc = np.einsum("nij,ij->n", rng.poisson(expected, (4000, 32, 32)), template)
    without = np.einsum("nij,ij->n", rng.poisson(background, (4000, 32, 32)), template)
    separation = abs(with_disc.mean() - without.mean()) / np.sqrt((with_disc.var() + without.var()) / 2)
    assert separation == pytest.approx(np.sqrt(d2[1]), rel=0.05)


def test_d2_grows_in_proportion_to_the_dose() -> None:
    """The same scene at 4× the dose: 4× the electrons in every pixel, so 4× every d'^2 (Poisson)."""
    base = ["video.frames=2", "video.height_px=96", "video.width_px=96", "particles.count=2"]
    low, high = (dl.detectability("low-contrast-polymer", [*base, f"imaging.dose_rate_e_per_A2_s={d}"],
                                  seed=3, grow_px=4).frames for d in (10.0, 40.0))
    assert all(low) and [f.keys() for f in low] == [f.keys() for f in high]  # particles in every frame
    for lo, hi in zip(low, high):
        for track in lo:
            assert hi[track].d2 == pytest.approx(4 * lo[track].d2, rel=1e-9)


def _particle(d2: float) -> dl.Particle:
    return dl.Particle(d2, np.zeros((4, 3), np.complex64), 1.0)


def test_over_context_adds_d2_over_the_window() -> None:
    frames = [{1: _particle(9.0)}, {1: _particle(16.0), 2: _particle(1.0)}, {2: _particle(4.0)}]
    single, multi = dl.over_context(dl.Video(frames, np.zeros((4, 4)), 1.0), 3)
    np.testing.assert_allclose(single, [3.0, 4.0, 1.0, 2.0])
    np.testing.assert_allclose(multi, [5.0, 5.0, np.sqrt(5.0), np.sqrt(5.0)])


def test_clutter_power_keeps_the_variance_and_is_flat_for_white_noise() -> None:
    """Ring averaging moves power only within a ring: the spectrum's sum over the non-zero
    frequencies is the fields' variance (Parseval), and the zero frequency takes the lowest ring's
    value; white noise of variance 4 gives 4 at every frequency."""
    rng = np.random.default_rng(1)
    fields = [ndimage.gaussian_filter(rng.standard_normal((64, 48)), 3, mode="wrap") for _ in range(3)]
    psd = dl.clutter_power(fields)
    weights = dl.half_plane_weights((64, 48))
    assert ((weights * psd).sum() - psd[0, 0]) / (64 * 48) == pytest.approx(np.mean([f.var() for f in fields]),
                                                                          rel=1e-9)
    assert psd[0, 0] == psd[1, 0] > 0
    white = dl.clutter_power([2 * rng.standard_normal((128, 128)) for _ in range(4)])
    ring = np.hypot(*np.meshgrid(np.fft.fftfreq(128) * 128, np.fft.rfftfreq(128) * 128, indexing="ij"))
    full_rings = (ring >= 8) & (ring <= 60)  # rings of >= 50 coefficients in each field
    assert np.abs(white[full_rings] - 4).max() < 1.0
    assert white.mean() == pytest.approx(4, rel=0.02)


def test_window_d2_is_the_dense_hotelling_solve() -> None:
    """On a small grid, d'^2 = s^T C^-1 s with the full (K·N)² covariance of white noise of variance
    σ_k² in frame k plus one stationary clutter (circulant, from the spectrum) shared by the frames."""
    rng = np.random.default_rng(4)
    shape, variances = (6, 7), [0.5, 2.0, 1.0]
    n = shape[0] * shape[1]
    fy, fx = np.meshgrid(np.fft.fftfreq(6), np.fft.fftfreq(7), indexing="ij")
    full_psd = 3.0 * np.exp(-10 * (fy**2 + fx**2)) + 0.2
    # covariance of the clutter between pixels: the inverse DFT of its spectrum (circulant)
    kernel = np.fft.ifft2(full_psd).real
    iy, ix = np.divmod(np.arange(n), shape[1])
    clutter_cov = kernel[(iy[:, None] - iy[None, :]) % shape[0], (ix[:, None] - ix[None, :]) % shape[1]]
    cov = np.kron(np.ones((3, 3)), clutter_cov) + np.diag(np.repeat(variances, n))
    signals = rng.normal(size=(3, *shape))
    dense = signals.ravel() @ np.linalg.solve(cov, signals.ravel())
    spectra = [np.fft.rfft2(s) for s in signals]
    assert dl.window_d2(spectra, variances, full_psd[:, :4], shape) == pytest.approx(dense, rel=1e-9)


def test_window_d2_without_clutter_is_the_sum_over_pixels_and_frames() -> None:
    rng = np.random.default_rng(2)
    signals, variances = rng.normal(size=(3, 16, 15)), [2.0, 3.0, 5.0]
    spectra = [np.fft.rfft2(s) for s in signals]
    d2 = dl.window_d2(spectra, variances, np.zeros_like(spectra[0].real), (16, 15))
    assert d2 == pytest.approx(sum((s**2).sum() / v for s, v in zip(signals, variances)), rel=1e-6)


@pytest.mark.parametrize("step_px", [0, 6])
def test_window_d2_is_the_separation_of_the_hotelling_statistic_under_clutter(step_px: int) -> None:
    """Three frames of white noise (variances 1, 2, 1.5) over the same stationary clutter, with and
    without a faint disc that moves ``step_px`` per frame: the template (diag(σ²) + P_c 11ᵀ)⁻¹ s
    separates the two by the formula's d' (within the Monte-Carlo error); the clutter costs a
    still disc more than a moving one."""
    shape, n, variances = (32, 32), 3000, np.array([1.0, 2.0, 1.5])
    yy, xx = np.mgrid[:32, :32]
    signals = np.array([-0.6 * ((yy - 16) ** 2 + (xx - 10 - step_px * k) ** 2 < 4**2) for k in range(3)])
    fy, fx = np.meshgrid(np.fft.fftfreq(32), np.fft.fftfreq(32), indexing="ij")
    full_psd = 40.0 * np.exp(-((2 * np.pi * 3) ** 2) * (fy**2 + fx**2))  # white noise blurred by a σ 3 px Gaussian
    psd = full_psd[:, :17]
    spectra = [np.fft.rfft2(s) for s in signals]
    d2 = dl.window_d2(spectra, variances, psd, shape)
    assert d2 < dl.window_d2(spectra, variances, np.zeros_like(psd), shape)
    b = sum(s / v for s, v in zip(spectra, variances))
    templates = [np.fft.irfft2((s - psd * b / (1 + psd * (1 / variances).sum())) / v, shape)
                 for s, v in zip(spectra, variances)]
    rng = np.random.default_rng(3)

    def statistic(with_signal: bool) -> np.ndarray:
        clutter = np.fft.ifft2(np.sqrt(full_psd) * np.fft.fft2(rng.standard_normal((n, *shape)))).real
        frames = clutter[:, None] + rng.standard_normal((n, 3, *shape)) * np.sqrt(variances)[:, None, None]
        return np.einsum("nkij,kij->n", frames + signals * with_signal, np.array(templates))

    on, off = statistic(True), statistic(False)
    separation = abs(on.mean() - off.mean()) / np.sqrt((on.var() + off.var()) / 2)
    assert separation == pytest.approx(np.sqrt(d2), rel=0.05)
    if step_px == 0:
        moved = [np.fft.rfft2(np.roll(signals[0], 6 * k, axis=1)) for k in range(3)]
        assert dl.window_d2(moved, variances, psd, shape) > d2


def test_clutter_is_the_liquid_variation_and_costs_still_beads_more_over_more_frames() -> None:
    """Without the liquid's random variation the clutter is zero and d' is the exact one; with it
    (1 % of the background, as large as a polystyrene bead's contrast) every bead's d' drops, and
    more over 3 frames than in one (the clutter is the same in every frame; the beads barely move)."""
    base = ["video.frames=3", "video.height_px=96", "video.width_px=96", "particles.count=2"]
    smooth = dl.detectability("low-contrast-polymer", [*base, "liquid.variation_nm=0"], seed=3, grow_px=4)
    assert not smooth.clutter.any()
    psd = dl.clutter_power([smooth.clutter])
    for exact, with_psd in zip(dl.over_context(smooth, 3), dl.over_context(smooth, 3, psd)):
        np.testing.assert_allclose(with_psd, exact, rtol=1e-9)
    video = dl.detectability("low-contrast-polymer", base, seed=3, grow_px=4)
    # 3 nm RMS of 300 nm of water (1 %) over the ensemble; across one 288 nm field of a surface
    # correlated over σ = 60 nm the variance is 1 - mean C(r) of it (tests/simulator/test_optics.py):
    # 0.83 %, known to ~25 % from the field's ~6 independent areas
    i = np.arange(96) * 3.0
    across = np.sqrt(1 - np.exp(-(i[:, None] - i[None, :]) ** 2 / (4 * 60.0**2)).mean() ** 2)
    assert video.clutter.std() / video.background_mean == pytest.approx(0.01 * across, rel=0.25)
    single, multi = dl.over_context(video, 3)
    single_c, multi_c = dl.over_context(video, 3, dl.clutter_power([video.clutter]))
    assert single.size and np.all(single_c < single)
    assert np.all(multi_c / multi <= single_c / single + 1e-12) and np.any(multi_c / multi < single_c / single)


def test_every_particle_carries_its_kind_in_the_order_of_over_context() -> None:
    """brownian-prisms mixes 5-7 nm gold plates with 20-30 nm gold spheres: each particle's kind
    comes from its row of the frame's table, and kinds_of lines up with over_context's d'."""
    assert dl.particle_kind({"material": "Au", "shape": "prism", "thickness_nm": "6.2"}) == "Au prism, 5-7 nm"
    assert dl.particle_kind({"material": "Au", "shape": "sphere", "thickness_nm": 20.0}) == "Au sphere, 20-50 nm"
    assert dl.particle_kind({"material": "PS", "shape": "sphere", "thickness_nm": 1500}) == "PS sphere, >= 1000 nm"
    video = dl.detectability("brownian-prisms", ["video.frames=2", "video.height_px=128", "video.width_px=128",
                                                  "particles.count=6"], seed=1, grow_px=4)
    kinds = dl.kinds_of(video)
    single, multi = dl.over_context(video, 3)
    assert kinds.size == single.size == multi.size > 0
    assert set(kinds) <= {"Au prism, 5-7 nm", "Au prism, 0-5 nm", "Au prism, 7-10 nm", "Au sphere, 20-50 nm"}
    assert any("prism" in k for k in kinds) and any("sphere" in k for k in kinds)
    # the thin plates are the faint kind: each below every sphere of the same frames
    d_prism, d_sphere = (single[np.char.find(kinds.astype(str), s) >= 0] for s in ("prism", "sphere"))
    assert d_prism.max() < d_sphere.min()


@pytest.mark.parametrize("by_particle", [False, True])
def test_json_is_one_shape_with_and_without_by_particle(tmp_path: Path, by_particle: bool) -> None:
    """--json writes {"cells": rows, "by_particle": rows or null} either way: one quick-tier cell,
    one video."""
    out = tmp_path / "limit.json"
    dl.main(["--tier", "quick", "--videos", "1", "--cells", "low-contrast-polymer-d200", "--json", str(out),
             *(["--by-particle"] if by_particle else [])])
    table = json.loads(out.read_text())
    assert isinstance(table, dict) and set(table) == {"cells", "by_particle"}
    assert [row["cell"] for row in table["cells"]] == ["low-contrast-polymer-d200"]
    assert table["cells"][0]["particles"] > 0 and 0 <= table["cells"][0]["f1_max"] <= 1
    if by_particle:
        assert {row["cell"] for row in table["by_particle"]} == {"low-contrast-polymer-d200"}
        assert sum(row["particles"] for row in table["by_particle"]) == table["cells"][0]["particles"]
    else:
        assert table["by_particle"] is None
