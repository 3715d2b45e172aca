"""Chains (clusters) of particles in contact: the ground truth of self-assembly.

Two particles are *in contact* when their outlines come within ``contact_nm`` of each other
(the shapely distance between the lab-frame outlines).  A *chain* is a connected component of
this contact graph (particles bound tip-to-tip or edge-to-edge form linear or branched chains,
Kim et al., *Nat. Commun.* 8, 761 (2017): LPEM of Au nanoparticle chains growing by step-growth
polymerization).  Its size, the number of particles it holds, grows as particles bind; for
step-growth (or Smoluchowski, constant kernel) aggregation the number-average size grows linearly
in time, ``⟨s⟩ = 1 + k n₀ t`` (Flory, *Principles of Polymer Chemistry*, 1953, ch. 3;
Smoluchowski, *Z. Phys. Chem.* 92, 129 (1917)), which is what :func:`mean_chain_size` follows.

The default contact distance, 2 nm, is twice the hard core of the interactions (the ~1 nm ligand
shell each particle carries, :mod:`.interactions`): bound particles sit in the van der Waals well
at 1–2 nm surface separation, free ones almost never come that close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["CONTACT_NM", "candidate_pairs", "contact_components", "chain_ids", "mean_chain_size"]

#: Default outline distance (nm) at which two particles are in contact.
CONTACT_NM = 2.0


def candidate_pairs(centres_nm: np.ndarray, radii_nm: np.ndarray, *, contact_nm: float = CONTACT_NM) -> np.ndarray:
    """Pairs (P, 2), i < j, whose outlines *can* come within ``contact_nm``: the bounding circles
    (centre ``centres_nm[i]``, radius ``radii_nm[i]`` holding outline i) are at most ``contact_nm``
    apart.  Every pair in contact is among them (the outline distance is at least the centre
    distance minus both radii); a k-d tree (``scipy.spatial.cKDTree``) finds them in O(N log N).

    Parameters
    ----------
    centres_nm : (N, 2) circle centres (nm)
    radii_nm : (N,) circle radii (nm)
    contact_nm : contact distance (nm)
    """
    centres_nm = np.asarray(centres_nm, float).reshape(-1, 2)
    radii_nm = np.asarray(radii_nm, float)
    if len(radii_nm) < 2:
        return np.zeros((0, 2), np.intp)
    reach = 2 * float(radii_nm.max()) + contact_nm
    pairs = cKDTree(centres_nm).query_pairs(reach * (1 + 1e-9) + 1e-9, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    gap = np.hypot(*(centres_nm[i] - centres_nm[j]).T) - radii_nm[i] - radii_nm[j]
    # a relative 1e-9 of slack: rounding of the centre distance never drops a pair in contact
    return pairs[gap <= contact_nm + 1e-9 * (1 + reach)]


def contact_components(outlines: Sequence | Callable[[np.ndarray], list], *, contact_nm: float = CONTACT_NM,
                       centres_nm: np.ndarray | None = None, radii_nm: np.ndarray | None = None) -> np.ndarray:
    """Component index (N,) of each outline in the contact graph (components numbered from 0 in
    order of their lowest member, so the numbering is deterministic).

    Parameters
    ----------
    outlines : N shapely polygons in the lab frame (nm); or, with ``centres_nm`` and
        ``radii_nm``, a function returning the polygons of the given particle indices (called
        once, only for the particles of :func:`candidate_pairs`, so that far-apart particles
        never build a geometry)
    contact_nm : outline distance (nm) at or below which two outlines are in contact
    centres_nm, radii_nm : (N, 2) and (N,), circles (nm) holding each outline; with them only the
        :func:`candidate_pairs` are measured (the same components, at a fraction of the cost)
    """
    if centres_nm is None or radii_nm is None:
        if callable(outlines):
            raise TypeError("outlines as a function needs centres_nm and radii_nm")
        n = len(outlines)
        if n == 0:
            return np.zeros(0, np.int64)
        left, right = shapely.STRtree(outlines).query(outlines, predicate="dwithin", distance=float(contact_nm))
        pair = left != right
        left, right = left[pair], right[pair]
    else:
        n = len(radii_nm)
        if n == 0:
            return np.zeros(0, np.int64)
        pairs = candidate_pairs(centres_nm, radii_nm, contact_nm=contact_nm)
        left = right = np.zeros(0, np.intp)
        if len(pairs):
            members = np.unique(pairs)
            geoms = np.empty(n, object)
            geoms[members] = outlines(members) if callable(outlines) else [outlines[k] for k in members]
            touch = shapely.dwithin(geoms[pairs[:, 0]], geoms[pairs[:, 1]], float(contact_nm))
            left, right = pairs[touch, 0], pairs[touch, 1]
    if not len(left):
        return np.arange(n, dtype=np.int64)  # every particle alone
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # renumber by first appearance (scipy already does, but do not rely on it)
    _, first = np.unique(comp, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[comp].astype(np.int64)


def chain_ids(outlines: Sequence | Callable[[np.ndarray], list], track_ids: np.ndarray, *,
              contact_nm: float = CONTACT_NM, centres_nm: np.ndarray | None = None,
              radii_nm: np.ndarray | None = None) -> np.ndarray:
    """Chain id (N,) of each particle: the smallest positive track id in its chain.

    Particles with track id 0 (out of view) take part in the contact graph (a chain may run out
    of the field and back) but give no id; a chain with no particle in view gets 0.  ``outlines``,
    ``centres_nm`` and ``radii_nm`` as in :func:`contact_components`.
    """
    track_ids = np.asarray(track_ids, np.int64)
    comp = contact_components(outlines, contact_nm=contact_nm, centres_nm=centres_nm, radii_nm=radii_nm)
    big = np.iinfo(np.int64).max
    best = np.full(comp.max(initial=-1) + 1, big, np.int64)
    np.minimum.at(best, comp, np.where(track_ids > 0, track_ids, big))
    out = best[comp]
    return np.where(out == big, 0, out)


def mean_chain_size(chain: np.ndarray) -> float:
    """Number-average chain size (particles per chain) of one frame's chain ids; NaN if empty."""
    chain = np.asarray(chain)
    return float(chain.size / np.unique(chain).size) if chain.size else float("nan")
