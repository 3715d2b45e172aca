"""From a binary mask to instance labels: fill holes, opening, small objects, watershed split."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.measure import label
from skimage.morphology import disk, local_maxima, opening, reconstruction
from skimage.segmentation import relabel_sequential, watershed

__all__ = ["to_instances", "split_touching"]


def split_touching(mask: np.ndarray, *, min_distance_px: int, split_depth_px: float = 2.0) -> np.ndarray:
    """Split touching particles: watershed of the negated distance transform from its peaks.

    Markers are the peaks of the distance transform (:func:`skimage.feature.peak_local_max`,
    at least ``min_distance_px`` apart), each grown to its h-dome region (the top
    ``split_depth_px`` of the distance transform, see :func:`_h_regions`); peaks sharing one region
    (the ridge of a rod, rippled by its pixelated outline) make one marker, so only a neck at
    least ``split_depth_px`` narrower than both sides splits a particle.

    Parameters
    ----------
    mask : (Y, X) bool
    min_distance_px : minimum distance (px) between two particle centres
    split_depth_px : how much (px) the distance must dip between two centres to split them

    Returns
    -------
    (Y, X) int32 labels; every connected component gets at least one label.
    """
    components = label(mask, connectivity=1)
    distance = ndimage.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=max(1, int(min_distance_px)), labels=components,
                           exclude_border=False)
    regions = label(_h_regions(distance, split_depth_px), connectivity=2)
    markers = np.zeros(mask.shape, np.int32)
    for i, (y, x) in enumerate(peaks, start=1):
        if regions[y, x] == 0:
            markers[y, x] = i
        elif not markers[regions == regions[y, x]].any():
            markers[regions == regions[y, x]] = i
    # A component without a peak keeps one marker of its own, at its distance maximum.
    missing = np.setdiff1d(np.unique(components[components > 0]), components[markers > 0])
    if missing.size:
        spots = ndimage.maximum_position(distance, components, missing)
        for i, (y, x) in enumerate(spots, start=len(peaks) + 1):
            markers[y, x] = i
    return watershed(-distance, markers, mask=mask, connectivity=1).astype(np.int32)


def _h_regions(distance: np.ndarray, h: float) -> np.ndarray:
    """Pixels within ``h`` of their dome's top: the regional maxima of the reconstruction by
    dilation of ``distance − h`` under ``distance`` (the h-maxima transform, Soille 2003, §6.3.4).
    """
    if h <= 0:
        return np.zeros(distance.shape, bool)
    rec = reconstruction(distance - h, distance, method="dilation")
    return local_maxima(rec, connectivity=2, allow_borders=True) & (distance > 0)


def to_instances(
    mask: np.ndarray,
    *,
    pixel_size_nm: float,
    fill_holes: bool = True,
    opening_radius_px: int = 0,
    min_area_nm2: float = 0.0,
    watershed: bool = True,
    min_distance_nm: float = 10.0,
    split_depth_px: float = 2.0,
) -> np.ndarray:
    """Instance labels of one frame's foreground mask.

    Parameters
    ----------
    mask : (Y, X) bool
        Foreground (particles).
    pixel_size_nm : pixel size (nm)
    fill_holes : fill holes inside particles (:func:`scipy.ndimage.binary_fill_holes`)
    opening_radius_px : radius (px) of a disk opening that removes thin spurs (0: off)
    min_area_nm2 : objects smaller than this area (nm²) are removed, before and after splitting
    watershed : split touching particles (:func:`split_touching`)
    min_distance_nm : minimum distance (nm) between the centres of two touching particles
    split_depth_px : dip (px) of the distance transform needed to split (:func:`split_touching`)

    Returns
    -------
    (Y, X) int32, labels 1..n, 0 = background.
    """
    mask = np.asarray(mask, dtype=bool)
    if fill_holes:
        mask = ndimage.binary_fill_holes(mask)
    if opening_radius_px > 0:
        mask = opening(mask, disk(int(opening_radius_px)))
    min_area_px = min_area_nm2 / pixel_size_nm**2
    labels = _drop_small(label(mask, connectivity=1).astype(np.int32), min_area_px)
    if watershed and labels.any():
        labels = _drop_small(split_touching(labels > 0, min_distance_px=round(min_distance_nm / pixel_size_nm),
                                            split_depth_px=split_depth_px),
                             min_area_px)
    return relabel_sequential(labels)[0].astype(np.int32)


def _drop_small(labels: np.ndarray, min_area_px: float) -> np.ndarray:
    """Labels with every object of fewer than ``min_area_px`` pixels set to background."""
    if min_area_px <= 0:
        return labels
    areas = np.bincount(labels.ravel())
    small = areas < min_area_px
    small[0] = False
    labels[small[labels]] = 0
    return labels
