"""The thresholding family the field uses today, as segmentation methods.

Every method here is ``segment(video, meta, *, ...) -> labels``: ``video`` (T, Y, X) as
recorded, ``meta`` a :class:`simulator.video.VideoMeta`, labels (T, Y, X) int32 with 0 as
background.  The pipeline per frame is

1. pre-processing (:func:`preprocess`): clipping of the 0.1 % extreme pixels (hot and dead
   pixels), optional temporal averaging of ``temporal_window``
   neighbouring frames (particles move slowly, noise does not), background flattening (a
   Gaussian of ``flatten_sigma_nm`` removed), and denoising (``gaussian``, ``median`` or
   ``nlmeans``) — all from SciPy / scikit-image;
2. polarity: the image is inverted when particles are dark (bright-field), so that particles
   are always above the threshold; ``polarity='auto'`` reads ``meta.mode``;
3. the threshold: a scikit-image global (Otsu, Li, Triangle, Yen, ISODATA, mean, minimum) or
   local (Sauvola, Niblack, Gaussian-weighted local) threshold;
4. instances (:func:`to_instances`): fill holes, opening, remove objects below
   ``min_area_nm2``, and optionally split touching particles by a watershed on the distance
   transform.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage
from skimage import filters, morphology, restoration, segmentation
from skimage.feature import peak_local_max

from simulator.errors import UserError
from simulator.video import VideoMeta

__all__ = ["GLOBAL_THRESHOLDS", "LOCAL_THRESHOLDS", "preprocess", "to_instances", "threshold_video", "make_method"]

GLOBAL_THRESHOLDS = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "triangle": filters.threshold_triangle,
    "yen": filters.threshold_yen,
    "isodata": filters.threshold_isodata,
    "mean": filters.threshold_mean,
    "minimum": filters.threshold_minimum,
}
LOCAL_THRESHOLDS = {
    "sauvola": filters.threshold_sauvola,
    "niblack": filters.threshold_niblack,
    "local": filters.threshold_local,
}

Denoise = Literal["none", "gaussian", "median", "nlmeans"]
Polarity = Literal["auto", "dark", "bright"]


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise UserError(f"parameter {name} = {value!r}: expected one of {', '.join(map(str, allowed))}")


def _check_range(name: str, value, lo, hi) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
        raise UserError(f"parameter {name} = {value!r}: expected a number in [{lo}, {hi}]")


def preprocess(
    video: np.ndarray,
    *,
    pixel_size_nm: float,
    temporal_window: int = 1,
    flatten_sigma_nm: float = 0.0,
    denoise: Denoise = "gaussian",
    denoise_sigma_nm: float = 1.5,
) -> np.ndarray:
    """Float32 (T, Y, X) video after temporal averaging, background flattening and denoising."""
    v = np.asarray(video, dtype=np.float32)
    if temporal_window > 1:
        v = ndimage.uniform_filter1d(v, int(temporal_window), axis=0, mode="nearest")
    out = np.empty_like(v)
    s_px = denoise_sigma_nm / pixel_size_nm
    for t in range(v.shape[0]):
        # Clip the 0.1 % extremes first: hot and dead pixels would otherwise set the threshold.
        lo, hi = np.percentile(v[t], [0.1, 99.9])
        f = np.clip(v[t], lo, hi)
        if flatten_sigma_nm > 0:
            f = f - ndimage.gaussian_filter(f, flatten_sigma_nm / pixel_size_nm, mode="reflect")
        if denoise == "gaussian" and s_px > 0:
            f = ndimage.gaussian_filter(f, s_px, mode="reflect")
        elif denoise == "median":
            f = ndimage.median_filter(f, size=max(3, int(round(2 * s_px)) | 1), mode="reflect")
        elif denoise == "nlmeans":
            scale = float(np.percentile(f, 99.5) - np.percentile(f, 0.5)) or 1.0
            g = (f - f.min()) / scale
            # Noise level from the median absolute neighbour difference (robust to edges).
            sigma = max(float(1.4826 * np.median(np.abs(np.diff(g, axis=1))) / np.sqrt(2)), 1e-6)
            f = restoration.denoise_nl_means(g, h=0.8 * sigma, sigma=sigma, patch_size=5,
                                             patch_distance=6, fast_mode=True).astype(np.float32) * scale
        out[t] = f
    return out


def to_instances(
    mask: np.ndarray,
    *,
    pixel_size_nm: float,
    min_area_nm2: float = 20.0,
    opening_radius_px: int = 1,
    fill_holes: bool = True,
    split_touching: bool = True,
    min_separation_nm: float = 6.0,
) -> np.ndarray:
    """Instance labels (Y, X) int32 from a binary foreground mask."""
    m = mask.astype(bool)
    if fill_holes:
        m = ndimage.binary_fill_holes(m)
    if opening_radius_px > 0:
        m = ndimage.binary_opening(m, morphology.disk(int(opening_radius_px)))
    min_px = int(np.ceil(min_area_nm2 / pixel_size_nm**2))
    if min_px > 1:
        m = morphology.remove_small_objects(m, max_size=min_px - 1)
    labels, _ = ndimage.label(m)
    if split_touching and labels.any():
        dist = ndimage.distance_transform_edt(labels > 0)
        sep = max(1, int(round(min_separation_nm / pixel_size_nm)))
        peaks = peak_local_max(dist, min_distance=sep, labels=labels, exclude_border=False)
        markers = np.zeros(labels.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = segmentation.watershed(-dist, markers, mask=labels > 0)
    labels, _, _ = segmentation.relabel_sequential(labels.astype(np.int32))
    return labels


def threshold_video(
    video: np.ndarray,
    meta: VideoMeta,
    *,
    method: str,
    polarity: Polarity = "auto",
    temporal_window: int = 1,
    flatten_sigma_nm: float = 0.0,
    denoise: Denoise = "gaussian",
    denoise_sigma_nm: float = 1.5,
    window_size: int = 31,
    k: float = 0.2,
    min_area_nm2: float = 20.0,
    opening_radius_px: int = 1,
    fill_holes: bool = True,
    split_touching: bool = True,
    min_separation_nm: float = 6.0,
) -> np.ndarray:
    """Threshold every frame of ``video`` with the scikit-image method ``method``."""
    _check_choice("method", method, list(GLOBAL_THRESHOLDS) + list(LOCAL_THRESHOLDS))
    _check_choice("polarity", polarity, ["auto", "dark", "bright"])
    _check_choice("denoise", denoise, ["none", "gaussian", "median", "nlmeans"])
    _check_range("temporal_window", temporal_window, 1, 99)
    _check_range("flatten_sigma_nm", flatten_sigma_nm, 0, 1e5)
    _check_range("denoise_sigma_nm", denoise_sigma_nm, 0, 1e4)
    _check_range("min_area_nm2", min_area_nm2, 0, 1e8)
    _check_range("opening_radius_px", opening_radius_px, 0, 50)
    _check_range("min_separation_nm", min_separation_nm, 0, 1e5)
    if method in LOCAL_THRESHOLDS:
        if not isinstance(window_size, int) or window_size < 3 or window_size % 2 == 0:
            raise UserError(f"parameter window_size = {window_size!r}: expected an odd integer >= 3")
        _check_range("k", k, -5, 5)
    video = np.asarray(video)
    if video.ndim != 3:
        raise UserError(f"video has shape {video.shape}: expected (T, Y, X)")
    bright = meta.particles_bright if polarity == "auto" else polarity == "bright"
    pre = preprocess(video, pixel_size_nm=meta.pixel_size_nm, temporal_window=int(temporal_window),
                     flatten_sigma_nm=flatten_sigma_nm, denoise=denoise, denoise_sigma_nm=denoise_sigma_nm)
    if not bright:
        pre = -pre
    out = np.zeros(video.shape, np.int32)
    for t in range(video.shape[0]):
        f = pre[t]
        if method in GLOBAL_THRESHOLDS:
            try:
                thr = GLOBAL_THRESHOLDS[method](f)
            except (RuntimeError, ValueError):  # e.g. minimum: histogram without two maxima
                thr = filters.threshold_otsu(f)
        elif method == "sauvola":
            thr = filters.threshold_sauvola(f, window_size=window_size, k=k)
        elif method == "niblack":
            thr = filters.threshold_niblack(f, window_size=window_size, k=k)
        else:
            thr = filters.threshold_local(f, block_size=window_size, method="gaussian", offset=-k * float(f.std()))
        out[t] = to_instances(f > thr, pixel_size_nm=meta.pixel_size_nm, min_area_nm2=min_area_nm2,
                              opening_radius_px=int(opening_radius_px), fill_holes=fill_holes,
                              split_touching=split_touching, min_separation_nm=min_separation_nm)
    return out


def make_method(name: str):
    """The plain ``segment(video, meta, **params)`` function of threshold ``name``."""

    def segment(video: np.ndarray, meta: VideoMeta, **params) -> np.ndarray:
        if "method" in params:
            raise UserError("parameter method: fixed by the method's name; remove it from --params")
        return threshold_video(video, meta, method=name, **params)

    segment.__name__ = name
    segment.__doc__ = f"{name} threshold (scikit-image) with pre- and post-processing; see threshold_video."
    return segment
