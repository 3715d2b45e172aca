"""Rasterising particles: per-pixel coverage, projected thickness and instance ownership.

``rasterize`` is the checking wrapper; ``_raster_numba`` the kernel (numba, no validation), and
``_raster_numpy`` a pure-NumPy reference computing the same thing, used by the tests.

Each pixel is first tested at its centre.  A pixel whose centre lies farther than half a pixel
diagonal ``δ`` from the outline is wholly outside (skipped) or wholly inside (coverage 1); a
wholly-inside pixel takes the profile thickness at its centre, ``t(d_c)``, when it lies in the
flat top (``d_c − δ ≥ r``, exact) or at least ``2δ`` from the outline, where the profile is
smooth (midpoint rule: relative error ≈ p²/(96 d²) for the ``√d`` rise of a rounded edge,
< 0.6 % per pixel and far less on a particle's volume).  Every other pixel (the boundary band
and the steep rim) is sampled on an ``S × S`` grid of sub-pixel points.  For each point inside
a particle's outline the profile thickness ``t(d)`` is evaluated from the distance ``d`` to the
outline (see :mod:`simulator.shapes`).  Only pixels inside each particle's bounding box are
visited.  Per pixel the kernel accumulates:

- ``tau``: Σ t_i/λ_i, the particles' optical depth (bright-field Beer–Lambert exponent);
- ``thick``: Σ t_i, the particles' projected thickness (nm), for displaced liquid;
- ``haadf``: Σ t_i·w_i, the HAADF Z-contrast signal;
- ``labels``: the id of the particle covering at least half of the pixel.  Where two particles
  each cover at least half (they overlap), the one covering more wins; on a tie, the later one
  in the list (drawn on top).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .shapes import ROUNDED

__all__ = ["rasterize", "pack_particles", "pack_outlines", "RasterBuffers"]



def pack_outlines(vertices_list):
    """Outlines as the kernel takes them: ``verts`` (V, 2) float64 (nm, body frame), ``offsets``
    (N + 1,) int64 (outline k is ``verts[offsets[k]:offsets[k + 1]]``), ``edges`` (V, 3) (see
    :func:`_edges`) and ``radius_nm`` (N,), the circumradius of each outline about its centre.
    They depend on the shapes only, so a caller may keep them while the shapes do not change."""
    counts = np.array([len(v) for v in vertices_list], dtype=np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    verts = np.concatenate(vertices_list).astype(np.float64) if len(vertices_list) else np.zeros((0, 2))
    return verts, offsets, _edges(verts, offsets), _radii(verts, offsets)


def pack_particles(vertices_list, cx_px, cy_px, angles, heights_nm, rounding_nm, profiles,
                   inv_lambda, haadf_w, ids, *, outlines=None):
    """Flatten per-particle outlines into the arrays the kernel takes: ``(verts, offsets, params,
    ids)``.  ``outlines``: :func:`pack_outlines` of ``vertices_list``, if the caller kept it."""
    verts, offsets = (outlines or pack_outlines(vertices_list))[:2]
    n = len(offsets) - 1
    params = np.column_stack([
        np.asarray(cx_px, float), np.asarray(cy_px, float), np.cos(angles), np.sin(angles),
        np.asarray(heights_nm, float), np.asarray(rounding_nm, float), np.asarray(profiles, float),
        np.asarray(inv_lambda, float), np.asarray(haadf_w, float),
    ]) if n else np.zeros((0, 9))
    return verts, offsets, params, np.asarray(ids, dtype=np.uint32)


def _radii(verts, offsets):
    """(N,) the circumradius of each outline about its centre, as ShapeSpec.radius_nm."""
    r = np.sqrt((verts**2).sum(axis=1))
    return np.maximum.reduceat(r, offsets[:-1]) if len(offsets) > 1 else np.zeros(0)


@njit(cache=True, nogil=True)
def _point_inside_dist(px, py, verts, edges, start, stop):
    """(inside, distance to the outline) for one point in the body frame.

    ``edges[i]`` holds (ex, ey, 1/|e|²) of the edge from vertex i to the previous vertex.
    """
    inside = False
    dmin2 = 1e300
    j = stop - 1
    for i in range(start, stop):
        xi, yi = verts[i, 0], verts[i, 1]
        yj = verts[j, 1]
        ex, ey = edges[i, 0], edges[i, 1]
        if (yi > py) != (yj > py):
            if px < ex * (py - yi) / ey + xi:
                inside = not inside
        u = min(1.0, max(0.0, ((px - xi) * ex + (py - yi) * ey) * edges[i, 2]))
        dx, dy = xi + u * ex - px, yi + u * ey - py
        d2 = dx * dx + dy * dy
        if d2 < dmin2:
            dmin2 = d2
        j = i
    return inside, np.sqrt(dmin2)


@njit(cache=True, nogil=True)
def _profile(d, h, r, prof):
    """Projected thickness at distance ``d`` inside the outline (rounded or ramp profile)."""
    if prof == 0:
        q = 1.0 - min(d, r) / r
        return h * np.sqrt(max(0.0, 1.0 - q * q))
    return h * min(d / r, 1.0)


@njit(cache=True, nogil=True)
def _convex_lines(verts, start, stop, lines):
    """Fill ``lines[:m]`` with the outline's edges as lines (nx, ny, c): the signed distance of
    a body-frame point u to edge e's line is ``c + n·u`` (n the inward unit normal, > 0 inside).
    Returns m, or -1 when the outline is not convex (then the general path is used).

    For a convex outline, the distance from an inside point to the outline is the smallest of
    these line distances, and a point is inside exactly when all of them are positive.
    """
    area2 = 0.0
    for i in range(start, stop):
        j = i + 1 if i + 1 < stop else start
        area2 += verts[i, 0] * verts[j, 1] - verts[j, 0] * verts[i, 1]
    sgn = 1.0 if area2 > 0 else -1.0
    m = 0
    for i in range(start, stop):
        j = i + 1 if i + 1 < stop else start
        k = j + 1 if j + 1 < stop else start
        ex, ey = verts[j, 0] - verts[i, 0], verts[j, 1] - verts[i, 1]
        fx, fy = verts[k, 0] - verts[j, 0], verts[k, 1] - verts[j, 1]
        le, lf = np.sqrt(ex * ex + ey * ey), np.sqrt(fx * fx + fy * fy)
        if sgn * (ex * fy - ey * fx) < -1e-9 * le * lf:  # a reflex vertex
            return -1
        if le == 0.0:
            continue
        nx, ny = -sgn * ey / le, sgn * ex / le
        lines[m, 0], lines[m, 1] = nx, ny
        lines[m, 2] = -(nx * verts[i, 0] + ny * verts[i, 1])
        m += 1
    return m


@njit(cache=True, nogil=True)
def _deposit(y, x, t, f, k, il, hw, ids, tau, thick, haadf, labels, best):
    """Add thickness ``t`` (nm) covering fraction ``f`` of pixel (y, x) for particle k."""
    tau[y, x] += t * il
    thick[y, x] += t
    haadf[y, x] += t * hw
    if f >= 0.5 and f >= best[y, x]:
        best[y, x] = f
        labels[y, x] = ids[k]


@njit(cache=True, nogil=True)
def _lower_envelope(A, P, order, m, hull):
    """Lines ``A[e] + P[e]·x`` that form their minimum, in the order they are the minimum as x
    grows (``order``: the lines by decreasing slope); written to ``hull``, count returned."""
    nh = 0
    for i in range(m):
        e = order[i]
        if nh > 0 and P[hull[nh - 1]] == P[e]:
            if A[e] >= A[hull[nh - 1]]:
                continue
            nh -= 1
        while nh >= 2:  # the last line is never the minimum if e undercuts it before it starts
            l1, l2 = hull[nh - 2], hull[nh - 1]
            if (A[e] - A[l1]) * (P[l1] - P[l2]) <= (A[l2] - A[l1]) * (P[l1] - P[e]):
                nh -= 1
            else:
                break
        hull[nh] = e
        nh += 1
    return nh


@njit(cache=True, nogil=True)
def _row_ranges(A, P, invP, m, level0, level1):
    """Intervals of ``dx`` (nm) where every ``A[e] + P[e]·dx >= level`` for the two levels (each
    may be empty: lo > hi); ``invP`` = 1/P (any value where P = 0)."""
    lo0, hi0, lo1, hi1 = -1e300, 1e300, -1e300, 1e300
    for e in range(m):
        if P[e] > 0.0:
            lo0 = max(lo0, (level0 - A[e]) * invP[e])
            lo1 = max(lo1, (level1 - A[e]) * invP[e])
        elif P[e] < 0.0:
            hi0 = min(hi0, (level0 - A[e]) * invP[e])
            hi1 = min(hi1, (level1 - A[e]) * invP[e])
        else:
            if A[e] < level0:
                lo0, hi0 = 1.0, -1.0
            if A[e] < level1:
                lo1, hi1 = 1.0, -1.0
    return lo0, hi0, lo1, hi1


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _min_lines(c, p, n, x):
    """min over i < n of ``c[i] + p[i]·x`` (the values are finite: the fast-math flags let LLVM
    reorder the reduction; the minimum is the same in any order)."""
    v = 1e300
    for i in range(n):
        v = min(v, c[i] + p[i] * x)
    return v


@njit(cache=True, nogil=True)
def _particle_convex(k, lines, m, y0, y1, x0, x1, params, ids, pixel_nm, ss, tau, thick, haadf, labels, best,
                     P, Q, A, invP, hull, cand_p, cand_q, cand_c, row_c):
    """One convex particle: rows are cut to the pixels whose centre is within half a pixel
    diagonal of the outline (intersection of half-planes); pixels wholly in the flat top take
    ``h`` without any distance; the others take the smallest line distance, read along the row
    from the lines' lower envelope (built once per row), and sub-samples only look at the edges
    that can be nearest within the pixel."""
    cx, cy, c, s = params[k, 0], params[k, 1], params[k, 2], params[k, 3]
    h, r, prof, il, hw = params[k, 4], params[k, 5], params[k, 6], params[k, 7], params[k, 8]
    hd = 0.7072 * pixel_nm
    rho = (ss - 1) / (2.0 * ss) * pixel_nm  # sub-samples lie within ±rho of the centre, per axis
    inv = 1.0 / (ss * ss)
    for e in range(m):
        nx, ny = lines[e, 0], lines[e, 1]
        P[e] = nx * c - ny * s  # L_e = c_e + P_e·dx + Q_e·dy (dx, dy: lab-frame offsets in nm)
        Q[e] = nx * s + ny * c
        invP[e] = 1.0 / P[e] if P[e] != 0.0 else 0.0
    order = np.argsort(-P[:m])
    # Wholly inside and flat (t = h, one sample): d >= max(2δ, r), or d - δ >= r for a rounded edge.
    flat = max(2.0 * hd, r)
    if prof == 0:
        flat = min(flat, r + hd)
    for y in range(y0, y1):
        dy = (y + 0.5 - cy) * pixel_nm
        for e in range(m):
            A[e] = lines[e, 2] + Q[e] * dy
        lo, hi, flo, fhi = _row_ranges(A, P, invP, m, -hd, flat)
        if lo > hi:
            continue
        xa = max(x0, int(np.floor(lo / pixel_nm + cx - 0.5)) - 1)
        xb = min(x1, int(np.ceil(hi / pixel_nm + cx - 0.5)) + 2)
        fa, fb = xb, xb  # pixels [fa, fb) are flat; kept one pixel inside the exact interval
        if flo <= fhi:
            fa = max(xa, int(np.ceil(flo / pixel_nm + cx - 0.5)) + 1)
            fb = min(xb, int(np.floor(fhi / pixel_nm + cx - 0.5)))
            fb = max(fb, fa)
        nh = _lower_envelope(A, P, order, m, hull)
        j = 0
        for x in range(xa, xb):
            if fa <= x < fb:
                _deposit(y, x, h, 1.0, k, il, hw, ids, tau, thick, haadf, labels, best)
                continue
            dx = (x + 0.5 - cx) * pixel_nm
            d = A[hull[j]] + P[hull[j]] * dx
            while j + 1 < nh:
                dn = A[hull[j + 1]] + P[hull[j + 1]] * dx
                if dn > d:
                    break
                j += 1
                d = dn
            if d < -hd:
                continue  # wholly outside
            if d > hd and (d >= 2.0 * hd or (prof == 0 and d - hd >= r)):
                _deposit(y, x, _profile(d, h, r, prof), 1.0, k, il, hw, ids, tau, thick, haadf, labels, best)
                continue
            # Candidates: the lines not dominated by the centre's nearest line e0 at every
            # sub-sample (offsets Δ within ±rho per axis): L_e(c + Δ) - L_e0(c + Δ) =
            # L_e(c) - d + (n_e - n_e0)·Δ >= L_e(c) - d - rho·(|ΔP| + |ΔQ|) >= 0 drops line e.
            e0 = hull[j]
            nc = 0
            for e in range(m):
                if A[e] + P[e] * dx - d <= rho * (abs(P[e] - P[e0]) + abs(Q[e] - Q[e0])):
                    cand_p[nc] = P[e]
                    cand_q[nc] = Q[e]
                    cand_c[nc] = lines[e, 2]
                    nc += 1
            cov = 0.0
            tsum = 0.0
            for sy in range(ss):
                dyq = (y + (sy + 0.5) / ss - cy) * pixel_nm
                for i in range(nc):  # the candidates along this sub-row: row_c + P·dxq
                    row_c[i] = cand_c[i] + cand_q[i] * dyq
                for sx in range(ss):
                    dq = _min_lines(row_c, cand_p, nc, (x + (sx + 0.5) / ss - cx) * pixel_nm)
                    if dq > 0.0:
                        cov += 1.0
                        tsum += _profile(dq, h, r, prof)
            if cov > 0.0:
                _deposit(y, x, tsum * inv, cov * inv, k, il, hw, ids, tau, thick, haadf, labels, best)


@njit(cache=True, nogil=True)
def _particle_general(k, verts, edges, a, b, y0, y1, x0, x1, params, ids, pixel_nm, ss, tau, thick, haadf,
                      labels, best):
    """One particle of any (simple) outline: parity test and segment distances over all edges."""
    cx, cy, c, s = params[k, 0], params[k, 1], params[k, 2], params[k, 3]
    h, r, prof, il, hw = params[k, 4], params[k, 5], params[k, 6], params[k, 7], params[k, 8]
    inv = 1.0 / (ss * ss)
    half_diag = 0.7072 * pixel_nm  # a pixel lies wholly on one side when |d| exceeds this
    # Body-frame bounding box widened by half_diag: a centre outside it is wholly outside.
    bx0, by0, bx1, by1 = 1e300, 1e300, -1e300, -1e300
    for i in range(a, b):
        bx0, bx1 = min(bx0, verts[i, 0]), max(bx1, verts[i, 0])
        by0, by1 = min(by0, verts[i, 1]), max(by1, verts[i, 1])
    bx0, by0, bx1, by1 = bx0 - half_diag, by0 - half_diag, bx1 + half_diag, by1 + half_diag
    for y in range(y0, y1):
        for x in range(x0, x1):
            dx = (x + 0.5 - cx) * pixel_nm
            dy = (y + 0.5 - cy) * pixel_nm
            ux, uy = c * dx + s * dy, -s * dx + c * dy
            if ux < bx0 or ux > bx1 or uy < by0 or uy > by1:
                continue
            inside, d = _point_inside_dist(ux, uy, verts, edges, a, b)
            if d > half_diag:
                if not inside:
                    continue
                if d >= 2.0 * half_diag or (prof == 0 and d - half_diag >= r):
                    # Wholly inside, in the flat top or the smooth interior: one sample.
                    _deposit(y, x, _profile(d, h, r, prof), 1.0, k, il, hw, ids, tau, thick, haadf, labels, best)
                    continue
            cov = 0.0
            tsum = 0.0
            for sy in range(ss):
                for sx in range(ss):
                    dx = (x + (sx + 0.5) / ss - cx) * pixel_nm
                    dy = (y + (sy + 0.5) / ss - cy) * pixel_nm
                    inside, d = _point_inside_dist(c * dx + s * dy, -s * dx + c * dy, verts, edges, a, b)
                    if inside:
                        cov += 1.0
                        tsum += _profile(d, h, r, prof)
            if cov > 0.0:
                _deposit(y, x, tsum * inv, cov * inv, k, il, hw, ids, tau, thick, haadf, labels, best)


@njit(cache=True, nogil=True)
def _raster_numba(verts, edges, offsets, params, ids, pixel_nm, ss, radius_nm, tau, thick, haadf, labels, best):
    H, W = tau.shape
    vmax = 1
    for k in range(params.shape[0]):
        vmax = max(vmax, offsets[k + 1] - offsets[k])
    lines = np.empty((vmax, 3))
    P, Q, A, invP = np.empty(vmax), np.empty(vmax), np.empty(vmax), np.empty(vmax)
    hull = np.empty(vmax, np.int64)
    cand_p, cand_q, cand_c, row_c = np.empty(vmax), np.empty(vmax), np.empty(vmax), np.empty(vmax)
    for k in range(params.shape[0]):
        cx, cy = params[k, 0], params[k, 1]
        rad = radius_nm[k] / pixel_nm + 1.0
        y0, y1 = max(int(np.floor(cy - rad)), 0), min(int(np.ceil(cy + rad)), H)
        x0, x1 = max(int(np.floor(cx - rad)), 0), min(int(np.ceil(cx + rad)), W)
        if y1 <= y0 or x1 <= x0:
            continue
        a, b = offsets[k], offsets[k + 1]
        m = _convex_lines(verts, a, b, lines) if b - a >= 3 else -1
        if m > 0:
            _particle_convex(k, lines, m, y0, y1, x0, x1, params, ids, pixel_nm, ss, tau, thick, haadf, labels,
                             best, P, Q, A, invP, hull, cand_p, cand_q, cand_c, row_c)
        else:
            _particle_general(k, verts, edges, a, b, y0, y1, x0, x1, params, ids, pixel_nm, ss, tau, thick,
                              haadf, labels, best)


def _inside_dist_numpy(poly, xs, ys, cx, cy, c, s, pixel_nm):
    """Inside flags and distances to the outline of the grid ``ys × xs`` (pixel units), flattened."""
    from matplotlib.path import Path as MplPath

    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    dx, dy = (gx - cx) * pixel_nm, (gy - cy) * pixel_nm
    pts = np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1).reshape(-1, 2)
    inside = MplPath(poly).contains_points(pts)
    e = np.roll(poly, -1, axis=0) - poly
    rel = pts[:, None, :] - poly[None, :, :]
    u = np.clip((rel * e).sum(-1) / np.maximum((e * e).sum(-1), 1e-300), 0, 1)
    return inside, np.sqrt((((rel - u[..., None] * e) ** 2).sum(-1)).min(axis=1))


def _profile_numpy(d, h, r, prof):
    """NumPy twin of :func:`_profile`."""
    if prof == ROUNDED:
        q = 1 - np.minimum(d, r) / r
        return h * np.sqrt(np.maximum(0, 1 - q * q))
    return h * np.minimum(d / r, 1)


def _raster_numpy(verts, edges, offsets, params, ids, pixel_nm, ss, radius_nm, tau, thick, haadf, labels, best):
    """Pure-NumPy reference of :func:`_raster_numba` (same arguments, same results; ``edges`` unused)."""
    H, W = tau.shape
    sub = (np.arange(ss) + 0.5) / ss
    for k in range(params.shape[0]):
        cx, cy, c, s, h, r, prof, il, hw = params[k]
        poly = verts[offsets[k]:offsets[k + 1]]
        rad = radius_nm[k] / pixel_nm + 1.0
        y0, y1 = max(int(np.floor(cy - rad)), 0), min(int(np.ceil(cy + rad)), H)
        x0, x1 = max(int(np.floor(cx - rad)), 0), min(int(np.ceil(cx + rad)), W)
        if y1 <= y0 or x1 <= x0:
            continue
        ys = (np.arange(y0, y1)[:, None] + sub[None, :]).ravel()
        xs = (np.arange(x0, x1)[:, None] + sub[None, :]).ravel()
        inside, d = _inside_dist_numpy(poly, xs, ys, cx, cy, c, s, pixel_nm)
        t = np.where(inside, _profile_numpy(d, h, r, prof), 0.0).reshape(y1 - y0, ss, x1 - x0, ss)
        cov = inside.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
        tm = t.mean(axis=(1, 3))
        # Wholly-inside pixels in the flat top or the smooth interior: the centre sample.
        ins_c, d_c = _inside_dist_numpy(poly, np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5, cx, cy, c, s, pixel_nm)
        hd = 0.7072 * pixel_nm
        one = (ins_c & (d_c > hd) & ((d_c >= 2 * hd) | ((prof == ROUNDED) & (d_c - hd >= r)))).reshape(tm.shape)
        tm = np.where(one, _profile_numpy(d_c, h, r, prof).reshape(tm.shape), tm)
        cov = np.where(one, 1.0, cov)
        tau[y0:y1, x0:x1] += tm * il
        thick[y0:y1, x0:x1] += tm
        haadf[y0:y1, x0:x1] += tm * hw
        win = (cov >= 0.5) & (cov >= best[y0:y1, x0:x1])
        best[y0:y1, x0:x1][win] = cov[win]
        labels[y0:y1, x0:x1][win] = ids[k]


def _edges(verts, offsets):
    """(V, 3): for each vertex the edge to the previous vertex of its outline (ex, ey) and 1/|e|²
    (0 for a degenerate edge), computed once per frame instead of once per sample."""
    prev = np.arange(len(verts)) - 1
    starts, stops = offsets[:-1], offsets[1:]
    nonempty = stops > starts
    prev[starts[nonempty]] = stops[nonempty] - 1
    e = verts[prev] - verts if len(verts) else np.zeros((0, 2))
    l2 = (e * e).sum(axis=1)
    inv = np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)
    return np.ascontiguousarray(np.column_stack([e, inv]))


def _boxes(params, radius_nm, pixel_nm, shape):
    """(N, 4) int64 pixel boxes y0, y1, x0, x1 that the kernel visits (the same formula)."""
    H, W = shape
    if not len(params):
        return np.zeros((0, 4), np.int64)
    rad = np.asarray(radius_nm, float) / pixel_nm + 1.0
    cx, cy = params[:, 0], params[:, 1]
    return np.column_stack([np.clip(np.floor(cy - rad), 0, H), np.clip(np.ceil(cy + rad), 0, H),
                            np.clip(np.floor(cx - rad), 0, W), np.clip(np.ceil(cx + rad), 0, W)]).astype(np.int64)


@njit(cache=True, nogil=True)
def _clear(boxes, tau, thick, haadf, best):
    for k in range(boxes.shape[0]):
        for y in range(boxes[k, 0], boxes[k, 1]):
            for x in range(boxes[k, 2], boxes[k, 3]):
                tau[y, x] = thick[y, x] = haadf[y, x] = best[y, x] = 0.0


class RasterBuffers:
    """Accumulators of :func:`rasterize` kept between calls (frames of one video): a fresh
    2 MB array costs more in page faults than the whole kernel, so they are allocated once and
    only the boxes the previous call touched are cleared."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = tuple(shape)
        self.tau, self.thick, self.haadf, self.best = (np.zeros(self.shape) for _ in range(4))
        self._touched = np.zeros((0, 4), np.int64)

    def reset(self, boxes: np.ndarray) -> None:
        """Zero what the previous call wrote; remember ``boxes`` for the next reset."""
        _clear(self._touched, self.tau, self.thick, self.haadf, self.best)
        self._touched = boxes


def rasterize(packed, radius_nm, shape, *, pixel_size_nm, supersample=4, engine="numba", buffers=None, edges=None):
    """Rasterise packed particles into a frame of ``shape`` (Y, X).

    ``radius_nm`` (N,) bounds each outline about its centre (None: computed from the vertices).
    With ``buffers`` (a :class:`RasterBuffers` of ``shape``), ``tau``, ``thick`` and ``haadf``
    are its arrays, valid until the next call with the same buffers.  ``edges``: the outlines'
    edges of :func:`pack_outlines`, if the caller kept them (None: computed).

    Returns
    -------
    tau, thick, haadf : (Y, X) float64
    labels : (Y, X) uint32
    """
    verts, offsets, params, ids = packed
    if radius_nm is None:  # the circumradius of each outline about its centre, as ShapeSpec.radius_nm
        radius_nm = _radii(verts, offsets)
    if buffers is None:
        buffers = RasterBuffers(shape)
    else:
        buffers.reset(_boxes(params, radius_nm, float(pixel_size_nm), shape))
    tau, thick, haadf, best = buffers.tau, buffers.thick, buffers.haadf, buffers.best
    labels = np.zeros(shape, np.uint32)
    fn = _raster_numba if engine == "numba" else _raster_numpy
    fn(verts, _edges(verts, offsets) if edges is None else edges, offsets, params, ids, float(pixel_size_nm), int(supersample),
       np.asarray(radius_nm, float), tau, thick, haadf, labels, best)
    return tau, thick, haadf, labels
