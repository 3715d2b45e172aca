"""From the two heads of :class:`unet.model.UNet` to instance labels.

Seeded watershed (Beucher & Meyer 1993, as in scikit-image): seeds are the connected components
of ``foreground & ~boundary`` (the boundary head marks each particle's rim, so touching
particles give separate seeds); the watershed floods ``-foreground_probability`` from the seeds
inside the foreground mask, so every foreground pixel joins the particle it is most connected to.
Objects smaller than ``min_area_px`` are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries, watershed

__all__ = ["instances_from_probabilities", "targets_from_labels"]


def instances_from_probabilities(
    foreground: np.ndarray,
    boundary: np.ndarray,
    *,
    threshold: float = 0.5,
    boundary_threshold: float = 0.5,
    min_area_px: int = 8,
) -> np.ndarray:
    """Instance labels of one frame.

    Parameters
    ----------
    foreground, boundary : (Y, X) float
        Probabilities (sigmoid of the logits) of the two heads.
    threshold : float
        Foreground probability above which a pixel belongs to a particle.
    boundary_threshold : float
        Boundary probability above which a foreground pixel is not a seed.
    min_area_px : int
        Smallest object kept (px); smaller seeds are dropped too.

    Returns
    -------
    (Y, X) int32 labels, 0 = background, 1..N consecutive.
    """
    mask = foreground > threshold
    seeds_mask = mask & (boundary <= boundary_threshold)
    seeds, _ = ndi.label(seeds_mask)
    seeds = _drop_small(seeds, max(1, min_area_px // 4))
    labels = watershed(-foreground, markers=seeds, mask=mask)
    labels = _drop_small(labels, min_area_px)
    out = np.zeros(labels.shape, np.int32)
    ids = np.unique(labels[labels > 0])
    lut = np.zeros(int(labels.max()) + 1, np.int32)
    lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
    out[...] = lut[labels]
    return out


def _drop_small(labels: np.ndarray, min_area_px: int) -> np.ndarray:
    """Zero the objects of fewer than ``min_area_px`` pixels."""
    sizes = np.bincount(labels.ravel())
    sizes[0] = min_area_px
    return np.where(sizes[labels] < min_area_px, 0, labels)


def targets_from_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one frame: foreground and inner-rim boundary masks, (Y, X) float32 each."""
    fg = (labels > 0).astype(np.float32)
    bd = find_boundaries(labels, mode="inner").astype(np.float32) * fg
    return fg, bd
