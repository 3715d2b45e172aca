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
    4th ed. 2010, §4.VII), with ``n_sat`` the counts per pixel per frame at which the recorded
    fraction has fallen to 1/e (63 % lost) and the recorded counts peak.  The loss is modelled per
    frame, not per unit time: at a fixed dose rate a longer exposure loses more.
``integrating``
    A scintillator/CMOS (or CCD) camera: Poisson electrons, each depositing a random amount of
    signal (gain ``conversion_gain`` counts/e⁻ with a relative spread ``gain_spread`` s, a noise
    factor 1 + s² — the Landau-type deposit spread gives ≈ 1.5 at 200–300 kV, Meyer & Kirkland,
    *Ultramicroscopy* 75, 23 (1998); the default s = 0.5 gives 1.25), spread over neighbouring
    pixels by the MTF (which, unlike counting, also correlates the noise), then fixed-pattern gain
    non-uniformity, Gaussian read noise, a dark offset, hot and dead pixels, and saturation at the
    ADC's maximum.

The MTF is either parametric, ``MTF(qx, qy) = sinc(qx)·sinc(qy)·[(1−c)/(1+(q/q0)²) + c]`` (q in
cycles per pixel, Nyquist = 0.5, ``sinc(u) = sin(πu)/(πu)``, 2/π at Nyquist; the sincs are the
square pixel's aperture; the Lorentzian the scintillator spread,
McMullan et al., *Ultramicroscopy* 109, 1126 (2009)), or measured: a 2-D matrix with zero
frequency at the centre, such as ``MTFmatrix`` of ``shared/data/real_lptem/MTFmatrix512.mat``
(Yao et al. 2020), resampled to the frame's frequency grid.  MTF(0) = 1, so the mean is kept.

Random stream of the integrating model (fixed, so that a seed gives the same bytes): one
Poisson count per pixel (C order, :func:`simulator.poisson.poisson`: algorithm PD in numba, or
``Generator.poisson`` for ``engine="numpy"`` — the same law, other counts); then the deposits: one
``standard_normal`` per pixel whose deposit is drawn by the Wilson–Hilferty transform (Gamma shape
at least 32), then one ``Generator.gamma`` per pixel with fewer electrons but at least one (see
``_WH_MIN_SHAPE``); then one ``standard_normal`` per pixel for the read noise.  Given the counts,
``engine="numba"`` draws the gammas and normals inside two fused kernels from the same
``Generator`` (numba's Generator reproduces NumPy's streams) and ``engine="numpy"`` with NumPy's
vectorised calls, the reference: the same draws, the same deposits and readout.  The MTF is
applied with ``scipy.fft`` (one thread) and a transfer function that can be precomputed on the
half-plane (:func:`half_plane`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.fft
from numba import njit

from .errors import ConfigError
from .poisson import poisson

__all__ = ["parametric_mtf", "load_mtf_matrix", "resample_mtf", "half_plane", "apply_mtf", "record"]


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
    if not m[m.shape[0] // 2, m.shape[1] // 2] > 0:
        raise ConfigError(f"detector.mtf_file = {str(path)!r}: its centre (zero frequency) is "
                          f"{float(m[m.shape[0] // 2, m.shape[1] // 2])}; expected a positive value (normalised to MTF(0) = 1)")
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


def half_plane(mtf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The MTF on the ``rfft2`` half-plane of ``shape``: (Y, X//2 + 1), C-contiguous.  A full
    (Y, X) grid is cut; an array already of the half-plane's shape is returned as is."""
    h = shape[1] // 2 + 1
    if mtf.shape == (shape[0], h) and mtf.flags.c_contiguous:
        return mtf
    return np.ascontiguousarray(mtf[:, :h])


def apply_mtf(image: np.ndarray, mtf: np.ndarray) -> np.ndarray:
    """Filter ``image`` (Y, X) by ``mtf`` (unshifted frequency grid, full (Y, X) or half-plane
    (Y, X//2 + 1)); keeps the mean when MTF(0) = 1.  One thread (``scipy.fft``, workers=1).

    The 2-D transforms are written out per axis (what ``rfft2``/``irfft2`` do, the same numbers)
    so that the complex transforms along y run in place: no fresh spectrum arrays per frame."""
    spec = scipy.fft.rfft(image, axis=1, workers=1)  # float32 in, complex64 out; float64, complex128
    spec = scipy.fft.fft(spec, axis=0, workers=1, overwrite_x=True)
    spec *= half_plane(mtf, image.shape)
    spec = scipy.fft.ifft(spec, axis=0, workers=1, overwrite_x=True)
    return scipy.fft.irfft(spec, n=image.shape[1], axis=1, workers=1, overwrite_x=True)


_WH_MIN_SHAPE = 32.0
"""From this Gamma shape on, deposits are drawn by the Wilson–Hilferty transform of one normal,
``Gamma(a) ≈ a·(1 − 1/(9a) + z/√(9a))³`` (Wilson & Hilferty, *PNAS* 17, 684 (1931)): its mean is
exact to a relative 1/(729 a³) and its quantiles to ~1e-3 at a = 32, far below the Poisson
noise, at a fifth of the cost of an exact gamma draw.  Below, the exact gamma is drawn."""


@njit(cache=True, nogil=True)
def _deposit_numba(rng, n, k, gain, out):
    """``out = gain · Gamma(n·k, 1/k)`` where ``n > 0``, else 0.

    Draws, in C order: one standard normal per pixel with ``n·k >= _WH_MIN_SHAPE``
    (Wilson–Hilferty), then one ``Generator.gamma`` per pixel with ``0 < n·k < _WH_MIN_SHAPE``.
    """
    nf, of = n.ravel(), out.ravel()
    small = 0
    for i in range(nf.size):
        a = nf[i] * k
        if a >= _WH_MIN_SHAPE:
            c = 1.0 / (9.0 * a)
            v = max(1.0 - c + rng.standard_normal() * np.sqrt(c), 0.0)
            of[i] = v * v * v * (a / k) * gain
        else:
            of[i] = 0.0
            small += a > 0.0
    if small == 0:  # at high dose no pixel needs an exact gamma: no second pass
        return
    for i in range(nf.size):
        a = nf[i] * k
        if 0.0 < a < _WH_MIN_SHAPE:
            of[i] = rng.gamma(a, 1.0 / k) * gain


def _deposit_numpy(rng, n, k, gain, out):
    """NumPy reference of :func:`_deposit_numba` (the same draws in the same order)."""
    a = n * k
    out[...] = 0.0
    wh = a >= _WH_MIN_SHAPE
    c = 1.0 / (9.0 * a[wh])
    v = np.maximum(1.0 - c + rng.standard_normal(int(wh.sum())) * np.sqrt(c), 0.0)
    out[wh] = v * v * v * (a[wh] / k) * gain
    small = (a > 0) & ~wh
    out[small] = rng.gamma(a[small], 1.0 / k) * gain


@njit(cache=True, nogil=True)
def _readout_numba(rng, signal, gain_map, dark_offset, read_noise, defects, out):
    """``out = clip(rint(signal·gain_map + (dark_offset + read_noise·z)), 0, 65535)`` with one
    standard normal ``z`` per pixel, then hot (1) and dead (-1) pixels of ``defects``."""
    sf, gf, df, of = signal.ravel(), gain_map.ravel(), defects.ravel(), out.ravel()
    for i in range(sf.size):
        v = np.rint(sf[i] * gf[i] + (dark_offset + read_noise * rng.standard_normal()))
        v = min(max(v, 0.0), 65535.0)
        if df[i] == 1:
            v = 65535.0
        elif df[i] == -1:
            v = 0.0
        of[i] = np.uint16(v)


def _readout_numpy(rng, signal, gain_map, dark_offset, read_noise, defects, out):
    """NumPy reference of :func:`_readout_numba`."""
    v = np.clip(np.rint(signal * gain_map + (dark_offset + read_noise * rng.standard_normal(signal.shape))), 0, 65535)
    v[defects == 1] = 65535
    v[defects == -1] = 0
    out[...] = v.astype(np.uint16)


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
    engine: str = "numba",
) -> np.ndarray:
    """Record the ``expected`` electrons per pixel (Y, X) as uint16 counts.

    ``mtf`` is on the full (Y, X) ``fftfreq`` grid or on the half-plane (:func:`half_plane`);
    ``defects`` is an int8 map: 0 normal, 1 hot (saturated), -1 dead (0); ``engine`` is
    ``"numba"`` (fused kernels) or ``"numpy"`` (the reference: ``Generator.poisson`` for the
    Poisson counts, so other counts of the same law; then the same draws as the kernels).
    """
    rng = np.random.default_rng(rng)
    if model == "ideal":
        return np.minimum(poisson(expected, rng=rng, engine=engine), 65535).astype(np.uint16)
    if model == "counting":
        lam = apply_mtf(expected, mtf) if mtf is not None else expected
        lam = np.clip(lam, 0.0, None)
        if np.isfinite(saturation_counts_per_frame):
            lam = lam * np.exp(-lam / saturation_counts_per_frame)
        return np.minimum(poisson(lam, rng=rng, engine=engine), 65535).astype(np.uint16)
    if model == "integrating":
        expected = np.asarray(expected, dtype=np.float64)
        n = poisson(expected, rng=rng, engine=engine)
        # Each electron deposits gain·G with G ~ Gamma(k, 1/k): mean 1, relative spread gain_spread,
        # so n electrons deposit gain·Gamma(n·k, 1/k).
        # float32 from here on: a count is recorded to the nearest integer below 65536, far
        # coarser than float32's 2^-24 relative resolution, and the MTF's FFTs run twice as fast.
        signal = np.empty(expected.shape, np.float32)
        if gain_spread > 0:
            (_deposit_numba if engine == "numba" else _deposit_numpy)(rng, n, 1.0 / gain_spread**2,
                                                                      float(conversion_gain), signal)
        else:
            np.multiply(n, float(conversion_gain), out=signal, casting="unsafe")
        if mtf is not None:
            signal = apply_mtf(signal, mtf)
        gain_map = np.ones(expected.shape) if gain_map is None else np.asarray(gain_map, dtype=np.float64)
        defects = np.zeros(expected.shape, np.int8) if defects is None else np.asarray(defects, dtype=np.int8)
        out = np.empty(expected.shape, np.uint16)
        (_readout_numba if engine == "numba" else _readout_numpy)(
            rng, np.ascontiguousarray(signal), np.ascontiguousarray(gain_map), float(dark_offset),
            float(read_noise), np.ascontiguousarray(defects), out)
        return out
    raise ConfigError(f"detector.model = {model!r}: expected ideal, counting or integrating")
