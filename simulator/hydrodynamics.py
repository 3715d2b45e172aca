"""Diffusion coefficients of nanoparticles in a liquid, from their size and shape.

- Spheres: Stokes–Einstein, ``D = kT / (6 π η R)``, ``Dr = kT / (8 π η R³)``.
- Rods (cylinders of length L and aspect ratio p = L/d, 2 ≤ p ≤ 30): Tirado & García de la Torre,
  *J. Chem. Phys.* 71, 2581 (1979) and 81, 2047 (1984); M. M. Tirado, C. L. Martínez,
  J. García de la Torre, *J. Chem. Phys.* 81, 2047 (1984), eqs. for

  ``D∥ = kT (ln p + ν∥) / (2 π η L)``,  ``ν∥ = −0.207 + 0.980/p − 0.133/p²``

  ``D⊥ = kT (ln p + ν⊥) / (4 π η L)``,  ``ν⊥ = 0.839 + 0.185/p + 0.233/p²``

  ``Dr = 3 kT (ln p + δ⊥) / (π η L³)``,  ``δ⊥ = −0.662 + 0.917/p − 0.050/p²``.
  Below p = 2, outside their range of validity, the coefficients are interpolated linearly in p
  between those of a rod as wide at p = 2 and, at p = 1, those of the sphere of the rod's volume
  (a cylinder as long as it is wide; our interpolation, continuous at both ends).  Taking the
  p = 2 coefficients with the true, shorter length made a rod of p = 1 diffuse 1.4 times as fast
  as that sphere, and faster along its axis than across it.
- Thin plates (prisms, hexagonal plates) as circular discs of equal area, radius a: translational
  friction averaged over orientations ``f = 12 η a`` (edgewise 32/3 η a, broadside 16 η a), and
  in-plane rotation ``Dr = 3 kT / (32 η a³)`` (Happel & Brenner, *Low Reynolds Number
  Hydrodynamics*, 1983, §5.11).
- Compact shapes (cubes, concave cubes, bipyramids): spheres of equal volume.

Particles in LPEM move orders of magnitude more slowly than these bulk values (Verch, Pfaff &
de Jonge, *Langmuir* 31, 6956 (2015): about 10³ slower; stronger slowdowns near the SiN window are
common, Woehl & Prozorov, *J. Phys. Chem. C* 119, 21261 (2015)); the caller multiplies by a
documented ``slowdown`` factor.

Units: SI inside, results in nm²/s and rad²/s.
"""

from __future__ import annotations

import numpy as np

__all__ = ["K_B", "sphere_diffusion", "rod_diffusion", "disc_diffusion", "shape_diffusion"]

K_B = 1.380649e-23  # J/K, CODATA 2018 exact
_M2_TO_NM2 = 1e18


def sphere_diffusion(radius_nm: float, *, temperature_K: float, viscosity_Pa_s: float) -> tuple[float, float, float]:
    """(D∥, D⊥, Dr) of a sphere: D∥ = D⊥ = kT/(6πηR) (nm²/s), Dr = kT/(8πηR³) (rad²/s)."""
    R = radius_nm * 1e-9
    kT = K_B * temperature_K
    D = kT / (6 * np.pi * viscosity_Pa_s * R) * _M2_TO_NM2
    return D, D, kT / (8 * np.pi * viscosity_Pa_s * R**3)


def rod_diffusion(length_nm: float, width_nm: float, *, temperature_K: float,
                  viscosity_Pa_s: float) -> tuple[float, float, float]:
    """(D∥, D⊥, Dr) of a rod by Tirado & García de la Torre (nm²/s, nm²/s, rad²/s); below an
    aspect ratio of 2 interpolated towards the sphere of the same volume (module docstring)."""
    p = length_nm / width_nm
    if p < 2.0:
        kw = dict(temperature_K=temperature_K, viscosity_Pa_s=viscosity_Pa_s)
        w = max(p - 1.0, 0.0)  # 0 at p = 1 (and below), 1 at p = 2
        volume = np.pi * width_nm**2 * length_nm / 4
        stubby = sphere_diffusion((3 * volume / (4 * np.pi)) ** (1 / 3), **kw)
        rod = rod_diffusion(2.0 * width_nm, width_nm, **kw)
        return tuple(float((1 - w) * a + w * b) for a, b in zip(stubby, rod))  # type: ignore[return-value]
    L = length_nm * 1e-9
    kT = K_B * temperature_K
    eta = viscosity_Pa_s
    nu_par = -0.207 + 0.980 / p - 0.133 / p**2
    nu_perp = 0.839 + 0.185 / p + 0.233 / p**2
    delta = -0.662 + 0.917 / p - 0.050 / p**2
    d_par = kT * (np.log(p) + nu_par) / (2 * np.pi * eta * L) * _M2_TO_NM2
    d_perp = kT * (np.log(p) + nu_perp) / (4 * np.pi * eta * L) * _M2_TO_NM2
    dr = 3 * kT * (np.log(p) + delta) / (np.pi * eta * L**3)
    return d_par, d_perp, dr


def disc_diffusion(area_nm2: float, *, temperature_K: float, viscosity_Pa_s: float) -> tuple[float, float, float]:
    """(D, D, Dr) of a thin disc of the given area (Happel & Brenner)."""
    a = np.sqrt(area_nm2 / np.pi) * 1e-9
    kT = K_B * temperature_K
    D = kT / (12 * viscosity_Pa_s * a) * _M2_TO_NM2
    return D, D, 3 * kT / (32 * viscosity_Pa_s * a**3)


def shape_diffusion(name: str, *, size_nm: float, length_nm: float, area_nm2: float, volume_nm3: float,
                    temperature_K: float, viscosity_Pa_s: float) -> tuple[float, float, float]:
    """(D∥, D⊥, Dr) in bulk liquid for one of :data:`simulator.shapes.SHAPES` (∥ = body x axis)."""
    kw = dict(temperature_K=temperature_K, viscosity_Pa_s=viscosity_Pa_s)
    if name == "sphere":
        return sphere_diffusion(size_nm / 2, **kw)
    if name == "rod":
        return rod_diffusion(length_nm, size_nm, **kw)
    if name in ("prism", "hexagonal-plate"):
        return disc_diffusion(area_nm2, **kw)
    return sphere_diffusion((3 * volume_nm3 / (4 * np.pi)) ** (1 / 3), **kw)
