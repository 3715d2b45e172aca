"""Pre-processing of a video before thresholding, one frame at a time.

Order: temporal averaging of ``k`` neighbouring frames (particles move slowly, shot noise is
independent between frames) → clipping of outliers (hot and dead detector pixels would otherwise
stretch a histogram of 256 bins far beyond the particles' contrast) → denoising (Gaussian, median or non-local means) → background
flattening → polarity normalisation, so that the thresholds always see **dark particles on a
bright background** (the bright-field case, and the one Sauvola's and Niblack's document
binarisation was designed for).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import ndimage
from skimage.restoration import denoise_nl_means

from simulator.errors import UserError
from simulator.video import VideoMeta

__all__ = ["POLARITIES", "DENOISERS", "resolve_polarity", "preprocess"]

POLARITIES = ("auto", "dark", "bright")
DENOISERS = ("none", "gaussian", "median", "nlmeans")

#: Non-local means settings of scikit-image's example "Non-local means denoising for preserving
#: textures" (fast mode with the noise sigma given: patch 5, distance 6, h = 0.6 sigma).
_NLM_PATCH_SIZE = 5
_NLM_PATCH_DISTANCE = 6


def resolve_polarity(polarity: str, meta: VideoMeta) -> bool:
    """True when particles are brighter than the background.

    ``"auto"`` reads the metadata (:attr:`VideoMeta.particles_bright`: HAADF → bright,
    bright-field → dark); ``"dark"`` and ``"bright"`` override it.
    """
    if polarity == "auto":
        return bool(meta.particles_bright)
    if polarity in ("dark", "bright"):
        return polarity == "bright"
    raise UserError(f"parameter 'polarity' = {polarity!r} is not allowed; expected one of "
                    + ", ".join(repr(p) for p in POLARITIES))


def _temporal_mean(video: np.ndarray, t: int, window: int) -> np.ndarray:
    """Mean of the ``window`` frames centred on ``t`` (fewer at the ends), float64 (Y, X)."""
    half = window // 2
    lo, hi = max(0, t - half), min(video.shape[0], t + half + 1)
    return video[lo:hi].mean(axis=0, dtype=np.float64)


def _noise_sigma(frame: np.ndarray) -> float:
    """Robust noise σ of a frame: MAD of horizontal neighbour differences / (0.6745·√2).

    Differences of neighbouring pixels cancel the smooth signal and have variance 2σ² for
    independent noise; the median absolute deviation is insensitive to edges (it replaces
    :func:`skimage.restoration.estimate_sigma`, which needs PyWavelets).
    """
    d = np.diff(frame, axis=1)
    return float(np.median(np.abs(d - np.median(d))) / (0.6745 * np.sqrt(2.0)))


def _denoise(frame: np.ndarray, method: str, *, sigma_px: float, median_size_px: int, nlm_h: float) -> np.ndarray:
    if method == "none":
        return frame
    if method == "gaussian":
        return ndimage.gaussian_filter(frame, sigma_px, mode="reflect") if sigma_px > 0 else frame
    if method == "median":
        return ndimage.median_filter(frame, size=median_size_px, mode="reflect")
    if method == "nlmeans":
        sigma = _noise_sigma(frame)
        if sigma <= 0:
            return frame
        return denoise_nl_means(frame, patch_size=_NLM_PATCH_SIZE, patch_distance=_NLM_PATCH_DISTANCE,
                                h=nlm_h * sigma, sigma=sigma, fast_mode=True, preserve_range=True)
    raise UserError(f"parameter 'denoise' = {method!r} is not allowed; expected one of "
                    + ", ".join(repr(d) for d in DENOISERS))


def _flatten(frame: np.ndarray, sigma_px: float, *, bright: bool) -> np.ndarray:
    """Remove a large-scale background (Gaussian of ``sigma_px``), keeping the mean level.

    Bright-field counts are a product (Beer–Lambert: ``N0·exp(−τ_liquid)·exp(−τ_particle)``), so
    the background is divided out; HAADF counts are a sum of the liquid's and the particles'
    scattering, so it is subtracted (image formation in :mod:`simulator.simulate`).
    """
    background = ndimage.gaussian_filter(frame, sigma_px, mode="reflect")
    level = float(background.mean())
    if bright:
        return frame - background + level
    tiny = max(abs(level), 1.0) * 1e-6
    return frame / np.maximum(background, tiny) * level


def preprocess(
    video: np.ndarray,
    *,
    particles_bright: bool,
    pixel_size_nm: float,
    temporal_window: int = 1,
    denoise: str = "gaussian",
    sigma_px: float = 1.0,
    median_size_px: int = 3,
    nlm_h: float = 0.6,
    background_sigma_nm: float = 0.0,
    clip_percent: float = 0.0,
) -> Iterator[np.ndarray]:
    """Yield each pre-processed frame, particles dark.

    Parameters
    ----------
    video : (T, Y, X) numeric
        Recorded counts.
    particles_bright : whether particles are brighter than the background in ``video``
    pixel_size_nm : pixel size (nm)
    temporal_window : odd number of frames averaged around each frame (1: off)
    denoise : ``"none"``, ``"gaussian"`` (σ = ``sigma_px``), ``"median"`` (square window of
        ``median_size_px``) or ``"nlmeans"`` (h = ``nlm_h`` × the estimated noise σ)
    background_sigma_nm : σ (nm) of the Gaussian background estimate removed (0: off)
    clip_percent : each frame is clipped to its [p, 100 − p] percentiles (0: off)

    Yields
    ------
    (Y, X) float64
        Bright particles are reflected within the frame's range (``min + max − value``), so the
        frame keeps its range and stays positive.
    """
    for t in range(video.shape[0]):
        frame = _temporal_mean(video, t, temporal_window)
        if clip_percent > 0:
            frame = np.clip(frame, *np.percentile(frame, [clip_percent, 100.0 - clip_percent]))
        frame = _denoise(frame, denoise, sigma_px=sigma_px, median_size_px=median_size_px, nlm_h=nlm_h)
        if background_sigma_nm > 0:
            frame = _flatten(frame, background_sigma_nm / pixel_size_nm, bright=particles_bright)
        if particles_bright:
            frame = frame.min() + frame.max() - frame
        yield frame
