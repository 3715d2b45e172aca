"""Particle shapes: an in-plane outline (shapely polygon, nm, body frame centred at the origin)
and a 3-D projected-thickness profile.

The projected thickness of a particle at an in-plane point depends on ``d``, the distance from
that point to the outline (inside only):

- ``rounded`` profile: ``t(d) = h · sqrt(1 − (1 − min(d, r)/r)²)``.  With ``r = h/2 = R`` this is
  exact for a sphere (``t = 2·sqrt(R² − ρ²)``) and for a spherocylinder (rod) lying flat; with a
  small ``r`` it is a flat plate (prism, cube, hexagonal plate) whose edges are rounded with
  radius ``r``.
- ``ramp`` profile: ``t(d) = h · min(d/r, 1)``, a ridge that thickens linearly from the edge to
  the long axis: a bipyramid lying on its side (an approximation of its faceted cross-section).

Default proportions follow the particles studied by LPEM: Au nanoprisms of 40–100 nm edge and
7–10 nm thickness (thickness/edge ≈ 0.1–0.25; Kim et al., *Nat. Commun.* 8, 761 (2017), and Yao
et al., ACS Cent. Sci. 2020), concave nanocubes (Kim et al. 2017), rods of aspect ratio 2–5
(etching studies, Ye et al., *Science* 354, 874 (2016)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from .errors import ConfigError

__all__ = ["SHAPES", "ShapeSpec", "make_shape", "profile_volume"]

SHAPES = ("sphere", "rod", "prism", "cube", "concave-cube", "hexagonal-plate", "bipyramid")

ROUNDED, RAMP = 0, 1

_ARC_SEGMENTS = 16  # at most this many segments per quarter circle in shapely buffers
_ARC_TOLERANCE_NM = 0.01  # largest gap (sagitta) between an arc and its chords, far below a pixel


def _segs(radius_nm: float) -> int:
    """Segments per quarter circle so that no chord strays more than ``_ARC_TOLERANCE_NM`` from
    the arc (between 2 and :data:`_ARC_SEGMENTS`): small corner roundings get few vertices,
    which the rasteriser's cost is proportional to."""
    if radius_nm <= _ARC_TOLERANCE_NM:
        return 2
    half_angle = np.arccos(1.0 - _ARC_TOLERANCE_NM / radius_nm)
    return int(np.clip(np.ceil(np.pi / 4 / half_angle), 2, _ARC_SEGMENTS))


@dataclass(frozen=True)
class ShapeSpec:
    """One particle's shape in its body frame.

    Attributes
    ----------
    name : one of :data:`SHAPES`
    outline : shapely Polygon in nm, centred at the origin, long axis along x
    height_nm : the maximum projected thickness h (nm)
    rounding_nm : the profile's edge length scale r (nm)
    profile : ROUNDED (0) or RAMP (1)
    """

    name: str
    outline: Polygon
    height_nm: float
    rounding_nm: float
    profile: int

    @property
    def vertices(self) -> np.ndarray:
        """(K, 2) float64 outline vertices in nm, first vertex not repeated."""
        return np.asarray(self.outline.exterior.coords, dtype=np.float64)[:-1]

    @property
    def radius_nm(self) -> float:
        """Radius of the smallest origin-centred circle holding the outline."""
        return float(np.sqrt((self.vertices**2).sum(axis=1)).max())


def _regular_polygon(n: int, circumradius: float, rotation: float = 0.0) -> Polygon:
    a = rotation + 2 * np.pi * np.arange(n) / n
    return Polygon(np.c_[circumradius * np.cos(a), circumradius * np.sin(a)])


def _round_corners(poly: Polygon, radius: float) -> Polygon:
    if radius <= 0:
        return poly
    return poly.buffer(-radius, quad_segs=_segs(radius)).buffer(radius, quad_segs=_segs(radius))


_INRADIUS = "the inradius of its outline as a fraction of its edge"


def _round_corners_checked(poly: Polygon, radius_nm: float, *, corner_rounding: float, shape: str, limit: float,
                           meaning: str = _INRADIUS) -> Polygon:
    """``poly`` with its corners rounded by ``radius_nm`` (which ``corner_rounding`` sets), or a
    ValueError naming ``shape`` and the range ``0 <= corner_rounding < limit`` when
    ``corner_rounding`` is outside it (or NaN) or the rounding leaves nothing of the outline (which,
    by rounding errors of the geometry, it may do a little below ``limit``)."""
    rounded = _round_corners(poly, radius_nm) if 0 <= corner_rounding < limit else Polygon()
    if rounded.is_empty:
        raise ValueError(f"corner_rounding = {corner_rounding:g} for {shape}: expected 0 <= corner_rounding < "
                         f"{limit:.6g}, {meaning} (a rounding at or close to it leaves nothing of the outline)")
    return rounded


def _centred(poly: Polygon) -> Polygon:
    c = poly.centroid
    return shapely.affinity.translate(poly, -c.x, -c.y)


def make_shape(
    name: str,
    size_nm: float,
    *,
    aspect_ratio: float = 3.0,
    thickness_ratio: float = 0.2,
    truncation: float = 0.1,
    corner_rounding: float = 0.05,
) -> ShapeSpec:
    """Build a shape of characteristic size ``size_nm``.

    Parameters
    ----------
    name : one of :data:`SHAPES`
    size_nm : diameter (sphere), width (rod, bipyramid), edge length (prism, cube, concave cube,
        hexagonal plate) in nm
    aspect_ratio : length / width of rods and bipyramids
    thickness_ratio : thickness / edge length of prisms and hexagonal plates
    truncation : fraction of a prism's edge cut off at each tip (0 = sharp tips)
    corner_rounding : corner radius as a fraction of the edge (prisms, cubes, plates; 0.3 of it for
        concave cubes); it must be below the outline's inradius, as a fraction of the edge, else
        ValueError: a prism's 1/(2√3) ≈ 0.2887 for truncation up to 1/3, a cube's 0.5, a hexagonal
        plate's √3/2 ≈ 0.866, and a concave cube's 0.38/0.3 ≈ 1.267
    """
    s = float(size_nm)
    if name == "sphere":
        outline = Point(0, 0).buffer(s / 2, quad_segs=_ARC_SEGMENTS)
        return ShapeSpec(name, outline, s, s / 2, ROUNDED)
    if name == "rod":
        half_core = max(s * aspect_ratio - s, 0.0) / 2
        outline = LineString([(-half_core, 0), (half_core, 0)]).buffer(s / 2, quad_segs=_ARC_SEGMENTS) \
            if half_core > 0 else Point(0, 0).buffer(s / 2, quad_segs=_ARC_SEGMENTS)
        return ShapeSpec(name, outline, s, s / 2, ROUNDED)
    if name == "prism":
        tri = _regular_polygon(3, s / np.sqrt(3), rotation=np.pi / 2)
        if truncation > 0:
            # Cut off at each tip an equilateral triangle of edge `truncation`·s: the cut lies
            # s/√3 − (√3/2)·truncation·s from the centre, the inradius of an inverted triangle
            # of circumradius twice that.
            cut = _regular_polygon(3, 2 * s / np.sqrt(3) * (1 - 1.5 * truncation), rotation=-np.pi / 2)
            tri = tri.intersection(cut)
        # The outline's inradius is the distance from the centre to the nearer of the triangle's
        # edges (s/(2√3)) and the tip cuts.
        rounded = _round_corners_checked(
            tri, corner_rounding * s, corner_rounding=corner_rounding, shape=f"a prism with truncation {truncation:g}",
            limit=min(1 / (2 * np.sqrt(3)), 1 / np.sqrt(3) - np.sqrt(3) / 2 * truncation))
        h = s * thickness_ratio
        return ShapeSpec(name, _centred(rounded), h, h / 2, ROUNDED)
    if name == "cube":
        sq = _round_corners_checked(_regular_polygon(4, s / np.sqrt(2), np.pi / 4), corner_rounding * s,
                                    corner_rounding=corner_rounding, shape="a cube", limit=0.5)
        return ShapeSpec(name, sq, s, corner_rounding * s + 1e-3, ROUNDED)
    if name == "concave-cube":
        sq = _regular_polygon(4, s / np.sqrt(2), np.pi / 4)
        # Each face is hollowed by a circular arc of depth 0.12 s (concave cubes of Kim et al. 2017).
        depth = 0.12 * s
        rad = (s**2 / 4 + depth**2) / (2 * depth)
        for ang in (0, np.pi / 2, np.pi, 3 * np.pi / 2):
            cx, cy = (s / 2 - depth + rad) * np.cos(ang), (s / 2 - depth + rad) * np.sin(ang)
            sq = sq.difference(Point(cx, cy).buffer(rad, quad_segs=_ARC_SEGMENTS))
        # The inradius, from the centre to the middle of each hollowed face, is s/2 - depth.
        outline = _round_corners_checked(
            sq, 0.3 * corner_rounding * s, corner_rounding=corner_rounding, shape="a concave cube",
            limit=(s / 2 - depth) / (0.3 * s), meaning="the inradius of its outline as a fraction of 0.3 of its edge "
            "(its corners are rounded by 0.3 · corner_rounding · edge)")
        return ShapeSpec(name, outline, s, corner_rounding * s + 1e-3, ROUNDED)
    if name == "hexagonal-plate":
        hexa = _round_corners_checked(_regular_polygon(6, s), corner_rounding * s, corner_rounding=corner_rounding,
                                      shape="a hexagonal plate", limit=np.sqrt(3) / 2)
        h = s * thickness_ratio
        return ShapeSpec(name, hexa, h, h / 2, ROUNDED)
    if name == "bipyramid":  # tips over the last tenth of the length, corners rounded by 5 % of the width (illustrative)
        L = s * aspect_ratio
        pts = [(-L / 2, 0), (-L / 2 + 0.1 * L, s / 2), (L / 2 - 0.1 * L, s / 2), (L / 2, 0),
               (L / 2 - 0.1 * L, -s / 2), (-L / 2 + 0.1 * L, -s / 2)]
        outline = _round_corners(Polygon(pts), 0.05 * s)
        return ShapeSpec(name, outline, s, s / 2, RAMP)
    raise ConfigError(f"shape {name!r} is unknown; known shapes: {', '.join(SHAPES)}")


def profile_volume(spec: ShapeSpec, *, n_offsets: int = 400) -> float:
    """Volume (nm³) of the profile, ∫ t dA, by integrating over ``n_offsets`` inward offsets of the outline.

    ``dA = perimeter(d) dd`` for the outline eroded by ``d``; used as an independent check of the
    rasteriser.  For a sphere this equals 4/3 π R³ up to the polygon approximation.
    """
    r = spec.rounding_nm
    n = int(n_offsets)
    d = (np.arange(n) + 0.5) * r / n
    perims = np.array([spec.outline.buffer(-x, quad_segs=_ARC_SEGMENTS).length for x in d])
    if spec.profile == ROUNDED:
        t = spec.height_nm * np.sqrt(1 - (1 - d / r) ** 2)
    else:
        t = spec.height_nm * d / r
    inner = spec.outline.buffer(-r, quad_segs=_ARC_SEGMENTS).area
    return float((perims * t).sum() * r / n + inner * spec.height_nm)
