"""The liquid cell: two SiN windows and a liquid layer whose thickness varies over the field.

Thickness at the field of view (nm)::

    L(x, y) = L0 + b · (1 − ((x − x_w)² + (y − y_w)²) / R_w²) − b·(1 − d²/R_w²) + δ(x, y)

i.e. the windows bulge outward by ``bulge_nm`` (``b``) at the window centre, parabolically
(a pressurised membrane; bulging of 50 × 200 µm SiN windows reaches hundreds of nm,
Holtz et al., *Microsc. Microanal.* 19, 1027 (2013)); the field sits ``window_offset_um`` (d)
from the window centre, so across it the liquid is thicker towards the centre, and ``L0`` is
the thickness at the field's centre (``liquid.thickness_nm``).  ``δ`` is a slow random
variation: Gaussian-correlated noise of RMS ``variation_nm`` and correlation length
``variation_length_nm``.  Particles displace liquid: the liquid path through a particle is
``L − t_particle``.  Each window is ``window_thickness_nm`` of SiN (50 nm is the common
commercial value, de Jonge & Ross 2011).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["liquid_thickness_map"]


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
        sigma_px = max(variation_length_nm / pixel_size_nm, 1.0)
        field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap")
        field /= field.std() or 1.0
        L = L + variation_nm * field
    return np.maximum(L, 1.0)
