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

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["CONTACT_NM", "contact_components", "chain_ids", "mean_chain_size"]

#: Default outline distance (nm) at which two particles are in contact.
CONTACT_NM = 2.0


def contact_components(outlines: list, *, contact_nm: float = CONTACT_NM) -> np.ndarray:
    """Component index (N,) of each outline in the contact graph (components numbered from 0 in
    order of their lowest member, so the numbering is deterministic).

    Parameters
    ----------
    outlines : N shapely polygons in the lab frame (nm)
    contact_nm : outline distance (nm) at or below which two outlines are in contact
    """
    n = len(outlines)
    if n == 0:
        return np.zeros(0, np.int64)
    left, right = shapely.STRtree(outlines).query(outlines, predicate="dwithin", distance=float(contact_nm))
    pair = left != right
    graph = coo_matrix((np.ones(int(pair.sum())), (left[pair], right[pair])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # renumber by first appearance (scipy already does, but do not rely on it)
    _, first = np.unique(comp, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[comp].astype(np.int64)


def chain_ids(outlines: list, track_ids: np.ndarray, *, contact_nm: float = CONTACT_NM) -> np.ndarray:
    """Chain id (N,) of each particle: the smallest positive track id in its chain.

    Particles with track id 0 (out of view) take part in the contact graph (a chain may run out
    of the field and back) but give no id; a chain with no particle in view gets 0.
    """
    track_ids = np.asarray(track_ids, np.int64)
    comp = contact_components(outlines, contact_nm=contact_nm)
    big = np.iinfo(np.int64).max
    best = np.full(comp.max(initial=-1) + 1, big, np.int64)
    np.minimum.at(best, comp, np.where(track_ids > 0, track_ids, big))
    out = best[comp]
    return np.where(out == big, 0, out)


def mean_chain_size(chain: np.ndarray) -> float:
    """Number-average chain size (particles per chain) of one frame's chain ids; NaN if empty."""
    chain = np.asarray(chain)
    return float(chain.size / np.unique(chain).size) if chain.size else float("nan")
