"""From the expected number of electrons per pixel to recorded uint16 counts.

Three models (``detector.model``):

``ideal``
    Exactly Poisson counts of the expected electrons: no blur, gain 1, no read noise.
``counting``
    A direct electron detector in counting mode: each electron is located with the detector's
    point-spread function (the expected image is filtered by the MTF before Poisson sampling, so
    counts stay Poisson), and coincidence loss at high flux: an electron arriving within the
    dead time of the previous one in the same pixel is lost; for a paralysable counter the
    recorded rate is ``m = n · exp(−n/n_sat)`` (Knoll, *Radiation Detection and Measurement*,
    4th ed. 2010, §4.VII), with ``n_sat`` the counts per pixel per frame at which loss reaches 1/e.
``integrating``
    A scintillator/CMOS (or CCD) camera: Poisson electrons, each depositing a random amount of
    signal (gain ``conversion_gain`` counts/e⁻ with an exponential-like spread — the Landau-type
    deposit spread gives a noise factor ≈ 1.5 at 200–300 kV; Meyer & Kirkland,
    *Ultramicroscopy* 75, 23 (1998)), spread over neighbouring pixels by the MTF (which,
    unlike counting, also correlates the noise), then fixed-pattern gain non-uniformity,
    Gaussian read noise, a dark offset, hot and dead pixels, and saturation at the ADC's maximum.

The MTF is either parametric, ``MTF(q) = sinc(q/2)·[(1−c)/(1+(q/q0)²) + c]`` (q in cycles per
pixel, Nyquist = 0.5; the sinc is the pixel aperture; the Lorentzian the scintillator spread,
McMullan et al., *Ultramicroscopy* 109, 1126 (2009)), or measured: a 2-D matrix with zero
frequency at the centre, such as ``MTFmatrix`` of ``shared/data/real_lptem/MTFmatrix512.mat``
(Yao et al. 2020), resampled to the frame's frequency grid.  MTF(0) = 1, so the mean is kept.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ConfigError

__all__ = ["parametric_mtf", "load_mtf_matrix", "resample_mtf", "apply_mtf", "record"]


def parametric_mtf(shape: tuple[int, int], *, q0: float = 0.25, floor: float = 0.1) -> np.ndarray:
    """Parametric MTF on the ``numpy.fft.fftfreq`` grid of ``shape`` (not shifted)."""
    qy = np.fft.fftfreq(shape[0])[:, None]
    qx = np.fft.fftfreq(shape[1])[None, :]
    q = np.sqrt(qx**2 + qy**2)
    return np.sinc(qx) * np.sinc(qy) * ((1 - floor) / (1 + (q / q0) ** 2) + floor)


@lru_cache(maxsize=4)
def load_mtf_matrix(path: str) -> np.ndarray:
    """A measured MTF matrix (MATLAB ``.mat`` with variable ``MTFmatrix``, or ``.npy``),
    zero frequency at the centre, normalised so that MTF(0) = 1."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"detector.mtf_file = {str(path)!r}: no such file")
    try:
        if p.suffix == ".npy":
            m = np.load(p, allow_pickle=False)
        else:
            from scipy.io import loadmat

            m = loadmat(p)["MTFmatrix"]
    except Exception as exc:
        raise ConfigError(f"detector.mtf_file = {str(path)!r}: cannot read an MTFmatrix ({exc})") from None
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or not np.isfinite(m).all():
        raise ConfigError(f"detector.mtf_file = {str(path)!r}: expected a finite 2-D matrix")
    return m / m[m.shape[0] // 2, m.shape[1] // 2]


def resample_mtf(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a centred MTF matrix onto the (unshifted) ``fftfreq`` grid of ``shape``."""
    from scipy.interpolate import RegularGridInterpolator

    my, mx = matrix.shape
    fy = (np.arange(my) - my // 2) / my
    fx = (np.arange(mx) - mx // 2) / mx
    interp = RegularGridInterpolator((fy, fx), matrix, bounds_error=False, fill_value=None)
    qy, qx = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]), indexing="ij")
    out = interp(np.stack([qy, qx], axis=-1))
    out = np.clip(out, 0.0, None)
    return out / out[0, 0]


def apply_mtf(image: np.ndarray, mtf: np.ndarray) -> np.ndarray:
    """Filter ``image`` by ``mtf`` (unshifted frequency grid); keeps the mean when MTF(0)=1."""
    return np.fft.irfft2(np.fft.rfft2(image) * mtf[:, : image.shape[1] // 2 + 1], s=image.shape)


def record(
    expected: np.ndarray,
    *,
    model: str,
    mtf: np.ndarray | None,
    rng: np.random.Generator | int | None = None,
    conversion_gain: float = 1.0,
    gain_spread: float = 0.5,
    read_noise: float = 0.0,
    dark_offset: float = 0.0,
    gain_map: np.ndarray | None = None,
    defects: np.ndarray | None = None,
    saturation_counts_per_frame: float = np.inf,
) -> np.ndarray:
    """Record the ``expected`` electrons per pixel (Y, X) as uint16 counts.

    ``defects`` is an int8 map: 0 normal, 1 hot (saturated), -1 dead (0).
    """
    rng = np.random.default_rng(rng)
    if model == "ideal":
        return np.minimum(rng.poisson(expected), 65535).astype(np.uint16)
    if model == "counting":
        lam = apply_mtf(expected, mtf) if mtf is not None else expected
        lam = np.clip(lam, 0.0, None)
        if np.isfinite(saturation_counts_per_frame):
            lam = lam * np.exp(-lam / saturation_counts_per_frame)
        return np.minimum(rng.poisson(lam), 65535).astype(np.uint16)
    if model == "integrating":
        n = rng.poisson(expected).astype(np.float64)
        # Each electron deposits gain·G with G ~ Gamma(k, 1/k): mean 1, relative spread gain_spread.
        if gain_spread > 0:
            k = 1.0 / gain_spread**2
            signal = rng.gamma(np.maximum(n * k, 1e-12), 1.0 / k) * (n > 0)
        else:
            signal = n
        signal *= conversion_gain
        if mtf is not None:
            signal = apply_mtf(signal, mtf)
        if gain_map is not None:
            signal *= gain_map
        signal += dark_offset + read_noise * rng.standard_normal(signal.shape)
        out = np.clip(np.rint(signal), 0, 65535)
        if defects is not None:
            out[defects == 1] = 65535
            out[defects == -1] = 0
        return out.astype(np.uint16)
    raise ConfigError(f"detector.model = {model!r}: expected ideal, counting or integrating")
