"""The thresholding family: scikit-image's global and local thresholds as segmentation methods.

Every method here is a plain function ``segment(video, meta, *, ...) -> labels`` (the interface
of ``shared/DESIGN.md``) with keyword-only parameters and defaults.  Each frame is
pre-processed (:mod:`baselines.preprocess`, which makes particles dark), thresholded by the
scikit-image function named in the method (foreground = ``frame <= threshold``, the complement of
scikit-image's ``frame > threshold``), and turned into instances
(:mod:`baselines.postprocess`).  Frames are thresholded independently; labels do not persist
across frames (the benchmark links them before tracking metrics).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np
from skimage import filters
from tqdm.auto import tqdm

from simulator.errors import UserError
from simulator.video import VideoMeta

from ._params import Param
from .postprocess import to_instances
from .preprocess import DENOISERS, POLARITIES, preprocess, resolve_polarity

__all__ = [
    "COMMON_PARAMS", "otsu", "li", "triangle", "yen", "isodata", "mean", "minimum",
    "sauvola", "niblack", "local", "threshold_mask", "frame_progress",
]

log = logging.getLogger(__name__)

_FRAME_PROGRESS: ContextVar[bool] = ContextVar("baselines_frame_progress", default=False)


@contextlib.contextmanager
def frame_progress(enabled: bool = True) -> Iterator[None]:
    """Within this block the thresholding methods show a tqdm bar over frames (the CLI's)."""
    token = _FRAME_PROGRESS.set(enabled)
    try:
        yield
    finally:
        _FRAME_PROGRESS.reset(token)

#: Parameters shared by every thresholding method (pre- and post-processing).
COMMON_PARAMS: dict[str, Param] = {
    "polarity": Param("auto", str, "particles 'dark' or 'bright'; 'auto' reads meta.mode (haadf: bright)",
                      choices=POLARITIES),
    "temporal_window": Param(1, int, "odd number of neighbouring frames averaged (1: off)", low=1, high=99, odd=True),
    # 0.1 %: a few pixels of a 256² frame, more than the simulated detector's defect pixels.
    "clip_percent": Param(0.1, float, "clip each frame to its [p, 100-p] percentiles (0: off)", low=0.0, high=10.0),
    "denoise": Param("gaussian", str, "denoising before thresholding", choices=DENOISERS),
    # sigma 1 px: a light smoothing of per-pixel shot noise, smaller than any particle edge blur.
    "sigma_px": Param(1.0, float, "Gaussian denoising sigma (px)", low=0.0, high=20.0),
    "median_size_px": Param(3, int, "median denoising window (px)", low=1, high=31, odd=True),
    "nlm_h": Param(0.6, float, "non-local means h in units of the estimated noise sigma "
                   "(0.6: scikit-image's non-local means example)", low=0.0, high=5.0),
    "background_sigma_nm": Param(0.0, float, "sigma (nm) of the Gaussian background removed (0: off)", low=0.0),
    "fill_holes": Param(True, bool, "fill holes inside particles"),
    "opening_radius_px": Param(0, int, "radius (px) of a disk opening (0: off)", low=0, high=10),
    # 10 nm²: a 3.6-nm disk, below the smallest preset particles (Pt nanocrystals of 2-8 nm,
    # growth-coalescence preset; Zheng et al. 2009) yet above single-pixel noise at 1 nm/px.
    "min_area_nm2": Param(10.0, float, "objects below this area (nm²) are removed", low=0.0),
    "watershed": Param(True, bool, "split touching particles by watershed on the distance transform"),
    # 10 nm: below the centre distance of two touching 20-25 nm prisms/cubes of the presets.
    "min_distance_nm": Param(10.0, float, "minimum distance (nm) between centres of touching particles", low=0.0),
    # 2 px: ripples of the distance transform along a pixelated, noisy outline stay below it (the
    # 14-nm rods of etching-rods stay whole at 2 px, one of five splits at 1 px: 96², seed 3).
    "split_depth_px": Param(2.0, float, "dip (px) of the distance transform between two centres needed "
                            "to split them", low=0.0, high=50.0),
}

_NBINS = Param(256, int, "histogram bins (scikit-image default)", low=2, high=65536)
# 51 px: several diameters of a 20-25 nm particle at 1 nm/px, so that a window sees background
# around a particle (scikit-image's default of 15 px is smaller than one particle).
_WINDOW = Param(51, int, "local window size (px)", low=3, high=1001, odd=True)


def threshold_mask(frame: np.ndarray, threshold: Callable[..., Any], **kwargs: Any) -> np.ndarray:
    """Dark-particle foreground ``frame <= threshold(frame, **kwargs)``.

    Parameters
    ----------
    frame : (Y, X) float
        Pre-processed frame, particles dark.
    threshold : a scikit-image threshold function returning a scalar or a (Y, X) array

    Returns
    -------
    (Y, X) bool; empty for a constant frame or when the threshold does not exist (for example
    :func:`skimage.filters.threshold_minimum` on a histogram without two maxima).
    """
    if frame.max() == frame.min():
        return np.zeros(frame.shape, bool)
    try:
        t = threshold(frame, **kwargs)
    except RuntimeError as exc:
        log.warning("%s found no threshold (%s); frame left empty", threshold.__name__, exc)
        return np.zeros(frame.shape, bool)
    return frame <= t


def _run(video: np.ndarray, meta: VideoMeta, threshold: Callable[..., Any], kwargs: dict[str, Any],
         p: dict[str, Any]) -> np.ndarray:
    video = np.asarray(video)
    if video.ndim != 3:
        raise UserError(f"video {meta.video_id}: expected frames (T, Y, X), got shape {video.shape}")
    bright = resolve_polarity(p["polarity"], meta)
    frames = preprocess(
        video, particles_bright=bright, pixel_size_nm=meta.pixel_size_nm,
        temporal_window=p["temporal_window"], denoise=p["denoise"], sigma_px=p["sigma_px"],
        median_size_px=p["median_size_px"], nlm_h=p["nlm_h"], background_sigma_nm=p["background_sigma_nm"],
        clip_percent=p["clip_percent"],
    )
    labels = np.zeros(video.shape, np.int32)
    bar = tqdm(frames, total=video.shape[0], desc=meta.video_id, unit="frame", leave=False,
               disable=not _FRAME_PROGRESS.get())
    for t, frame in enumerate(bar):
        labels[t] = to_instances(
            threshold_mask(frame, threshold, **kwargs), pixel_size_nm=meta.pixel_size_nm,
            fill_holes=p["fill_holes"], opening_radius_px=p["opening_radius_px"],
            min_area_nm2=p["min_area_nm2"], watershed=p["watershed"], min_distance_nm=p["min_distance_nm"],
            split_depth_px=p["split_depth_px"],
        )
    return labels


def _method(name: str, summary: str, threshold: Callable[..., Any], specific: dict[str, Param],
            to_skimage: Callable[[np.ndarray, dict[str, Any]], dict[str, Any]] | None = None) -> Callable[..., np.ndarray]:
    """A segmentation method: ``threshold`` with its ``specific`` parameters plus the common ones.

    ``to_skimage(frame, params)`` maps the method's parameters to ``threshold``'s keyword
    arguments (default: the specific parameters as they are).
    """
    params = {**specific, **COMMON_PARAMS}

    def segment(video: np.ndarray, meta: VideoMeta, **kw: Any) -> np.ndarray:
        from .registry import validate_params

        p = {k: v.default for k, v in params.items()}
        p.update(validate_params(segment, kw, method=name))
        if to_skimage is None:
            return _run(video, meta, threshold, {k: p[k] for k in specific}, p)
        return _run(video, meta, _bind(threshold, to_skimage, p), {}, p)

    lines = "\n".join(f"{k} : {v.kind.__name__}, default {v.default!r}\n    {v.help}; {v.allowed()}"
                      for k, v in params.items())
    segment.__doc__ = (
        f"{summary}\n\n"
        f"Threshold: :func:`skimage.filters.{threshold.__name__}` on each pre-processed frame.\n\n"
        f"Parameters\n----------\nvideo : (T, Y, X) numeric\n    Recorded frames.\n"
        f"meta : VideoMeta\n    Pixel size (nm) and mode (polarity).\n{lines}\n\n"
        f"Returns\n-------\n(T, Y, X) int32\n    Instance labels, 0 = background."
    )
    segment.__name__ = segment.__qualname__ = name
    segment.__module__ = __name__
    segment.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("video", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="np.ndarray"),
         inspect.Parameter("meta", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="VideoMeta")]
        + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v.default, annotation=v.kind.__name__)
           for k, v in params.items()],
        return_annotation="np.ndarray",
    )
    segment.__nanoaq_params__ = params  # type: ignore[attr-defined]
    return segment


def _bind(threshold: Callable[..., Any], to_skimage: Callable[[np.ndarray, dict[str, Any]], dict[str, Any]],
          p: dict[str, Any]) -> Callable[[np.ndarray], Any]:
    def bound(frame: np.ndarray) -> Any:
        return threshold(frame, **to_skimage(frame, p))

    bound.__name__ = threshold.__name__
    return bound


otsu = _method("otsu", "Global Otsu threshold (maximum between-class variance).",
               filters.threshold_otsu, {"nbins": _NBINS})
li = _method("li", "Global Li threshold (minimum cross-entropy).", filters.threshold_li, {})
triangle = _method("triangle", "Global triangle threshold (histogram peak-to-tail chord).",
                   filters.threshold_triangle, {"nbins": _NBINS})
yen = _method("yen", "Global Yen threshold (maximum correlation criterion).",
              filters.threshold_yen, {"nbins": _NBINS})
isodata = _method("isodata", "Global ISODATA threshold (Ridler-Calvard iterative intermeans).",
                  filters.threshold_isodata, {"nbins": _NBINS})
mean = _method("mean", "Global threshold at the mean intensity.", filters.threshold_mean, {})
minimum = _method("minimum", "Global threshold at the minimum between the two histogram peaks.",
                  filters.threshold_minimum,
                  {"nbins": _NBINS, "max_num_iter": Param(10000, int, "histogram smoothing iterations "
                                                          "(scikit-image default)", low=1)})
sauvola = _method("sauvola", "Local Sauvola threshold m·(1 + k·(s/R − 1)) in a sliding window.",
                  filters.threshold_sauvola,
                  # k = 0.05, not scikit-image's 0.2 (meant for ink on paper): simulated particles have
                  # ~5-10 % contrast; 0.05 scored best of 0.02-0.4 on brownian-prisms (128², seed 1).
                  {"window_size": _WINDOW, "k": Param(0.05, float, "Sauvola k", low=0.0, high=1.0)},
                  # R, the dynamic range of the standard deviation: half the frame's range, as
                  # scikit-image takes half the dtype's range (its float default, 1, suits [0, 1]).
                  to_skimage=lambda frame, p: {"window_size": p["window_size"], "k": p["k"],
                                               "r": 0.5 * float(frame.max() - frame.min())})
niblack = _method("niblack", "Local Niblack threshold m − k·s in a sliding window.",
                  filters.threshold_niblack,
                  {"window_size": _WINDOW, "k": Param(0.2, float, "Niblack k (scikit-image default)", low=-2.0, high=2.0)})
local = _method("local", "Local threshold: Gaussian-weighted mean in a window minus an offset.",
                filters.threshold_local,
                {"block_size": _WINDOW,
                 "offset_std": Param(0.0, float, "offset subtracted from the local mean, in units of the "
                                     "frame's standard deviation", low=-5.0, high=5.0)},
                to_skimage=lambda frame, p: {"block_size": p["block_size"], "method": "gaussian",
                                             "offset": p["offset_std"] * float(frame.std())})
