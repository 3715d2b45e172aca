"""Intensity normalisation shared by training and inference.

Frames of any dtype (uint8 real camera frames, uint16 simulated ones, float) are mapped to float32
with the background near 0 and particles positive and of order 1, whatever the imaging mode:
bright-field frames (dark particles) are inverted so particles are always bright.  Each frame is
scaled by robust percentiles, so the model sees the same range on simulated and real frames,
at any dose and gain.  Pixels that are not finite (NaN or infinite: dead or saturated pixels of a
float frame, gaps of a stitched one) are set to the median of the frame's finite pixels, so they
look like background and do not spoil the percentiles (one NaN made every pixel NaN).
"""

from __future__ import annotations

import numpy as np

from simulator.errors import UserError

__all__ = ["normalize_frames", "DEFAULT_PERCENTILES"]

#: (low, high) percentiles (%) mapped to 0 and 1: the low one sits in the background, the high
#: one near the brightest particle pixels; hot pixels above it are clipped.
DEFAULT_PERCENTILES = (1.0, 99.8)
#: Largest number of pixels per frame used to estimate the percentiles (a strided subsample).
_MAX_SAMPLES = 65_536


def normalize_frames(
    frames: np.ndarray,
    *,
    particles_bright: bool,
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    clip: tuple[float, float] = (-1.0, 3.0),
) -> np.ndarray:
    """Normalise frames to float32, particles bright.

    Parameters
    ----------
    frames : (T, Y, X) or (Y, X) array, uint8, uint16, int or float
        Recorded intensities.
    particles_bright : bool
        True for HAADF (particles brighter than the liquid), False for bright-field (inverted).
    percentiles : (low, high), %
        Per-frame percentiles mapped to 0 and 1 after inversion.
    clip : (low, high)
        Range of the result (hot/dead pixels clipped).

    Returns
    -------
    (T, Y, X) or (Y, X) float32; a pixel that is NaN or infinite (also after conversion to float32)
    is set to the median of the frame's finite pixels before it is scaled.

    Raises
    ------
    UserError
        A frame with no finite pixel at all (one line naming the frame).
    """
    arr = np.asarray(frames)
    if arr.ndim not in (2, 3):
        raise ValueError(f"frames of shape {arr.shape}: expected (T, Y, X) or (Y, X)")
    squeeze = arr.ndim == 2
    x = arr[None] if squeeze else arr
    x = x.astype(np.float32, copy=True)
    if not particles_bright:
        np.negative(x, out=x)
    for t in range(x.shape[0]):
        frame = x[t]
        bad = ~np.isfinite(frame)
        if bad.any():
            if bad.all():
                raise UserError(f"frame {t}: no finite pixel (all NaN or infinite); expected intensities")
            frame[bad] = np.median(frame[~bad])
        step = max(1, int(np.sqrt(frame.size / _MAX_SAMPLES)))
        lo, hi = np.percentile(frame[::step, ::step], percentiles)
        scale = hi - lo if hi > lo else 1.0
        frame -= lo
        frame /= scale
    np.clip(x, clip[0], clip[1], out=x)
    return x[0] if squeeze else x
