"""Detector models against the statistics they must produce."""

from __future__ import annotations


import numpy as np
import pytest

from simulator.detector import apply_mtf, load_mtf_matrix, parametric_mtf, record, resample_mtf
from simulator.errors import ConfigError



def test_ideal_counts_have_variance_equal_to_mean():
    out = record(np.full((200, 200), 12.0), model="ideal", mtf=None, rng=1)
    assert out.dtype == np.uint16
    assert out.mean() == pytest.approx(12.0, abs=4 * np.sqrt(12.0 / out.size))
    assert out.astype(float).var() == pytest.approx(12.0, rel=0.03)


def test_counting_stays_poisson_after_the_mtf():
    lam = np.full((128, 128), 9.0)
    out = record(lam, model="counting", mtf=parametric_mtf(lam.shape), rng=2,
                 saturation_counts_per_frame=np.inf).astype(float)
    assert out.mean() == pytest.approx(9.0, rel=0.01)
    assert out.var() == pytest.approx(9.0, rel=0.04)


@pytest.mark.parametrize("spread", [0.0, 0.5])
def test_integrating_mean_and_variance(spread):
    # Mean g·N + offset; variance g²·N·(1 + spread²) + read² + 1/12 (rounding), without the MTF.
    N, g, read, off = 20.0, 8.0, 3.0, 100.0
    out = record(np.full((200, 200), N), model="integrating", mtf=None, rng=3, conversion_gain=g,
                 gain_spread=spread, read_noise=read, dark_offset=off).astype(float)
    assert out.mean() == pytest.approx(g * N + off, rel=0.003)
    assert out.var() == pytest.approx(g**2 * N * (1 + spread**2) + read**2 + 1 / 12, rel=0.03)


def test_integrating_mtf_correlates_noise_and_defects_and_saturation():
    N = np.full((96, 96), 20.0)
    flat = record(N, model="integrating", mtf=None, rng=4, read_noise=0.0).astype(float)
    blurred = record(N, model="integrating", mtf=parametric_mtf(N.shape), rng=4, read_noise=0.0).astype(float)
    assert blurred.mean() == pytest.approx(flat.mean(), rel=0.01)
    assert blurred.var() < 0.7 * flat.var()
    defects = np.zeros(N.shape, np.int8)
    defects[3, 4], defects[5, 6] = 1, -1
    out = record(N, model="integrating", mtf=None, rng=4, defects=defects, gain_map=np.full(N.shape, 2.0))
    assert out[3, 4] == 65535 and out[5, 6] == 0
    assert out[defects == 0].astype(float).mean() == pytest.approx(2 * 20, rel=0.01)  # gain map x N
    assert record(np.full((4, 4), 1e5), model="integrating", mtf=None, rng=4).max() == 65535


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="detector.model = 'ccd'"):
        record(np.ones((4, 4)), model="ccd", mtf=None, rng=0)


@pytest.mark.parametrize("shape", [(64, 64), (37, 90), (600, 513)])
def test_measured_mtf_resamples_to_any_frame_and_keeps_the_mean(shape, real_dir):
    mtf = resample_mtf(load_mtf_matrix(str(real_dir / "MTFmatrix512.mat")), shape)
    assert mtf.shape == shape and mtf[0, 0] == pytest.approx(1.0) and mtf.min() >= 0
    img = np.random.default_rng(5).poisson(30, shape).astype(float)
    assert apply_mtf(img, mtf).mean() == pytest.approx(img.mean(), rel=1e-10)
    # Real MTFs fall off towards Nyquist.
    assert mtf[0, shape[1] // 2] < 0.8


def test_parametric_mtf_is_the_documented_formula():
    mtf = parametric_mtf((32, 32), q0=0.25, floor=0.1)
    q = 0.25  # frequency index 8 of 32
    assert mtf[0, 8] == pytest.approx(np.sinc(q) * (0.9 / (1 + (q / 0.25) ** 2) + 0.1))
    assert mtf[0, 0] == 1.0 and mtf[0, 8] == pytest.approx(mtf[8, 0])
