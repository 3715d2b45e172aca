"""Image formation in the liquid cell: from projected thickness to expected electrons per pixel.

Units: nm for lengths, electrons per pixel for intensities.

Bright field (mass-thickness contrast)
    Electrons scattered outside the objective aperture are lost; the transmitted fraction
    follows Beer–Lambert, ``N = N0 · exp(−τ)`` with the optical depth
    ``τ = 2·w/λ_SiN + (L − Σt)/λ_water + Σ t_i/λ_i`` (two windows of thickness ``w``; liquid of
    local thickness ``L`` displaced by the particles' projected thickness ``Σt``; particle
    mean free paths ``λ_i``, :mod:`simulator.materials`; Egerton 2011, §5.6;
    de Jonge & Ross, *Nat. Nanotechnol.* 6, 695 (2011)).
HAADF-STEM (Z contrast)
    The fraction of the probe scattered at least once onto the annular detector,
    ``N = N0 · (1 − exp(−η·S))``, ``S = Σ t_i·w_i + (L − Σt)·w_water + 2·w·w_SiN`` the
    Au-equivalent thickness (Poisson statistics of independent scattering events): linear,
    ``N0·η·S``, in the thin limit, and never more than the probe (the linear law exceeds it at
    1/η ≈ 48 nm of Au; its elastic mean free path is ~13 nm, Lenz model).  Scattering out of the
    annulus again, which makes very thick regions darker in real HAADF, is not modelled.  ``w``
    the weights of :attr:`simulator.materials.Material.haadf_weight` (Au = 1: the atoms' Z^1.7 summed per nm³,
    Pennycook, *Ultramicroscopy* 30, 58 (1989)) and ``η`` the fraction of the beam scattered
    onto the annular detector per nm of Au (``imaging.haadf_efficiency_per_nm``, by default the
    Lenz model's, :func:`simulator.materials.haadf_fraction_per_nm`).
Blur
    A Gaussian point-spread function whose σ grows linearly with the liquid crossed,
    ``σ = σ0 + k·L``: chromatic blur in TEM from the energy spread of electrons that lost
    energy in the liquid, and beam broadening in STEM, both grow with the liquid thickness
    (de Jonge & Ross 2011; de Jonge et al., *Ultramicroscopy* 110, 1114 (2010)).  A resolution
    of a few nm through ~1 µm of water, as these papers report, corresponds to ``k`` of a few
    10⁻³ nm/nm; :class:`simulator.config.ImagingConfig` holds the defaults.  The blur conserves
    the total number of electrons.

Fast path (:class:`Imager`)
    The liquid, the windows and the dose do not change during a video, so the particle-free
    image ``E0`` and its blur are computed once.  For each particle state only the pixels that a
    particle covers differ, ``Δ = E − E0``, and since the blur is linear,
    ``blur(E) = blur(E0) + blur(Δ)``: the numba kernel computes ``Δ`` on the covered pixels and
    scatters it through the separable Gaussian (the same weights and reflecting edges as
    ``scipy.ndimage.gaussian_filter``), touching a few per cent of the frame.  ``engine="numpy"``
    computes the whole image and blurs it with SciPy: the reference, same values to ~1e-12.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import ndimage

from .materials import get_material

__all__ = ["bright_field", "haadf", "blur_sigma_nm", "blur", "gaussian_weights", "Imager"]

_TRUNCATE = 4.0  # Gaussian kernel radius in σ, as scipy.ndimage.gaussian_filter's default


def bright_field(
    n0: float, particle_tau: np.ndarray, particle_thickness_nm: np.ndarray, liquid_nm: np.ndarray, *,
    window_thickness_nm: float,
) -> np.ndarray:
    """Expected electrons per pixel in bright field (Beer–Lambert).

    Parameters
    ----------
    n0 : expected electrons per pixel without any specimen
    particle_tau : (Y, X) Σ t_i/λ_i of the particles (dimensionless)
    particle_thickness_nm : (Y, X) Σ t_i, liquid the particles displace (nm)
    liquid_nm : (Y, X) liquid thickness between the windows (nm)
    window_thickness_nm : thickness of each of the two SiN windows (nm)
    """
    water, sin = get_material("water"), get_material("SiN")
    liquid = np.maximum(liquid_nm - particle_thickness_nm, 0.0)
    tau = 2 * window_thickness_nm / sin.mean_free_path_nm + liquid / water.mean_free_path_nm + particle_tau
    return n0 * np.exp(-tau)


def haadf(
    n0: float, particle_signal: np.ndarray, particle_thickness_nm: np.ndarray, liquid_nm: np.ndarray, *,
    window_thickness_nm: float, efficiency_per_nm: float,
) -> np.ndarray:
    """Expected electrons per pixel on an HAADF detector (Z contrast):
    ``n0 · (1 − exp(−η·S))``, ``S`` the Au-equivalent thickness of particles, liquid and windows.

    Parameters
    ----------
    n0 : expected electrons per pixel in the incident probe
    particle_signal : (Y, X) Σ t_i·w_i of the particles (nm of Au equivalent)
    particle_thickness_nm, liquid_nm, window_thickness_nm : as in :func:`bright_field`
    efficiency_per_nm : fraction of the probe scattered onto the detector per nm of Au
    """
    water, sin = get_material("water"), get_material("SiN")
    liquid = np.maximum(liquid_nm - particle_thickness_nm, 0.0)
    signal = particle_signal + liquid * water.haadf_weight + 2 * window_thickness_nm * sin.haadf_weight
    return -n0 * np.expm1(-efficiency_per_nm * signal)


def blur_sigma_nm(liquid_nm: float, *, base_nm: float, per_nm: float) -> float:
    """σ (nm) of the Gaussian blur after crossing ``liquid_nm`` of liquid: ``base + per·L``."""
    return base_nm + per_nm * liquid_nm


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of σ ``sigma_px`` pixels (reflecting edges); below 0.05 px it is skipped (a
    neighbour's weight would be exp(−1/2σ²) < e⁻²⁰⁰: the filter is the identity)."""
    if sigma_px <= 0.05:
        return image
    return ndimage.gaussian_filter(image, sigma_px, mode="reflect", truncate=_TRUNCATE)


def gaussian_weights(sigma_px: float) -> np.ndarray:
    """Normalised 1-D Gaussian weights of radius ``int(4σ + 0.5)`` (those of
    ``scipy.ndimage.gaussian_filter``); a single 1 below σ = 0.05 px, where :func:`blur` skips."""
    if sigma_px <= 0.05:
        return np.ones(1)
    r = int(_TRUNCATE * sigma_px + 0.5)
    x = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-0.5 * x * x / (sigma_px * sigma_px))
    return w / w.sum()


@njit(cache=True, nogil=True)
def _scatter(arr, row, col, along_x, v, w, r):
    """Add value ``v`` at ``arr[row, col]`` blurred along one axis by ``w`` (radius ``r``), with
    reflecting edges (``d c b a | a b c d | d c b a``; needs r smaller than that axis)."""
    n = arr.shape[1] if along_x else arr.shape[0]
    j = col if along_x else row
    # out[i] gathers w[k + r]·in[i + k]; in[j] reaches out[i] for k = j − i.
    if along_x:
        for i in range(max(j - r, 0), min(j + r + 1, n)):
            arr[row, i] += w[j - i + r] * v
    else:
        for i in range(max(j - r, 0), min(j + r + 1, n)):
            arr[i, col] += w[j - i + r] * v
    if j < r or j >= n - r:  # images of j reflected at an edge: in[-1 - j] and in[2n - 1 - j]
        for k in range(-r, r + 1):
            for i in (-1 - j - k, 2 * n - 1 - j - k):
                if 0 <= i < n and (i + k < 0 or i + k >= n):
                    if along_x:
                        arr[row, i] += w[k + r] * v
                    else:
                        arr[i, col] += w[k + r] * v


@njit(cache=True, nogil=True)
def _add_particles(mode, n0, c_win, c_liq, eta, tau_p, signal, thick, liquid, e0, w, weight, tmp, lo, hi, out):
    """``out += weight · blur(E − E0)`` over the pixels with particle thickness (see :class:`Imager`).

    mode 0 bright field: ``E = n0·exp(−c_win − max(L − t, 0)·c_liq − τ_p)``;
    mode 1 HAADF: ``E = n0·(1 − exp(−η·signal − max(L − t, 0)·c_liq − c_win))`` (``c_liq``,
    ``c_win`` include η; ``eta`` is unused in mode 0).
    ``tmp`` (Y, X) must be zero on entry and is zero again on return; ``lo``, ``hi`` (Y,) scratch.
    """
    H, W = out.shape
    r = (w.size - 1) // 2
    for y in range(H):  # Δ, blurred along x into tmp
        lo[y], hi[y] = W, -1
        for x in range(W):
            t = thick[y, x]
            if t <= 0.0:
                continue
            liq = max(liquid[y, x] - t, 0.0)
            if mode == 0:
                e = n0 * np.exp(-(c_win + liq * c_liq + tau_p[y, x]))
            else:
                e = -n0 * np.expm1(-(eta * signal[y, x] + liq * c_liq + c_win))
            _scatter(tmp, y, x, True, (e - e0[y, x]) * weight, w, r)
            lo[y], hi[y] = min(lo[y], max(x - r, 0)), max(hi[y], min(x + r, W - 1))
    for y in range(H):  # then along y into out, clearing tmp
        for x in range(lo[y], hi[y] + 1):
            v = tmp[y, x]
            if v != 0.0:
                _scatter(out, y, x, False, v, w, r)
                tmp[y, x] = 0.0


class Imager:
    """Expected electrons per pixel, blurred, of particle states in one liquid cell.

    Parameters
    ----------
    n0 : expected electrons per pixel without any specimen
    liquid_nm : (Y, X) liquid thickness (nm), fixed for the video
    mode : ``"bright-field"`` or ``"haadf"``
    window_thickness_nm : each SiN window (nm)
    efficiency_per_nm : HAADF only: fraction of the probe scattered onto the detector per nm of Au
    sigma_px : optics blur σ (pixels)
    engine : ``"numba"`` (covered pixels only) or ``"numpy"`` (whole frame, the reference)
    """

    def __init__(self, n0: float, liquid_nm: np.ndarray, *, mode: str, window_thickness_nm: float,
                 efficiency_per_nm: float, sigma_px: float, engine: str = "numba") -> None:
        self.n0, self.liquid_nm, self.mode, self.sigma_px = float(n0), liquid_nm, mode, float(sigma_px)
        self.window_thickness_nm, self.efficiency_per_nm, self.engine = window_thickness_nm, efficiency_per_nm, engine
        zeros = np.zeros_like(liquid_nm, dtype=np.float64)
        self.background = self._full(zeros, zeros, zeros)
        self.background_blurred = np.ascontiguousarray(blur(self.background, self.sigma_px))
        self._w = gaussian_weights(self.sigma_px)
        water, sin = get_material("water"), get_material("SiN")
        if mode == "bright-field":
            self._consts = (0, self.n0, 2 * window_thickness_nm / sin.mean_free_path_nm, 1 / water.mean_free_path_nm,
                            0.0)
        else:
            eta = float(efficiency_per_nm)
            self._consts = (1, self.n0, eta * 2 * window_thickness_nm * sin.haadf_weight, eta * water.haadf_weight, eta)
        H, W = liquid_nm.shape
        self._sparse = engine == "numba" and (self._w.size - 1) // 2 < min(H, W)
        self._tmp = np.zeros((H, W)) if self._sparse else None
        self._lo, self._hi = np.zeros(H, np.int64), np.zeros(H, np.int64)

    def _full(self, tau_p: np.ndarray, signal: np.ndarray, thick: np.ndarray) -> np.ndarray:
        if self.mode == "bright-field":
            return bright_field(self.n0, tau_p, thick, self.liquid_nm, window_thickness_nm=self.window_thickness_nm)
        return haadf(self.n0, signal, thick, self.liquid_nm, window_thickness_nm=self.window_thickness_nm,
                     efficiency_per_nm=self.efficiency_per_nm)

    def add(self, out: np.ndarray, tau_p: np.ndarray, signal: np.ndarray, thick: np.ndarray, *,
            weight: float = 1.0) -> None:
        """``out += weight · (blur(E) − blur(E0))`` for one particle state.

        ``tau_p``, ``signal``, ``thick`` : (Y, X) Σ t_i/λ_i, Σ t_i·w_i and Σ t_i of the particles
        (:func:`simulator._raster.rasterize`); ``out`` (Y, X) float64, C-contiguous.
        """
        if self._sparse:
            mode, n0, c_win, c_liq, eta = self._consts
            _add_particles(mode, n0, c_win, c_liq, eta, tau_p, signal, thick, self.liquid_nm, self.background,
                           self._w, float(weight), self._tmp, self._lo, self._hi, out)
        else:
            out += weight * (blur(self._full(tau_p, signal, thick), self.sigma_px) - self.background_blurred)

    def expected(self, tau_p: np.ndarray, signal: np.ndarray, thick: np.ndarray) -> np.ndarray:
        """Blurred expected electrons per pixel (Y, X) of one particle state (a new array)."""
        if not self._sparse:
            return blur(self._full(tau_p, signal, thick), self.sigma_px)
        out = self.background_blurred.copy()
        self.add(out, tau_p, signal, thick)
        return out
