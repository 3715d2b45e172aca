"""Physics recovery: what a segmentation lets a scientist measure, against the simulated truth.

``diffusion_rel_error``: the diffusion coefficient estimated from the segmented tracks against
the one simulated.  For every track, centroids (nm) in consecutive frames give one-frame
displacements; ``D = ⟨Δr²⟩ / (4 Δt)`` pooled over tracks (the MSD at lag one frame, the
least-biased lag for short tracks, Michalet, *Phys. Rev. E* 82, 041914 (2010)).  The truth is the
same estimator applied to the ground-truth labels, so that the score measures what segmentation
loses, not the finite-sample scatter of the walk itself.  Only videos whose particles move
(``D_nm2_s`` > 0 in the table) get this metric.

Pair-potential, etch-rate and chain-growth recovery need interactions and reactions in the
simulator, which it does not have yet.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from simulator.video import Video

__all__ = ["track_diffusion", "diffusion_rel_error"]


def track_diffusion(tracks: np.ndarray, *, pixel_size_nm: float, frame_interval_s: float) -> float:
    """Pooled lag-1 MSD / (4 Δt) (nm²/s) of a label video whose labels are track ids; NaN if none."""
    sq = []
    prev: dict[int, np.ndarray] = {}
    for t in range(tracks.shape[0]):
        ids = np.unique(tracks[t][tracks[t] > 0])
        cents = ndimage.center_of_mass(np.ones_like(tracks[t]), tracks[t], ids) if len(ids) else []
        cur = {int(i): np.asarray(c) * pixel_size_nm for i, c in zip(ids, cents)}
        for i, c in cur.items():
            if i in prev:
                sq.append(float(((c - prev[i]) ** 2).sum()))
        prev = cur
    return float(np.mean(sq) / (4 * frame_interval_s)) if sq else float("nan")


def diffusion_rel_error(video: Video, tracks: np.ndarray) -> float:
    """|D(segmented tracks) − D(true tracks)| / D(true tracks); NaN when nothing moves."""
    if not any(float(r.get("D_nm2_s", 0) or 0) > 0 for r in video.particles):
        return float("nan")
    kw = dict(pixel_size_nm=video.meta.pixel_size_nm, frame_interval_s=video.meta.frame_interval_s)
    d_true = track_diffusion(video.labels.astype(np.int64), **kw)
    d_seg = track_diffusion(tracks, **kw)
    if not np.isfinite(d_true) or d_true <= 0:
        return float("nan")
    return float(abs(d_seg - d_true) / d_true) if np.isfinite(d_seg) else 1.0
