"""The liquid cell: two SiN windows and a liquid layer whose thickness varies over the field.

Thickness at the field of view (nm)::

    L(x, y) = L0 + b · (1 − ((x − x_w)² + (y − y_w)²) / R_w²) − b·(1 − d²/R_w²) + δ(x, y)

i.e. the windows bulge outward by ``bulge_nm`` (``b``) at the window centre, parabolically
(a pressurised membrane; bulging of 50 × 200 µm SiN windows reaches hundreds of nm,
Holtz et al., *Microsc. Microanal.* 19, 1027 (2013)); the field sits ``window_offset_um`` (d)
from the window centre, so across it the liquid is thicker towards the centre, and ``L0`` is
the thickness at the field's centre (``liquid.thickness_nm``).  ``δ`` is a slow random
variation: a stationary Gaussian random field of RMS ``variation_nm`` (over the ensemble of
fields, not rescaled to each field) made by filtering white noise with a Gaussian of σ =
``variation_length_nm``, so its autocorrelation is ``exp(−r²/4σ²)`` (1/e at r = 2σ; the
convention of :func:`simulator.noise_spectrum.texture_statistics`, which measures it on real
frames).  A field of view smaller than σ sees mostly a random offset of about
``variation_nm`` and little variation across it, as a small window onto a larger random
surface does.  Particles displace liquid: the liquid path through a particle is
``L − t_particle``.  Each window is ``window_thickness_nm`` of SiN (50 nm is the common
commercial value, de Jonge & Ross 2011).
"""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.interpolate import RectBivariateSpline

__all__ = ["liquid_thickness_map", "gaussian_random_field"]


def liquid_thickness_map(
    shape: tuple[int, int],
    *,
    pixel_size_nm: float,
    thickness_nm: float,
    bulge_nm: float,
    window_halfwidth_um: float,
    window_offset_um: float,
    variation_nm: float,
    variation_length_nm: float,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Liquid thickness (nm) per pixel, shape (Y, X), never below 1 nm."""
    rng = np.random.default_rng(rng)
    H, W = shape
    y = (np.arange(H) + 0.5 - H / 2) * pixel_size_nm
    x = (np.arange(W) + 0.5 - W / 2) * pixel_size_nm + window_offset_um * 1000.0
    R2 = (window_halfwidth_um * 1000.0) ** 2
    r2 = x[None, :] ** 2 + y[:, None] ** 2
    L = thickness_nm + bulge_nm * (1 - r2 / R2) - bulge_nm * (1 - (window_offset_um * 1000.0) ** 2 / R2)
    if variation_nm > 0:
        L = L + variation_nm * gaussian_random_field(shape, variation_length_nm / pixel_size_nm, rng)
    return np.maximum(L, 1.0)


def gaussian_random_field(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary Gaussian random field of unit variance, shape (Y, X): white noise filtered by a
    Gaussian of σ ``sigma_px`` (autocorrelation ``exp(−r²/4σ²)``).

    The noise is drawn on a grid padded by 4σ on every side and filtered through the FFT (the
    Gaussian's transfer function ``exp(−2π²σ²k²)``), so the periodic wrap of the FFT joins points
    at least 8σ apart (correlation e⁻¹⁶) and the field is not periodic on its own size; it is
    divided by the filtered unit noise's exact standard deviation, ``sqrt(mean_k |T(k)|²)``
    (Parseval), not by its sample standard deviation.  For σ of 8 px or more the grid's spacing is ``σ // 4`` px (σ of
    4 to 8 nodes, where the field's spectrum has fallen to e⁻⁷⁹ at the nodes' Nyquist frequency)
    and the field is the bicubic spline through the nodes (:class:`scipy.interpolate.RectBivariateSpline`):
    the padded grid of a large σ would otherwise hold (S + 8σ)² values for an S² field.  On
    σ < 8 px it is :func:`scipy.ndimage.gaussian_filter` of the padded noise
    (tests/simulator/test_optics.py).
    """
    step = max(1, int(sigma_px // 4))
    if step == 1:
        return _filtered_noise(shape, sigma_px, rng)
    # nodes every `step` px from 2 steps before the field to at least 2 after it (the spline's ends)
    nodes = ((shape[0] - 1) // step + 5, (shape[1] - 1) // step + 5)
    coarse = _filtered_noise(nodes, sigma_px / step, rng)
    spline = RectBivariateSpline((np.arange(nodes[0]) - 2) * step, (np.arange(nodes[1]) - 2) * step, coarse,
                                 kx=3, ky=3, s=0)
    return spline(np.arange(shape[0]), np.arange(shape[1]))


def _filtered_noise(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """White noise on ``shape`` padded by 4σ, Gaussian-filtered by FFT, cropped, unit variance."""
    pad = int(np.ceil(4.0 * sigma_px))
    size = (fft.next_fast_len(shape[0] + 2 * pad, real=True), fft.next_fast_len(shape[1] + 2 * pad, real=True))
    ty = np.exp(-2.0 * (np.pi * sigma_px * fft.fftfreq(size[0])) ** 2)
    tx = np.exp(-2.0 * (np.pi * sigma_px * fft.fftfreq(size[1])) ** 2)
    noise = rng.standard_normal(size)
    field = fft.irfft2(fft.rfft2(noise) * ty[:, None] * tx[None, : size[1] // 2 + 1], s=size)
    std = np.sqrt(np.mean(ty**2) * np.mean(tx**2))
    return field[pad:pad + shape[0], pad:pad + shape[1]] / std
