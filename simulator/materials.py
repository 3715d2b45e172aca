"""Materials: effective mean free paths for mass-thickness contrast, and HAADF Z-contrast weights.

Bright-field mass-thickness contrast follows Beer–Lambert, ``I = I0 exp(-Σ t_i / λ_i)``, where
``λ_i`` is the effective mean free path for scattering outside the objective aperture.  Values
are for 200–300 kV and a ~10–20 mrad objective aperture:

- Au 55 nm, Ag 85 nm, Pt 50 nm, Pd 75 nm: total elastic+inelastic mean free paths scaled from
  the Jin & Li / Iakoubovskii et al. measurements (K. Iakoubovskii, K. Mitsuishi, Y. Nakayama,
  K. Furuya, *Microsc. Res. Tech.* 71, 626 (2008), Table 2: λ(Au)≈ 84 nm, λ(Ag) ≈ 116 nm,
  λ(Pt) ≈ 80 nm, λ(Pd) ≈ 104 nm for inelastic scattering at 200 kV) combined with aperture-limited
  elastic scattering, which roughly halves the effective λ for heavy elements (Egerton,
  *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed., 2011, §5.6).
- Water 300 nm: de Jonge & Ross, *Nat. Nanotechnol.* 6, 695 (2011) give λ(water) ≈ 300 nm at
  200–300 kV for bright-field TEM of liquid cells.
- SiN 140 nm: Iakoubovskii et al. 2008 (Si3N4 inelastic λ ≈ 135 nm at 200 kV).
- Polystyrene 286 nm and protein 222 nm: low-Z organics with densities 1.05 and 1.35 g/cm³,
  scaled from water by density (λ ∝ 1/ρ for similar mean Z; Egerton 2011 eq. 5.2).  A particle
  displaces as much water as its own volume, so its contrast is t·(1/λ − 1/λ_water): a few
  percent for 100–200 nm particles — the case the field cannot segment today.

HAADF-STEM intensity is proportional to thickness × ρ × Z^1.7 (Z-contrast; Pennycook,
*Ultramicroscopy* 30, 58 (1989), exponent 1.6–1.9); ``haadf_weight`` is that product
normalised to Au = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["Material", "MATERIALS", "get_material"]


@dataclass(frozen=True)
class Material:
    name: str
    mean_free_path_nm: float
    density_g_cm3: float
    mean_Z: float

    @property
    def haadf_weight(self) -> float:
        """ρ·Z^1.7 relative to gold (Pennycook 1989)."""
        au = MATERIALS["Au"]
        return (self.density_g_cm3 * self.mean_Z**1.7) / (au.density_g_cm3 * au.mean_Z**1.7)


MATERIALS: dict[str, Material] = {
    "Au": Material("Au", 55.0, 19.3, 79),
    "Ag": Material("Ag", 85.0, 10.5, 47),
    "Pt": Material("Pt", 50.0, 21.45, 78),
    "Pd": Material("Pd", 75.0, 12.0, 46),
    "polystyrene": Material("polystyrene", 286.0, 1.05, 3.5),
    "protein": Material("protein", 222.0, 1.35, 3.9),
    "water": Material("water", 300.0, 1.0, 3.3),
    "SiN": Material("SiN", 140.0, 3.1, 10.0),
}


def get_material(name: str) -> Material:
    try:
        return MATERIALS[name]
    except KeyError:
        raise ConfigError(f"material {name!r} is unknown; known: {', '.join(MATERIALS)}") from None
