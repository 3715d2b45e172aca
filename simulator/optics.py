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
    In the thin-specimen limit the signal is linear in the mass-thickness weighted by Z^1.7,
    ``N = N0 · η · (Σ t_i·w_i + (L − Σt)·w_water + 2·w·w_SiN)``, ``w`` the weights of
    :attr:`simulator.materials.Material.haadf_weight` (Au = 1) and ``η`` the fraction of the
    beam scattered onto the annular detector per nm of Au (Pennycook, *Ultramicroscopy* 30,
    58 (1989)).
Blur
    A Gaussian point-spread function whose σ grows linearly with the liquid crossed,
    ``σ = σ0 + k·L``: chromatic blur in TEM from the energy spread of electrons that lost
    energy in the liquid, and beam broadening in STEM, both grow with the liquid thickness
    (de Jonge & Ross 2011; de Jonge et al., *Ultramicroscopy* 110, 1114 (2010)).  A resolution
    of a few nm through ~1 µm of water, as these papers report, corresponds to ``k`` of a few
    10⁻³ nm/nm; :class:`simulator.config.ImagingConfig` holds the defaults.  The blur conserves
    the total number of electrons.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .materials import get_material

__all__ = ["bright_field", "haadf", "blur_sigma_nm", "blur"]


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
    """Expected electrons per pixel on an HAADF detector (Z contrast, linear in thickness).

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
    return n0 * efficiency_per_nm * signal


def blur_sigma_nm(liquid_nm: float, *, base_nm: float, per_nm: float) -> float:
    """σ (nm) of the Gaussian blur after crossing ``liquid_nm`` of liquid: ``base + per·L``."""
    return base_nm + per_nm * liquid_nm


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of σ ``sigma_px`` pixels (reflecting edges); below 0.05 px it is skipped."""
    if sigma_px <= 0.05:
        return image
    return ndimage.gaussian_filter(image, sigma_px, mode="reflect")
