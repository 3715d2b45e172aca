"""Materials: effective mean free paths for mass-thickness contrast, and HAADF Z-contrast weights.

Bright-field mass-thickness contrast follows Beer–Lambert, ``I = I0 exp(-Σ t_i / λ_i)``, where
``λ_i`` is the effective mean free path for scattering outside the objective aperture.  Values
are for 200–300 kV and a ~10–20 mrad objective aperture:

- Au 55 nm, Ag 85 nm, Pt 50 nm, Pd 75 nm: the inelastic mean free paths measured by
  K. Iakoubovskii, K. Mitsuishi, Y. Nakayama, K. Furuya, *Microsc. Res. Tech.* 71, 626 (2008),
  Table 2 (λ(Au) ≈ 84 nm, λ(Ag) ≈ 116 nm, λ(Pt) ≈ 80 nm, λ(Pd) ≈ 104 nm at 200 kV), shortened to
  0.63–0.73 of them for the elastic scattering outside the aperture, which adds most for heavy
  elements (Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed.,
  2011, §5.6); the factors are the project's estimate, not a measurement.
- Water 300 nm: de Jonge & Ross, *Nat. Nanotechnol.* 6, 695 (2011) give λ(water) ≈ 300 nm at
  200–300 kV for bright-field TEM of liquid cells.
- SiN 140 nm: Iakoubovskii et al. 2008 (Si3N4 inelastic λ ≈ 135 nm at 200 kV).
- Polystyrene 286 nm and protein 222 nm: low-Z organics with densities 1.05 and 1.35 g/cm³,
  scaled from water by density (λ ∝ 1/ρ for similar mean Z; Egerton 2011 eq. 5.2).  A particle
  displaces as much water as its own volume, so its contrast is t·(1/λ − 1/λ_water): a few
  percent for 100–200 nm particles — the case the field cannot segment today.

Densities (g/cm³): Au 19.3, Ag 10.5, Pt 21.45, Pd 12.0 and water 1.00 at 20 °C (CRC Handbook of
Chemistry and Physics, 97th ed., 2016); polystyrene 1.05 (Polymer Handbook, 4th ed., Brandrup,
Immergut & Grulke, 1999); protein 1.35 (Fischer, Polikarpov & Craievich, *Protein Sci.* 13, 2825
(2004)); SiN 3.1, a typical value of LPCVD silicon nitride membranes (illustrative).

HAADF-STEM (single scattering onto an annular detector, linear in thickness):

- Per atom, the cross-section for scattering onto the detector grows as Z^1.7 (Pennycook,
  *Ultramicroscopy* 30, 58 (1989), exponent 1.6-1.9), so a material's signal per nm is
  ``Σ_a n_a Z_a^1.7`` over its atoms (``n_a`` atoms per nm³ from the density and the formula
  unit); ``haadf_weight`` is that sum relative to Au.  Counting atoms matters: water's weight is
  0.0122 (its oxygen and hydrogen atoms), not the 2.3e-4 of ``ρ·Z̄^1.7`` with a mean Z of 3.3.
  The weights keep Pennycook's measured exponent; the Lenz model below, which sets only the scale,
  has its own, ~1.9 over Z = 8-79 at 50-200 mrad (water 0.0080 of Au by it): two models, a factor
  of 1.5 apart for the lightest materials.
- The scale, the fraction of the beam that one nm of Au scatters onto the detector,
  :func:`haadf_fraction_per_nm` (the default of ``imaging.haadf_efficiency_per_nm``): the screened
  Rutherford cross-section of the Lenz model, integrated between the detector's inner and outer
  semi-angles (Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed.,
  2011, §3.1; Reimer & Kohl, *Transmission Electron Microscopy*, 5th ed., 2008, ch. 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["Material", "MATERIALS", "get_material", "ATOMIC_MASS", "lenz_cross_section_nm2", "haadf_fraction_per_nm"]

#: Standard atomic weights (g/mol) of the elements used here (IUPAC, *Pure Appl. Chem.* 94, 573
#: (2022), abridged values), by atomic number.
ATOMIC_MASS: dict[int, float] = {1: 1.008, 6: 12.011, 7: 14.007, 8: 15.999, 14: 28.085, 16: 32.06,
                                 46: 106.42, 47: 107.87, 78: 195.08, 79: 196.97}
_AVOGADRO = 6.02214076e23  # 1/mol, SI exact
_BOHR_NM = 0.0529177210903  # Bohr radius a0 (nm), CODATA 2018
_ELECTRON_REST_KEV = 510.99895  # m0 c² (keV), CODATA 2018
_HC_KEV_NM = 1.23984198  # h·c (keV nm), CODATA 2018
#: Annular detector semi-angles (mrad) of the default HAADF efficiency: an inner angle a few times
#: the ~10-20 mrad convergence semi-angle of a STEM probe, so that the signal is incoherent Z
#: contrast (Pennycook 1989), and an outer one of 200 mrad: the project's choice of a typical
#: annular dark-field detector.
HAADF_DETECTOR_MRAD = (50.0, 200.0)


@dataclass(frozen=True)
class Material:
    """A material: bright-field mean free path (nm), density (g/cm³) and formula unit
    (``(atomic number, atoms)`` pairs: water ``((1, 2), (8, 1))``)."""

    name: str
    mean_free_path_nm: float
    density_g_cm3: float
    formula: tuple[tuple[int, float], ...]

    def atoms_per_nm3(self) -> dict[int, float]:
        """Atoms of each element per nm³ (``ρ N_A / M`` formula units per cm³, 1 cm³ = 10²¹ nm³)."""
        mass = sum(ATOMIC_MASS[z] * k for z, k in self.formula)
        units = self.density_g_cm3 * _AVOGADRO / mass / 1e21
        return {z: k * units for z, k in self.formula}

    @property
    def haadf_weight(self) -> float:
        """HAADF signal per nm relative to Au: ``Σ n_a Z_a^1.7`` over the atoms (Pennycook 1989)."""
        return _z17(self) / _z17(MATERIALS["Au"])


def _z17(material: Material) -> float:
    return sum(n * z**1.7 for z, n in material.atoms_per_nm3().items())


MATERIALS: dict[str, Material] = {
    "Au": Material("Au", 55.0, 19.3, ((79, 1),)),
    "Ag": Material("Ag", 85.0, 10.5, ((47, 1),)),
    "Pt": Material("Pt", 50.0, 21.45, ((78, 1),)),
    "Pd": Material("Pd", 75.0, 12.0, ((46, 1),)),
    "polystyrene": Material("polystyrene", 286.0, 1.05, ((6, 8), (1, 8))),  # (C8H8)n
    # a protein's mean residue, "averagine" (Senko, Beu & McLafferty, J. Am. Soc. Mass Spectrom. 6, 229 (1995))
    "protein": Material("protein", 222.0, 1.35, ((6, 4.9384), (1, 7.7583), (7, 1.3577), (8, 1.4773), (16, 0.0417))),
    "water": Material("water", 300.0, 1.0, ((1, 2), (8, 1))),
    "SiN": Material("SiN", 140.0, 3.1, ((14, 3), (7, 4))),  # Si3N4
}


def get_material(name: str) -> Material:
    try:
        return MATERIALS[name]
    except KeyError:
        raise ConfigError(f"material {name!r} is unknown; known: {', '.join(MATERIALS)}") from None


def lenz_cross_section_nm2(z: int, *, voltage_kV: float, inner_mrad: float, outer_mrad: float) -> float:
    """Elastic cross-section (nm²) of one atom for scattering between two semi-angles (Lenz model).

    ``dσ/dΩ = 4γ²Z² / (a0² k0⁴) · 1/(θ² + θ0²)²`` with the screening angle ``θ0 = Z^(1/3)/(k0 a0)``
    (Egerton 2011, §3.1; small angles, ``dΩ = 2πθ dθ``) integrates to
    ``σ = 4πγ²Z² / (a0² k0⁴) · [1/(θ1² + θ0²) − 1/(θ2² + θ0²)]``; from 0 to ∞ it is
    ``σ_e = 4πγ² Z^(4/3) / k0² = (λ_C²/π) Z^(4/3)/β²`` = 1.87e-24 Z^(4/3)/β² m² (λ_C = h/m0c the
    Compton wavelength).  ``k0 = 2π/λ`` with the relativistic wavelength of electrons of ``voltage_kV``.
    """
    e = float(voltage_kV)
    gamma = 1.0 + e / _ELECTRON_REST_KEV
    wavelength_nm = _HC_KEV_NM / math.sqrt(e * (e + 2.0 * _ELECTRON_REST_KEV))
    k0 = 2.0 * math.pi / wavelength_nm
    theta0 = z ** (1.0 / 3.0) / (k0 * _BOHR_NM)
    t1, t2 = inner_mrad * 1e-3, outer_mrad * 1e-3
    inv = 1.0 / (t1 * t1 + theta0 * theta0) - (0.0 if math.isinf(t2) else 1.0 / (t2 * t2 + theta0 * theta0))
    return 4.0 * math.pi * gamma**2 * z**2 / (_BOHR_NM**2 * k0**4) * inv


def haadf_fraction_per_nm(material: str = "Au", *, voltage_kV: float = 200.0,
                          detector_mrad: tuple[float, float] = HAADF_DETECTOR_MRAD) -> float:
    """Fraction of the beam that one nm of ``material`` scatters onto an annular detector between
    ``detector_mrad`` (inner, outer) semi-angles: ``Σ_a n_a σ_a`` (single scattering, the thin
    limit) with the Lenz cross-sections of :func:`lenz_cross_section_nm2`.  Au at 200 kV onto
    50-200 mrad: 0.021 per nm (the default of ``imaging.haadf_efficiency_per_nm``)."""
    inner, outer = detector_mrad
    return sum(n * lenz_cross_section_nm2(z, voltage_kV=voltage_kV, inner_mrad=inner, outer_mrad=outer)
               for z, n in get_material(material).atoms_per_nm3().items())
