"""From the two heads of :class:`unet.model.UNet` to instance labels.

Seeded watershed (Beucher & Meyer 1993, as in scikit-image) with two foreground thresholds, as in
hysteresis thresholding (Canny 1986; ``skimage.filters.apply_hysteresis_threshold``):

- the *outline* of every particle is the foreground probability's level ``threshold`` (0.5 is the
  pixel-wise decision of the trained head, whose loss is binary cross-entropy);
- the *seeds* are the connected components of the confident cores, ``foreground >
  seed_threshold`` and ``boundary <= boundary_threshold`` (the boundary head marks each
  particle's rim, so touching particles give separate seeds; a blob whose probability never
  reaches ``seed_threshold`` has no seed and is not a particle).

With one threshold for both (``seed_threshold=None``, the behaviour of models whose JSON predates
it) a high threshold that keeps noise out of the seeds also pulls every outline inside the
particle, and a low one that puts the outline in the right place lets touching particles share a
seed.

The watershed floods ``-foreground_probability`` from the seeds inside the outline mask, so every
foreground pixel joins the particle it is most connected to.  Two touching regions whose shared
border has a mean boundary probability below ``merge_threshold`` are then one particle (merging
regions by the strength of the boundary between them, as the ultrametric contour map of Arbeláez
et al., TPAMI 2011): a low ``boundary_threshold`` splits densely packed particles that touch along
a faint rim, and this step undoes the splits that noise in the boundary head makes inside one
particle (low-dose rods), where no rim separates the pieces.  Objects smaller than
``min_area_px`` are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.segmentation import find_boundaries, watershed

__all__ = ["border_strengths", "instances_from_probabilities", "keep_large", "merge_weak_borders", "targets_from_labels",
           "watershed_regions"]


def instances_from_probabilities(
    foreground: np.ndarray,
    boundary: np.ndarray,
    *,
    threshold: float = 0.5,
    boundary_threshold: float = 0.5,
    min_area_px: int = 8,
    seed_threshold: float | None = None,
    merge_threshold: float = 0.0,
) -> np.ndarray:
    """Instance labels of one frame.

    Parameters
    ----------
    foreground, boundary : (Y, X) float
        Probabilities (sigmoid of the logits) of the two heads.
    threshold : float
        Foreground probability above which a pixel belongs to a particle (the outline).
    boundary_threshold : float
        Boundary probability above which a foreground pixel is not a seed.
    min_area_px : int
        Smallest object kept (px); seeds smaller than a quarter of it are dropped.
    seed_threshold : float or None
        Foreground probability above which a pixel may be a seed; None: ``threshold``.  Values
        below ``threshold`` act as ``threshold`` (seeds lie inside the outline mask).
    merge_threshold : float
        Touching regions whose shared border (4-neighbour pixel pairs) has a mean boundary
        probability below it are merged; 0: never.

    Returns
    -------
    (Y, X) int32 labels, 0 = background, 1..N consecutive.
    """
    regions = watershed_regions(foreground, boundary, threshold=threshold, boundary_threshold=boundary_threshold,
                                min_area_px=min_area_px, seed_threshold=seed_threshold)
    if merge_threshold > 0:
        regions = merge_weak_borders(regions, border_strengths(regions, boundary), merge_threshold)
    return keep_large(regions, min_area_px)


def watershed_regions(foreground: np.ndarray, boundary: np.ndarray, *, threshold: float, boundary_threshold: float,
                      min_area_px: int, seed_threshold: float | None) -> np.ndarray:
    """The seeded watershed of :func:`instances_from_probabilities` (parameters as there): its
    regions before weak borders are merged and small objects dropped."""
    mask = foreground > threshold
    seeds_mask = mask & (boundary <= boundary_threshold)
    if seed_threshold is not None:
        seeds_mask &= foreground > seed_threshold
    seeds, _ = ndi.label(seeds_mask)
    seeds = keep_large(seeds, min_area_px // 4)
    return watershed(-foreground, markers=seeds, mask=mask)


def border_strengths(labels: np.ndarray, boundary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The borders between touching regions of ``labels`` and their mean ``boundary`` probability.

    A border is the set of 4-neighbour pixel pairs with two different non-zero labels; each pair
    contributes the mean boundary probability of its two pixels.

    Returns
    -------
    (pairs, strength)
        ``pairs`` (B, 2) int64, the two labels of each border (smaller first); ``strength`` (B,) float.
    """
    n = int(labels.max()) + 1
    pairs = [(labels[:, :-1], labels[:, 1:], boundary[:, :-1], boundary[:, 1:]),
             (labels[:-1, :], labels[1:, :], boundary[:-1, :], boundary[1:, :])]
    a = np.concatenate([p[0].ravel() for p in pairs]).astype(np.int64)
    b = np.concatenate([p[1].ravel() for p in pairs]).astype(np.int64)
    w = np.concatenate([(p[2] + p[3]).ravel() for p in pairs]) / 2
    border = (a != b) & (a > 0) & (b > 0)
    a, b, w = a[border], b[border], w[border]
    keys, inverse = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_inverse=True)
    return np.stack([keys // n, keys % n], axis=1), np.bincount(inverse, w) / np.bincount(inverse)


def merge_weak_borders(labels: np.ndarray, borders: tuple[np.ndarray, np.ndarray], threshold: float) -> np.ndarray:
    """Merge the touching regions of ``labels`` whose border (:func:`border_strengths`) is weaker than ``threshold``.

    Merging is transitive (connected components of the graph of weak borders); background stays 0.
    """
    pairs, strength = borders
    if not pairs.size:
        return labels
    n = int(labels.max()) + 1
    weak = pairs[strength < threshold]
    graph = coo_matrix((np.ones(len(weak)), (weak[:, 0], weak[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    new = np.zeros(n, np.int64)
    new[1:] = np.unique(component[1:], return_inverse=True)[1] + 1
    return new[labels]


def keep_large(labels: np.ndarray, min_area_px: int) -> np.ndarray:
    """``labels`` without the objects of fewer than ``min_area_px`` pixels, numbered 1..N in the
    order of their old labels ((Y, X) int32, 0 = background)."""
    keep = np.bincount(labels.ravel()) >= max(min_area_px, 1)  # an absent label is not kept
    keep[0] = False
    lut = (np.cumsum(keep) * keep).astype(np.int32)
    return lut[labels]


def targets_from_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one frame: foreground and inner-rim boundary masks, (Y, X) float32 each."""
    fg = (labels > 0).astype(np.float32)
    bd = find_boundaries(labels, mode="inner").astype(np.float32) * fg
    return fg, bd
