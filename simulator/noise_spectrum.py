"""Noise power spectra, background masks and photon transfer of recorded frames.

Plain functions on arrays, used by :mod:`simulator.calibration` (estimating a detector from
real frames) and by ``benchmark.realism`` (comparing real and simulated frames).

Noise model of an integrating camera (:mod:`simulator.detector`)
    Each of the ``N`` Poisson electrons of a pixel deposits ``g·G`` counts (``G`` of mean 1 and
    relative spread ``s``); the deposit is spread over neighbours by the MTF, then read noise
    ``σ_r`` and a dark offset ``o`` are added.  A compound Poisson sum has variance
    ``N·E[(gG)²] = g²(1+s²)·N``, white before the MTF; the MTF filters it; read noise is white.
    With the mean ``M = o + g·N`` the noise power spectrum (NPS) of a uniform region is therefore

    ``NPS(f) = g_n·(M − o)·MTF(f)² + σ_r²``,   ``g_n = g·(1 + s²)``   (the "noise gain")

    (Dainty & Shaw, *Image Science*, 1974, ch. 8: the NPS of a filtered Poisson process; the
    same relation underlies the DQE measurements of McMullan et al., *Ultramicroscopy* 109, 1126
    (2009)).  Taking the square root of one crop's power spectrum, as the reference work did
    (Yao et al. 2020), puts the white floor ``σ_r²`` (and any fixed-pattern noise) into the MTF.
    Here: at several mean levels ``M_k`` (photon transfer, Janesick, *Photon Transfer*, SPIE
    2007), a straight-line fit of ``NPS_k(f)`` against ``M_k`` at each frequency gives the slope
    ``g_n·MTF(f)²`` and the intercept ``σ_r² − o·g_n·MTF(f)²``; the slope at ``f → 0`` is the
    noise gain, the slope's shape is ``MTF²``, and since the intercept is linear in the slope
    across frequencies, its fit gives ``σ_r²`` and ``o``.

Normalisation: ``NPS(f) = ⟨|FFT(w·(x − trend))|²⟩ / Σw²`` over patches, with a Hann window ``w``
and a fitted plane as the trend, so white noise of variance ``σ²`` has ``NPS = σ²`` at every
frequency (counts² per unit bandwidth in cycles/px², times the patch area).  Frequencies are in
cycles per pixel (Nyquist = 0.5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

__all__ = [
    "particle_mask",
    "background_mask",
    "background_patches",
    "detrend_plane",
    "patch_nps",
    "radial_profile",
    "radial_frequencies",
    "band_means",
    "photon_transfer_spectra",
    "repair_lowest_bin",
    "texture_statistics",
]


def particle_mask(
    frame: np.ndarray, *, dark_particles: bool = True, smooth_px: float = 3.0, n_sigma: float = 3.0,
    min_area_px: int = 20,
) -> np.ndarray:
    """A rough particle mask of ``frame`` (Y, X) (bool): a threshold against the background noise.

    The frame is smoothed (Gaussian, σ ``smooth_px``); the background level is the mode of the
    smoothed histogram and its spread the RMS deviation on the side away from particles (so
    particles do not inflate it).  Pixels more than ``n_sigma`` spreads towards the particle side
    are particles; connected groups smaller than ``min_area_px`` are noise and dropped, so a
    frame without particles gives an (almost) empty mask.
    """
    from skimage.morphology import remove_small_objects

    s = ndimage.gaussian_filter(np.asarray(frame, np.float64), smooth_px)
    if not dark_particles:
        s = -s
    hist, edges = np.histogram(s, bins=256)
    k = int(np.argmax(ndimage.uniform_filter1d(hist.astype(float), 5)))
    mode = 0.5 * (edges[k] + edges[k + 1])
    upper = s[s > mode] - mode
    spread = float(np.sqrt(np.mean(upper**2))) if upper.size else 0.0
    particles = s < mode - n_sigma * spread
    return remove_small_objects(particles, max_size=min_area_px)


def background_mask(
    frame: np.ndarray, *, dark_particles: bool = True, smooth_px: float = 3.0, margin_px: int = 6,
    n_sigma: float = 3.0,
) -> np.ndarray:
    """Pixels of ``frame`` (Y, X) far from any particle (bool, same shape): the complement of
    :func:`particle_mask` dilated by ``margin_px`` pixels, so particle edges and blur stay out."""
    particles = particle_mask(frame, dark_particles=dark_particles, smooth_px=smooth_px, n_sigma=n_sigma)
    return ~ndimage.binary_dilation(particles, iterations=margin_px) if margin_px > 0 else ~particles


def background_patches(
    frame: np.ndarray, mask: np.ndarray, *, patch: int = 64, step: int | None = None,
    outlier_sigma: float = 12.0, coverage: np.ndarray | None = None,
) -> np.ndarray:
    """Square patches (K, patch, patch) of ``frame`` lying wholly inside ``mask``.

    Patches start every ``step`` pixels (default ``patch // 2``).  A patch holding an outlier
    (a hot or dead pixel: further than ``outlier_sigma`` robust standard deviations from the
    patch median) is skipped, since one such pixel would dominate its spectrum.  If
    ``coverage`` (bool, frame's shape) is given, the pixels of the patches kept are set in it.
    """
    step = step or patch // 2
    frame = np.asarray(frame, np.float64)
    H, W = frame.shape
    out = []
    if H < patch or W < patch:
        return np.zeros((0, patch, patch))
    # A patch is inside the mask when the count of masked pixels in it equals its area.
    inside = ndimage.uniform_filter(mask.astype(np.float64), patch, mode="constant", origin=(-(patch // 2),) * 2)
    for y in range(0, H - patch + 1, step):
        for x in range(0, W - patch + 1, step):
            if inside[y, x] < 1.0 - 1e-9:
                continue
            p = frame[y:y + patch, x:x + patch]
            med = np.median(p)
            mad = 1.4826 * np.median(np.abs(p - med))
            if mad > 0 and np.abs(p - med).max() > outlier_sigma * mad:
                continue
            out.append(p)
            if coverage is not None:
                coverage[y:y + patch, x:x + patch] = True
    return np.array(out).reshape(-1, patch, patch)


def detrend_plane(patches: np.ndarray) -> np.ndarray:
    """Subtract from each patch (K, P, P) its least-squares plane ``a + b·x + c·y``."""
    K, P, Q = patches.shape
    y, x = np.mgrid[:P, :Q]
    A = np.stack([np.ones(P * Q), x.ravel() - Q / 2, y.ravel() - P / 2], axis=1)
    flat = patches.reshape(K, -1)
    coef = flat @ np.linalg.pinv(A).T  # (K, 3) least-squares planes
    return (flat - coef @ A.T).reshape(K, P, Q)


def patch_nps(patches: np.ndarray) -> np.ndarray:
    """Mean 2-D noise power spectrum (P, P) of patches (K, P, P), unshifted ``fftfreq`` grid.

    Each patch is detrended (:func:`detrend_plane`) and Hann-windowed; the spectrum is
    normalised by ``Σw²`` so that white noise of variance σ² gives σ² everywhere.
    """
    K, P, Q = patches.shape
    if K == 0:
        raise ValueError("no patches")
    w = np.outer(np.hanning(P + 2)[1:-1], np.hanning(Q + 2)[1:-1])
    f = np.fft.fft2(detrend_plane(patches) * w)
    return (np.abs(f) ** 2).mean(axis=0) / (w**2).sum()


def radial_frequencies(patch: int) -> np.ndarray:
    """Centres (cycles/px) of the radial bins of :func:`radial_profile`: ``k / patch``, k = 0 … patch/2."""
    return np.arange(patch // 2 + 1) / patch


def radial_profile(spectrum: np.ndarray) -> np.ndarray:
    """Rotational average of an unshifted (P, P) spectrum in bins of width 1/P (cycles/px).

    Returns the values at :func:`radial_frequencies` (index ``k`` holds the grid points with
    ``round(|f|·P) == k``; corners beyond Nyquist are left out).
    """
    P = spectrum.shape[0]
    fy, fx = np.meshgrid(np.fft.fftfreq(P), np.fft.fftfreq(spectrum.shape[1]), indexing="ij")
    k = np.rint(np.hypot(fy, fx) * P).astype(int).ravel()
    keep = k <= P // 2
    s = np.bincount(k[keep], weights=spectrum.ravel()[keep], minlength=P // 2 + 1)
    n = np.bincount(k[keep], minlength=P // 2 + 1)
    return s / np.maximum(n, 1)


def band_means(freq: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (…, F) at frequencies ``freq`` (F,) within each band [e_i, e_i+1)."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (freq >= lo) & (freq < hi)
        out.append(values[..., sel].mean(axis=-1) if sel.any() else np.full(values.shape[:-1], np.nan))
    return np.stack(out, axis=-1)


def photon_transfer_spectra(
    levels: np.ndarray, spectra: np.ndarray, freq: np.ndarray, *, dark_offset: float | None = None,
    low_freq_max: float = 0.2,
) -> dict[str, np.ndarray | float]:
    """Fit ``NPS_k(f) = slope(f)·M_k + intercept(f)`` over mean levels (photon transfer).

    Parameters
    ----------
    levels : (K,) mean counts of the uniform regions the spectra come from
    spectra : (K, F) radial NPS at ``freq`` (counts²)
    freq : (F,) cycles/px; bins 0 and 1 (biased by detrending) are replaced by the low-frequency fit
    dark_offset : counts at zero dose, if known; else fitted from the intercepts
    low_freq_max : highest frequency (cycles/px) of the fit that extrapolates the slope to 0

    Returns
    -------
    dict with ``noise_gain`` (counts² per count: ``g·(1+s²)``), ``slope_t`` (t statistic of the
    growth of the low-frequency NPS with the level), ``mtf`` (F,) (with MTF(0) = 1),
    ``read_noise`` (counts RMS), ``dark_offset`` (counts), ``slope`` and ``intercept`` (F,).
    """
    levels = np.asarray(levels, np.float64)
    A = np.stack([levels, np.ones_like(levels)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(A, spectra, rcond=None)
    # Significance of the growth with level: t statistic of the slope of the low-frequency NPS.
    low = (np.arange(freq.size) >= 2) & (freq <= max(low_freq_max, freq[min(4, freq.size - 1)]))
    y = spectra[:, low].mean(axis=1)
    (s_low, i_low), *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(levels.size - 2, 1)
    spread = float(((levels - levels.mean()) ** 2).sum())
    se = np.sqrt(float(((y - A @ np.array([s_low, i_low])) ** 2).sum()) / dof / spread) if spread > 0 else np.inf
    slope_t = float(s_low / se) if se > 0 else np.inf
    slope = repair_lowest_bin(freq, slope, low_freq_max=low_freq_max)
    gain = float(slope[0])
    use = np.arange(freq.size) >= 2
    if dark_offset is None:
        # intercept(f) = σ_r² − o·slope(f): a straight line in slope across frequencies.
        B = np.stack([np.ones(use.sum()), -slope[use]], axis=1)
        (read2, offset), *_ = np.linalg.lstsq(B, intercept[use], rcond=None)
    else:
        offset = float(dark_offset)
        read2 = float(np.median(intercept[use] + offset * slope[use]))
    mtf = np.sqrt(np.clip(slope / gain, 0.0, None))
    mtf[0] = 1.0
    return {"noise_gain": float(gain), "slope_t": slope_t, "mtf": mtf, "read_noise": float(np.sqrt(max(read2, 0.0))),
            "read_noise_squared": float(read2), "dark_offset": float(offset), "slope": slope,
            "intercept": intercept}


def repair_lowest_bin(freq: np.ndarray, values: np.ndarray, *, low_freq_max: float = 0.2) -> np.ndarray:
    """``values`` of a smooth, positive, even curve such as ``MTF(f)²`` (F,) at ``freq``, with bin 0
    (f = 0) and bin 1 replaced by a low-frequency fit.

    ``values^(−1/2)`` is fitted by ``a + b f² + c f⁴`` over the bins 2/P ≤ f ≤ ``low_freq_max``
    (weights for a relative error ∝ 1/√k in bin k, the ring's number of grid points).  A
    Lorentzian MTF (scintillator spread, McMullan et al. 2009) is exactly linear in f² under this
    transform, so the fit may use many bins (less noise) with little model bias (< 1.5 % for the
    parametric MTFs of :mod:`simulator.detector` with q0 ≥ 0.15 cycles/px).  Bins 0 and 1 are
    replaced: the plane removed from each patch takes the power at zero frequency, and the Hann
    window (main lobe ±2 bins) leaks that hole into bin 1, which reads ~10 % low.
    """
    out = np.array(values, dtype=np.float64)
    out[:2] = _low_freq_model(freq, values, low_freq_max=low_freq_max)(freq[:2])
    return out


def _low_freq_model(freq: np.ndarray, values: np.ndarray, *,
                    low_freq_max: float) -> Callable[[np.ndarray], np.ndarray]:
    """The fit of :func:`repair_lowest_bin` as a function of frequency (array -> array)."""
    k = np.arange(freq.size)
    sel = (k >= 2) & (freq <= max(low_freq_max, freq[min(6, freq.size - 1)]))
    v = np.asarray(values, np.float64)[sel]
    deg = 2 if sel.sum() >= 5 else 1
    if (v > 0).all():
        y = v**-0.5
        coef = np.polyfit(freq[sel] ** 2, y, deg, w=np.sqrt(k[sel]) / y)
        return lambda f: np.polyval(coef, np.asarray(f) ** 2) ** -2.0
    coef = np.polyfit(freq[sel] ** 2, v, deg)  # a curve crossing zero: fit it as it is
    return lambda f: np.polyval(coef, np.asarray(f) ** 2)


def texture_statistics(
    frame: np.ndarray, mask: np.ndarray, *, smooth_px: float = 8.0, noise_nps0: float = 0.0,
) -> tuple[float, float]:
    """Large-scale background texture: relative RMS amplitude and correlation length (px).

    The background is smoothed by normalised convolution (Gaussian σ ``smooth_px`` of the
    masked frame divided by that of the mask), divided by its mean; a quadratic surface (uneven
    illumination, window bulging) is removed and values beyond 3 robust σ are clipped.
    The variance that smoothed noise leaves, ``NPS(0)/(4π σ²)`` for noise of low-frequency
    power ``noise_nps0`` (counts²), is subtracted.  The correlation length is the σ of a
    Gaussian filter that, applied to white noise, gives the field's autocorrelation width:
    a Gaussian-filtered field of σ_c has autocorrelation ``exp(−r²/4σ_c²)``; the 1/e radius
    ``r_e`` gives ``σ_c = r_e/2``, and σ_f = √(σ_c² − σ²) removes the smoothing (the convention
    of :func:`simulator.liquid.liquid_thickness_map`'s ``variation_length_nm``).

    The smoothed noise's own autocorrelation, ``noise var · exp(−r²/4σ²)``, is subtracted before
    the 1/e radius is read.  The smoothing also lowers the texture's own variance, by σ_f²/(σ_f² + σ²) for a Gaussian
    texture; that factor is divided out.  Use a mask far from particles (e.g. the coverage of
    :func:`background_patches`): halos and faint particles near the edges count as texture.

    Returns
    -------
    (relative RMS, correlation length in px); (0, 0) when too little background is found.
    """
    frame = np.asarray(frame, np.float64)
    m = mask.astype(np.float64)
    num = ndimage.gaussian_filter(frame * m, smooth_px)
    den = ndimage.gaussian_filter(m, smooth_px)
    valid = den > 0.5
    if valid.sum() < 100:
        return 0.0, 0.0
    field = np.where(valid, num / np.where(valid, den, 1.0), 0.0)
    mean = field[valid].mean()
    rel = np.where(valid, field / mean - 1.0, 0.0)
    yy, xx = np.nonzero(valid)
    u, v = xx / rel.shape[1] - 0.5, yy / rel.shape[0] - 0.5
    A = np.stack([np.ones(yy.size), u, v, u * u, u * v, v * v], axis=1)
    coef, *_ = np.linalg.lstsq(A[::7], rel[valid][::7], rcond=None)  # a smooth surface: a subsample fits it
    rel[valid] -= A @ coef
    # Robust: a faint particle left in the mask is an outlier blob, not texture; clip at 3 MAD-σ.
    sd = 1.4826 * float(np.median(np.abs(rel[valid])))
    rel[valid] = np.clip(rel[valid], -3 * sd, 3 * sd)
    noise_var = noise_nps0 / (4 * np.pi * smooth_px**2) / mean**2
    var = float(rel[valid].var()) - noise_var
    if var <= 0:
        return 0.0, 0.0
    # Autocorrelation through the FFT, normalised by the mask's own autocorrelation.
    F = np.fft.rfft2(rel * valid, s=(2 * rel.shape[0], 2 * rel.shape[1]))
    Fm = np.fft.rfft2(valid.astype(float), s=(2 * rel.shape[0], 2 * rel.shape[1]))
    acf = np.fft.irfft2(np.abs(F) ** 2, s=(2 * rel.shape[0], 2 * rel.shape[1]))
    cnt = np.fft.irfft2(np.abs(Fm) ** 2, s=(2 * rel.shape[0], 2 * rel.shape[1]))
    r_max = min(rel.shape) // 2
    row = acf[0, :r_max] / np.maximum(cnt[0, :r_max], 1.0)
    col = acf[:r_max, 0] / np.maximum(cnt[:r_max, 0], 1.0)
    # The smoothed noise is itself correlated, as exp(-r^2/4 sigma^2): its share of the
    # autocorrelation is removed too, or strong noise would shorten the correlation length.
    lags = np.arange(r_max, dtype=np.float64)
    prof = 0.5 * (row + col) - noise_var * np.exp(-(lags**2) / (4 * smooth_px**2))
    below = np.flatnonzero(prof < prof[0] / np.e)
    r_e = float(below[0]) if below.size else float(r_max)
    if below.size and below[0] > 0:  # linear interpolation between the bracketing lags
        i = below[0]
        r_e = (i - 1) + (prof[i - 1] - prof[0] / np.e) / (prof[i - 1] - prof[i])
    sigma_f = float(np.sqrt(max((r_e / 2) ** 2 - smooth_px**2, 0.0)))
    if sigma_f <= 0:
        return 0.0, 0.0
    return float(np.sqrt(var * (sigma_f**2 + smooth_px**2) / sigma_f**2)), sigma_f
