"""The naive rendering pipeline a user would write with the usual libraries: the reference that
``benchmarks/compare.py`` times the simulator against (issue #8).

Same physics as :mod:`simulator.simulate` for one particle state of a
:class:`simulator.simulate.Simulation`: for each particle, ``shapely.contains_xy`` over the whole
pixel grid (pixel centres, no sub-sampling) and ``shapely.distance`` to its outline for the
thickness profile; Beer–Lambert with NumPy; ``scipy.ndimage.gaussian_filter`` for the optics blur;
then the integrating detector with NumPy draws (Poisson, one gamma per pixel, MTF by ``numpy.fft``,
gain map, read noise, offset, defects).  It is not used by the package.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage
from shapely import affinity

from simulator.materials import get_material
from simulator.simulate import Simulation

__all__ = ["render_naive"]


def render_naive(sim: Simulation, rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One recorded frame (uint16) and its labels (uint32) of ``sim``'s current particle state."""
    rng = np.random.default_rng(rng)
    cfg = sim.config
    im, lq, det = cfg.imaging, cfg.liquid, cfg.detector
    H, W = sim.meta.shape[1:]
    p = im.pixel_size_nm
    yy, xx = np.mgrid[0:H, 0:W]
    X, Y = ((xx + 0.5) * p).ravel(), ((yy + 0.5) * p).ravel()
    thick = np.zeros(H * W)
    tau_p = np.zeros(H * W)
    labels = np.zeros(H * W, np.uint32)
    lam = sim.material.mean_free_path_nm
    for spec, angle, (cx, cy), pid in zip(sim.specs, sim.angles, sim.positions_nm, sim.ids):
        poly = affinity.translate(affinity.rotate(spec.outline, angle, origin=(0, 0), use_radians=True), cx, cy)
        inside = shapely.contains_xy(poly, X, Y)
        d = shapely.distance(poly.exterior, shapely.points(X[inside], Y[inside]))
        r, h = spec.rounding_nm, spec.height_nm
        if spec.profile == 0:
            t = h * np.sqrt(np.maximum(0.0, 1 - (1 - np.minimum(d, r) / r) ** 2))
        else:
            t = h * np.minimum(d / r, 1.0)
        thick[inside] += t
        tau_p[inside] += t / lam
        labels[inside] = pid
    thick, tau_p = thick.reshape(H, W), tau_p.reshape(H, W)
    water, sin = get_material("water"), get_material("SiN")
    n0 = im.dose_rate_e_per_A2_s * im.exposure_s * (10.0 * p) ** 2
    liquid = np.maximum(sim.liquid_nm - thick, 0.0)
    expected = n0 * np.exp(-(2 * lq.window_thickness_nm / sin.mean_free_path_nm + liquid / water.mean_free_path_nm
                             + tau_p))
    expected = ndimage.gaussian_filter(expected, sim._blur_px)
    n = rng.poisson(expected)
    k = 1.0 / det.gain_spread**2
    signal = rng.gamma(np.maximum(n * k, 1e-12), 1.0 / k) * (n > 0) * det.conversion_gain
    if sim._mtf is not None:
        signal = np.fft.irfft2(np.fft.rfft2(signal) * sim._mtf[:, : W // 2 + 1], s=(H, W))
    signal = signal * sim._gain_map + det.dark_offset + det.read_noise * rng.standard_normal((H, W))
    out = np.clip(np.rint(signal), 0, 65535)
    out[sim._defects == 1] = 65535
    out[sim._defects == -1] = 0
    return out.astype(np.uint16), labels.reshape(H, W)
