"""Chemical reactions of particles: etching and growth as boundary motion, dissolution,
nucleation and coalescence with Cell Tracking Challenge lineage of the particles in view.

Etching / growth (:func:`evolve_outline`).  The outline, resampled at ``spacing_nm``, moves along
its inward normal with the speed

    v_n = k + |k| (g κ ℓ + a cos² φ_n)

with ``k`` the base rate (nm/s; > 0 etches, < 0 grows), κ the local curvature (1/nm; > 0 at
convex corners and tips), ℓ a capillary length, ``g`` a curvature gain, φ_n the angle of the
outward normal to the body x axis and ``a`` a facet anisotropy (the ends of a rod etch faster
than its sides).  The curvature term is the linearised Gibbs–Thomson excess chemical potential
(Δμ = γΩκ: tips dissolve faster and grow slower, so etched rods shorten and round and prisms lose
their tips; cf. the shape trajectories of Au nanocrystals etched in LPEM, Ye et al., *Science*
354, 874 (2016)).  The base rate grows with dose rate as the steady-state concentration of
radiolytic oxidants, ≈ (dose rate)^½ (Schneider et al., *J. Phys. Chem. C* 118, 22373 (2014)):
``k = k_ref (D / D_ref)^½`` (:func:`dose_rate_scaling`).  The thickness shrinks consistently:
plates lose ``2 k dt`` (both basal faces at the base rate), rounded bodies (spheres, rods) keep
their thickness equal to twice the inscribed radius (:func:`etched_thickness`).

Dissolution: a particle whose area falls below ``π r_c²`` dissolves (event ``dissolve``; its
track ends).  Nucleation: new particles appear as a Poisson process of rate ``J`` per area per
second (event ``nucleate``).  Coalescence: particles whose outlines touch merge into one new
particle whose parents are both (event ``merge``): its outline is the convex hull of the union
and its thickness is set so that the volume is conserved (:func:`merge_outlines`).

:class:`Lineage` turns these physical events and what is visible in each frame into tracks (id,
first_frame, last_frame, parents) and events, tables in the layout of ``../shared/DESIGN.md``.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

__all__ = ["dose_rate_scaling", "evolve_outline", "etched_thickness", "merge_outlines", "nucleation_count",
           "Lineage"]


def dose_rate_scaling(rate_ref_nm_s: float, dose_rate: float, dose_rate_ref: float) -> float:
    """Base etch rate at ``dose_rate``: ``k_ref (D/D_ref)^½`` (radiolysis steady state, Schneider 2014)."""
    return float(rate_ref_nm_s * np.sqrt(dose_rate / dose_rate_ref))


def _resample(poly: Polygon, spacing_nm: float) -> np.ndarray:
    ring = poly.exterior
    n = max(12, int(np.ceil(ring.length / spacing_nm)))
    pts = shapely.get_coordinates(shapely.line_interpolate_point(ring, np.linspace(0, ring.length, n, endpoint=False)))
    if shapely.LinearRing(pts).is_ccw is False:
        pts = pts[::-1]
    return pts


def _normals_curvature(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outward unit normals (K, 2) and signed curvature (K,) of a closed CCW polyline."""
    nxt, prv = np.roll(pts, -1, 0), np.roll(pts, 1, 0)
    e1, e2 = pts - prv, nxt - pts
    l1, l2 = np.hypot(*e1.T), np.hypot(*e2.T)
    t = e1 / l1[:, None] + e2 / l2[:, None]
    t /= np.hypot(*t.T)[:, None]
    normal = np.stack([t[:, 1], -t[:, 0]], 1)  # right of the tangent: outward for CCW
    turn = np.arctan2(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0], (e1 * e2).sum(1))
    return normal, turn / (0.5 * (l1 + l2))


def evolve_outline(poly: Polygon, rate_nm_s: float, duration_s: float, *, curvature_gain: float = 1.0,
                   capillary_nm: float = 2.0, anisotropy: float = 0.0, spacing_nm: float = 0.5) -> Polygon | None:
    """Move a body-frame outline for ``duration_s`` under the normal speed of the module docstring.

    Sub-steps keep every vertex's move below ``spacing_nm / 2`` and the explicit curvature flow
    stable (dt ≤ Δs²/(4|k|gℓ)); the vertices are resampled only
    when their spacing drifts out of [½, 2] × ``spacing_nm`` or the outline self-intersects
    (then ``shapely.make_valid``, largest piece kept).  Returns ``None`` once nothing is left.

    Parameters
    ----------
    poly : outline (nm); rate_nm_s : base rate k (> 0 etches, < 0 grows); duration_s : time (s)
    curvature_gain, capillary_nm, anisotropy : g, ℓ (nm) and a
    spacing_nm : resampling distance (nm)
    """
    if rate_nm_s == 0 or duration_s <= 0:
        return poly
    k = abs(rate_nm_s)
    t_left = float(duration_s)
    pts = _resample(poly, spacing_nm)
    while t_left > 0:
        normal, kappa = _normals_curvature(pts)
        v = rate_nm_s + k * (curvature_gain * kappa * capillary_nm + anisotropy * normal[:, 0] ** 2)
        edge = float(np.hypot(*(np.roll(pts, -1, 0) - pts).T).min())
        # explicit curvature flow is a diffusion of the outline with D = |k| g ℓ: stable for
        # dt ≤ Δs² / (4 D) (von Neumann); and no vertex moves more than half the spacing
        dt = min(t_left, 0.5 * spacing_nm / max(np.abs(v).max(), 1e-12),
                 0.25 * edge**2 / max(k * curvature_gain * capillary_nm, 1e-12))
        new = pts - (v * dt)[:, None] * normal
        t_left -= dt
        moved = Polygon(new)
        edges = np.hypot(*(np.roll(new, -1, 0) - new).T)
        if moved.is_valid and edges.min() > 0.5 * spacing_nm and edges.max() < 2 * spacing_nm:
            pts = new  # resample only when needed: each resampling cuts chords and shrinks a little
            continue
        fixed = shapely.make_valid(moved)
        pieces = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon) and not g.is_empty]
        if not pieces or max(g.area for g in pieces) < spacing_nm**2:
            return None
        pts = _resample(max(pieces, key=lambda g: g.area), spacing_nm)
    out = Polygon(pts)
    return out if out.area >= spacing_nm**2 else None


def etched_thickness(thickness_nm: float, outline: Polygon, rate_nm_s: float, duration_s: float, *,
                     rounded: bool) -> float:
    """Thickness after etching (nm): 2 × inscribed radius for rounded bodies, ``h − 2 k t`` for plates."""
    if rounded:
        c = outline.centroid
        return float(2 * outline.exterior.distance(c)) if outline.contains(c) else 0.0
    return float(max(thickness_nm - 2 * rate_nm_s * duration_s, 0.0))


def merge_outlines(a: Polygon, pos_a: np.ndarray, angle_a: float, volume_a: float, b: Polygon,
                   pos_b: np.ndarray, angle_b: float, volume_b: float) -> tuple[Polygon, np.ndarray, float]:
    """Coalesce two particles: (body-frame outline, lab centre (2,), mean thickness nm).

    The new outline is the convex hull of the two lab outlines, centred on its centroid (its body
    frame is the lab frame); the mean thickness ``(V_a + V_b) / area`` conserves volume.
    """
    from shapely import affinity

    la = affinity.translate(affinity.rotate(a, angle_a, origin=(0, 0), use_radians=True), *pos_a)
    lb = affinity.translate(affinity.rotate(b, angle_b, origin=(0, 0), use_radians=True), *pos_b)
    hull = shapely.union(la, lb).convex_hull
    c = np.array([hull.centroid.x, hull.centroid.y])
    body = affinity.translate(hull, -c[0], -c[1])
    return body, c, float((volume_a + volume_b) / body.area)


def nucleation_count(rate_per_nm2_s: float, area_nm2: float, duration_s: float, *, rng: np.random.Generator) -> int:
    """Number of nuclei in ``duration_s`` (Poisson of mean J·A·t)."""
    return int(rng.poisson(rate_per_nm2_s * area_nm2 * duration_s))


class Lineage:
    """Tracks and events of the particles *in view*, built from the simulation's physical events.

    The simulation gives every particle a persistent internal key (``uid``) and reports what
    happens to it (:meth:`record`: ``nucleate``, ``dissolve``, ``merge``); once per frame it says
    which uids are visible in the labels (:meth:`view`).  Tracks follow the Cell Tracking
    Challenge convention (a track is a run of consecutive frames, Ulman et al., *Nat. Methods* 14,
    1141 (2017)):

    - a uid visible at frames t−1 and t keeps its track;
    - a uid visible at t but not at t−1 starts a new track: a ``merge`` child whose parents were in
      view at t−1 has them as parents (event ``merge``: parents, child); a new nucleus is a
      ``nucleate``; any other (a particle coming into the field, also one that left earlier) an
      ``enter`` with no parent, since a method that sees only the field cannot know it is the same
      particle;
    - a uid visible at t−1 but not at t ends its track at t−1: ``dissolve``, the parent of a
      ``merge``, or ``leave`` (it went out of the field).

    ``tracks`` rows: id, first_frame, last_frame, parents (space-separated ids, "" for none);
    ``events`` rows: frame, kind, ids (space-separated track ids).  Track ids count from 1 in the
    order tracks start (by uid order within a frame), so they are deterministic.
    """

    def __init__(self) -> None:
        self._tracks: dict[int, dict] = {}
        self.events: list[dict] = []
        self.next_id = 1
        self._track_of: dict[int, int] = {}  # uid -> track id of the uids in view at the last frame
        self._pending: dict[str, dict] = {"nucleate": {}, "dissolve": {}, "merge": {}}

    def record(self, kind: str, uids: list[int] | tuple[int, ...]) -> None:
        """A physical event before the next :meth:`view`: ``nucleate`` (uid), ``dissolve`` (uid) or
        ``merge`` (parent uid, parent uid, child uid)."""
        uids = [int(u) for u in uids]
        if kind == "merge":
            self._pending["merge"][uids[2]] = uids[:2]
        else:
            self._pending[kind][uids[0]] = True

    def view(self, frame: int, visible: np.ndarray | list[int]) -> dict[int, int]:
        """The uids visible at ``frame`` (ascending); returns uid -> track id for them and appends
        this frame's events."""
        visible = [int(u) for u in visible]
        now = set(visible)
        merged = self._pending["merge"]
        ended_by_merge = {p for ps in merged.values() for p in ps}
        for uid in sorted(self._track_of):
            if uid in now:
                continue
            track = self._track_of[uid]
            if uid in self._pending["dissolve"]:
                self._event(frame, "dissolve", [track])
            elif uid not in ended_by_merge:
                self._event(frame, "leave", [track])
        out: dict[int, int] = {}
        for uid in visible:
            if uid in self._track_of:
                out[uid] = self._track_of[uid]
                self._tracks[out[uid]]["last_frame"] = frame
                continue
            parents = [self._track_of[p] for p in merged.get(uid, []) if p in self._track_of]
            out[uid] = self._start(frame, parents)
            if parents:
                self._event(frame, "merge", parents + [out[uid]])
            elif uid in self._pending["nucleate"]:
                self._event(frame, "nucleate", [out[uid]])
            elif frame > 0:
                self._event(frame, "enter", [out[uid]])
        for child, ps in merged.items():  # parents in view whose child is not: they leave with it
            for p in ps:
                if p in self._track_of and child not in out:
                    self._event(frame, "leave", [self._track_of[p]])
        self._track_of = out
        self._pending = {"nucleate": {}, "dissolve": {}, "merge": {}}
        return out

    def _start(self, frame: int, parents: list[int]) -> int:
        i = self.next_id
        self.next_id += 1
        self._tracks[i] = {"id": i, "first_frame": frame, "last_frame": frame,
                           "parents": " ".join(str(p) for p in parents)}
        return i

    def _event(self, frame: int, kind: str, ids: list[int]) -> None:
        self.events.append({"frame": frame, "kind": kind, "ids": " ".join(str(i) for i in ids)})

    @property
    def tracks(self) -> list[dict]:
        """Track rows sorted by id."""
        return [dict(self._tracks[i]) for i in sorted(self._tracks)]
