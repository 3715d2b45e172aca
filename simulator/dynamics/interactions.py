"""Pair interactions between anisotropic particles through interaction sites.

Each particle carries a few interaction *sites*: discs of radius ``a`` at fixed body-frame
positions (:func:`interaction_sites`: one at the centre with the inscribed radius, and one
near every tip of the outline, with the radius that fits there — so prisms interact tip-to-tip
or edge-to-edge and rods end-to-end or side-by-side).  Two sites of different
particles at centre distance ``r`` (surface separation ``h = r − a_i − a_j``) interact by

- screened electrostatic repulsion, linear superposition approximation (Bell, Levine &
  McCartney, *J. Colloid Interface Sci.* 33, 335 (1970)):
  ``U_el = 4π ε_r ε₀ ψ₀² (a_i a_j / r) exp(−κ h)``, with the Debye length
  ``κ⁻¹ = sqrt(ε_r ε₀ kT / (2 N_A e² I))`` for a 1:1 electrolyte of ionic strength I (mol/m³)
  (Israelachvili, *Intermolecular and Surface Forces*, 3rd ed. 2011, eq. 14.36: 0.304 nm/√I[M]
  at 25 °C);
- van der Waals attraction between spheres (Hamaker, *Physica* 4, 1058 (1937)):
  ``U_vdW = −A/6 [2a_ia_j/(r²−(a_i+a_j)²) + 2a_ia_j/(r²−(a_i−a_j)²) + ln((r²−(a_i+a_j)²)/(r²−(a_i−a_j)²))]``;
- optional depletion attraction by a depletant of radius R_d and volume fraction φ
  (Asakura & Oosawa, *J. Chem. Phys.* 22, 1255 (1954), in the Derjaguin approximation):
  ``U_dep = −π kT n a_eff (2R_d − h)²`` for ``h < 2R_d``, ``n = φ / (4/3 π R_d³)``,
  ``a_eff = a_i a_j/(a_i + a_j)``;
- a hard core: sites may not come closer than ``h = δ`` (the ligand shell, default 1 nm:
  citrate/CTAB layers are ~1–2 nm, e.g. Park & Shumaker-Parry, *JACS* 136, 1907 (2014)).  The
  integrator enforces it by rejecting moves that would violate it (:func:`overlapping`), so the
  soft potentials are only ever evaluated at ``h ≥ δ``.

Interactions are cut at surface separation ``h_cut`` (default 5 Debye lengths, at least 2 R_d).
Forces and torques on particles are the sums over their sites; neighbour search uses a cell list
(linked list over square cells of the largest cut-off distance), so a step costs O(N).
Energies are in kT, lengths in nm, forces in kT/nm, torques in kT.

``site_forces_numba`` is the kernel (cell list); ``site_forces_numpy`` the all-pairs NumPy
reference.  :func:`pair_potential_table` writes the orientation-averaged potential of mean force
between two particles, ``U(r) = −ln ⟨exp(−U(r, θ₁, θ₂))⟩_θ``, the quantity a Boltzmann inversion
``−ln g(r)`` of a dilute suspension recovers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["InteractionParams", "debye_length_nm", "interaction_sites", "site_pair_energy",
           "site_forces_numba", "site_forces_numpy", "overlapping", "pair_potential_table", "sites_lab"]

_EPS0 = 8.8541878128e-12  # F/m, CODATA 2018
_E = 1.602176634e-19  # C, exact
_NA = 6.02214076e23  # 1/mol, exact
_KB = 1.380649e-23  # J/K, exact


def debye_length_nm(ionic_strength_M: float, *, temperature_K: float = 298.15, permittivity: float = 78.4) -> float:
    """Debye length (nm) of a 1:1 electrolyte; water's ε_r = 78.4 at 25 °C (CRC Handbook).  The
    simulation calls it at its own temperature with this ε_r (at 20 °C water's is 80.1, which
    would lengthen the Debye length by 1 %: left so, the interacting presets keep their bytes)."""
    i_m3 = ionic_strength_M * 1e3
    return float(np.sqrt(permittivity * _EPS0 * _KB * temperature_K / (2 * _NA * _E**2 * i_m3)) * 1e9)


@dataclass(frozen=True)
class InteractionParams:
    """Site–site interaction constants in kT / nm units (build with :meth:`from_physical`).

    Attributes
    ----------
    el_kT_per_nm : 4π ε_r ε₀ ψ₀² / kT in kT/nm (multiplies a_i a_j / r, all in nm)
    kappa_per_nm : inverse Debye length (1/nm)
    hamaker_kT : Hamaker constant A / kT
    dep_n_per_nm3 : depletant number density (1/nm³); 0 turns depletion off
    dep_radius_nm : depletant radius R_d (nm)
    core_nm : hard-core minimum surface separation δ (nm)
    cut_nm : cut-off surface separation h_cut (nm)
    """

    el_kT_per_nm: float
    kappa_per_nm: float
    hamaker_kT: float
    dep_n_per_nm3: float
    dep_radius_nm: float
    core_nm: float
    cut_nm: float

    @classmethod
    def from_physical(cls, *, ionic_strength_M: float, surface_potential_mV: float, hamaker_J: float,
                      temperature_K: float = 298.15, permittivity: float = 78.4, core_nm: float = 1.0,
                      depletant_fraction: float = 0.0, depletant_radius_nm: float = 2.0,
                      cut_nm: float | None = None) -> "InteractionParams":
        """From SI quantities: ionic strength (mol/L), ψ₀ (mV), A (J), T (K)."""
        kT = _KB * temperature_K
        lam = debye_length_nm(ionic_strength_M, temperature_K=temperature_K, permittivity=permittivity)
        el = 4 * np.pi * permittivity * _EPS0 * (surface_potential_mV * 1e-3) ** 2 * 1e-9 / kT
        n = depletant_fraction / (4 / 3 * np.pi * depletant_radius_nm**3)
        if cut_nm is None:  # the project's cut: the screened repulsion is down to e^-5 = 0.7 % at 5 Debye lengths
            cut_nm = max(5 * lam, 2 * depletant_radius_nm if depletant_fraction > 0 else 0.0, 3 * core_nm)
        return cls(float(el), 1 / lam, hamaker_J / kT, float(n), float(depletant_radius_nm), float(core_nm),
                   float(cut_nm))

    def as_array(self) -> np.ndarray:
        """The constants packed for the kernels (7,)."""
        return np.array([self.el_kT_per_nm, self.kappa_per_nm, self.hamaker_kT, self.dep_n_per_nm3,
                         self.dep_radius_nm, self.core_nm, self.cut_nm])


def interaction_sites(outline, *, max_sites: int = 9, n_rays: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """Body-frame sites (K, 2) nm and radii (K,) nm for a shapely outline centred at the origin.

    One site at the centre with the inscribed radius r_in.  The outline's tips are the local
    maxima, longer than 1.25 r_in, of its radial extent R(φ) over ``n_rays`` directions (a rod has
    2, a prism 3, a cube 4, a sphere or hexagonal plate none); on each tip's ray, a site is placed
    where the largest disc that fits inside the outline still reaches 90 % of the way to the tip
    (for a rod: the centre of its end cap); sites closer than their radius merge.  At most ``max_sites`` in all.
    """
    from shapely.geometry import LineString, Point

    ring = outline.exterior
    r_in = float(ring.distance(Point(0.0, 0.0)))
    xy = np.asarray(ring.coords)[:-1]
    far = 4 * float(np.hypot(*xy.T).max())
    phi = 2 * np.pi * np.arange(n_rays) / n_rays
    ext = np.empty(n_rays)
    for k, f in enumerate(phi):
        hit = LineString([(0, 0), (far * np.cos(f), far * np.sin(f))]).intersection(ring)
        pts = np.asarray([g.coords[0] for g in getattr(hit, "geoms", [hit])])
        ext[k] = np.hypot(*pts.T).max()
    tips = np.flatnonzero((ext > np.roll(ext, 1)) & (ext >= np.roll(ext, -1)) & (ext > 1.25 * r_in))
    tips = tips[np.argsort(-ext[tips])][: max_sites - 1]
    sites, radii = [(0.0, 0.0)], [r_in]
    for k in sorted(tips):
        u = np.array([np.cos(phi[k]), np.sin(phi[k])])
        t = np.linspace(0.95, 0.0, 39) * ext[k]
        fit = np.array([ring.distance(Point(*(tt * u))) for tt in t])
        good = np.flatnonzero(t + fit >= 0.9 * ext[k])
        j = good[np.argmax(fit[good])]  # t descends, so ties go to the site nearest the tip
        site = t[j] * u
        if any(np.hypot(*(site - q)) < fit[j] for q in sites[1:]):
            continue  # a truncated corner has two maxima: one site
        sites.append((float(t[j] * u[0]), float(t[j] * u[1])))
        radii.append(float(fit[j]))
    return np.asarray(sites, float), np.asarray(radii, float)


def site_pair_energy(r: np.ndarray, ai: np.ndarray, aj: np.ndarray, prm: InteractionParams) -> np.ndarray:
    """Energy (kT) of two sites of radii ai, aj (nm) at distance r (nm); ``inf`` inside the hard
    core, 0 beyond the cut-off (NumPy, broadcasts)."""
    r, ai, aj = np.broadcast_arrays(np.asarray(r, float), np.asarray(ai, float), np.asarray(aj, float))
    s = ai + aj
    h = r - s
    out = np.zeros(r.shape)
    ok = (h >= prm.core_nm) & (h < prm.cut_nm)
    rr, a1, a2, hh, ss = r[ok], ai[ok], aj[ok], h[ok], s[ok]
    u = prm.el_kT_per_nm * a1 * a2 / rr * np.exp(-prm.kappa_per_nm * hh)
    p2 = 2 * a1 * a2
    dp, dm = rr**2 - ss**2, rr**2 - (a1 - a2) ** 2
    u -= prm.hamaker_kT / 6 * (p2 / dp + p2 / dm + np.log(dp / dm))
    if prm.dep_n_per_nm3 > 0:
        aeff = a1 * a2 / ss
        u -= np.where(hh < 2 * prm.dep_radius_nm,
                      np.pi * prm.dep_n_per_nm3 * aeff * np.clip(2 * prm.dep_radius_nm - hh, 0, None) ** 2, 0.0)
    out[ok] = u
    out[h < prm.core_nm] = np.inf
    return out


@njit(cache=True, nogil=True)
def _pair(r, a1, a2, prm):
    """Energy (kT) and −dU/dr (kT/nm) of one site pair; the caller guarantees h ≥ δ."""
    el, kappa, ham, dn, rd = prm[0], prm[1], prm[2], prm[3], prm[4]
    s = a1 + a2
    h = r - s
    ue = el * a1 * a2 / r * np.exp(-kappa * h)
    du = -ue * (kappa + 1.0 / r)
    p2 = 2.0 * a1 * a2
    dp = r * r - s * s
    dm = r * r - (a1 - a2) * (a1 - a2)
    u = ue - ham / 6.0 * (p2 / dp + p2 / dm + np.log(dp / dm))
    du += -ham / 6.0 * (-2.0 * r * p2 / (dp * dp) - 2.0 * r * p2 / (dm * dm) + 2.0 * r / dp - 2.0 * r / dm)
    if dn > 0.0 and h < 2.0 * rd:
        aeff = a1 * a2 / s
        g = 2.0 * rd - h
        u -= np.pi * dn * aeff * g * g
        du += 2.0 * np.pi * dn * aeff * g
    return u, -du


def sites_lab(pos: np.ndarray, angle: np.ndarray, body: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Lab-frame site positions (M, 2) from centres (N, 2), angles (N,), body sites (M, 2)."""
    c, s = np.cos(angle[owner]), np.sin(angle[owner])
    return pos[owner] + np.stack([c * body[:, 0] - s * body[:, 1], s * body[:, 0] + c * body[:, 1]], 1)


@njit(cache=True, nogil=True)
def _build_cells(xy, cell):
    """Linked-list cell list over points (M, 2): (head, nxt, origin, nx, ny)."""
    m = xy.shape[0]
    x0, y0 = xy[:, 0].min(), xy[:, 1].min()
    nx = int((xy[:, 0].max() - x0) / cell) + 1
    ny = int((xy[:, 1].max() - y0) / cell) + 1
    head = np.full(nx * ny, -1, np.int64)
    nxt = np.full(m, -1, np.int64)
    for i in range(m):
        cx = int((xy[i, 0] - x0) / cell)
        cy = int((xy[i, 1] - y0) / cell)
        c = cy * nx + cx
        nxt[i] = head[c]
        head[c] = i
    return head, nxt, x0, y0, nx, ny


@njit(cache=True, nogil=True)
def site_forces_numba(pos, angle, body, owner, radius, prm, force, torque):
    """Forces (N, 2) kT/nm and torques (N,) kT (written into the zeroed outputs); returns the
    total energy (kT).  Cell list of cell size ``2 max(a) + h_cut``: O(M)."""
    m = body.shape[0]
    if m == 0:
        return 0.0
    xy = np.empty((m, 2))
    for i in range(m):
        k = owner[i]
        c, s = np.cos(angle[k]), np.sin(angle[k])
        xy[i, 0] = pos[k, 0] + c * body[i, 0] - s * body[i, 1]
        xy[i, 1] = pos[k, 1] + s * body[i, 0] + c * body[i, 1]
    cell = 2.0 * radius.max() + prm[6]
    head, nxt, x0, y0, nx, ny = _build_cells(xy, cell)
    energy = 0.0
    for i in range(m):
        cx = int((xy[i, 0] - x0) / cell)
        cy = int((xy[i, 1] - y0) / cell)
        for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
            for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
                j = head[gy * nx + gx]
                while j >= 0:
                    if j > i and owner[j] != owner[i]:
                        dx = xy[j, 0] - xy[i, 0]
                        dy = xy[j, 1] - xy[i, 1]
                        r = np.sqrt(dx * dx + dy * dy)
                        h = r - radius[i] - radius[j]
                        if h < prm[6]:
                            hh = max(h, prm[5])
                            u, f = _pair(hh + radius[i] + radius[j], radius[i], radius[j], prm)
                            energy += u
                            fx, fy = f * dx / r, f * dy / r  # force on j (on i: minus)
                            a, b = owner[i], owner[j]
                            force[a, 0] -= fx
                            force[a, 1] -= fy
                            force[b, 0] += fx
                            force[b, 1] += fy
                            torque[a] -= (xy[i, 0] - pos[a, 0]) * fy - (xy[i, 1] - pos[a, 1]) * fx
                            torque[b] += (xy[j, 0] - pos[b, 0]) * fy - (xy[j, 1] - pos[b, 1]) * fx
                    j = nxt[j]
    return energy


def site_forces_numpy(pos, angle, body, owner, radius, prm, force, torque):
    """All-pairs NumPy reference of :func:`site_forces_numba` (same arguments and result)."""
    xy = sites_lab(pos, angle, body, owner)
    d = xy[None, :, :] - xy[:, None, :]  # d[i, j] = xy_j − xy_i
    r = np.hypot(d[..., 0], d[..., 1])
    s = radius[:, None] + radius[None, :]
    iu = np.triu(np.ones(r.shape, bool), 1) & (owner[:, None] != owner[None, :]) & (r - s < prm[6])
    i, j = np.nonzero(iu)
    if i.size == 0:
        return 0.0
    rr = np.maximum(r[i, j], s[i, j] + prm[5])
    a1, a2 = radius[i], radius[j]
    el, kappa, ham, dn, rd = prm[:5]
    h = rr - a1 - a2
    ue = el * a1 * a2 / rr * np.exp(-kappa * h)
    du = -ue * (kappa + 1 / rr)
    p2, dp, dm = 2 * a1 * a2, rr**2 - (a1 + a2) ** 2, rr**2 - (a1 - a2) ** 2
    u = ue - ham / 6 * (p2 / dp + p2 / dm + np.log(dp / dm))
    du += -ham / 6 * (-2 * rr * p2 / dp**2 - 2 * rr * p2 / dm**2 + 2 * rr / dp - 2 * rr / dm)
    if dn > 0:
        g = np.where(h < 2 * rd, 2 * rd - h, 0.0)
        aeff = a1 * a2 / (a1 + a2)
        u = u - np.pi * dn * aeff * g**2
        du = du + 2 * np.pi * dn * aeff * g
    f = -du
    fx, fy = f * d[i, j, 0] / r[i, j], f * d[i, j, 1] / r[i, j]
    a, b = owner[i], owner[j]
    np.add.at(force[:, 0], a, -fx)
    np.add.at(force[:, 1], a, -fy)
    np.add.at(force[:, 0], b, fx)
    np.add.at(force[:, 1], b, fy)
    np.add.at(torque, a, -((xy[i, 0] - pos[a, 0]) * fy - (xy[i, 1] - pos[a, 1]) * fx))
    np.add.at(torque, b, (xy[j, 0] - pos[b, 0]) * fy - (xy[j, 1] - pos[b, 1]) * fx)
    return float(u.sum())


@njit(cache=True, nogil=True)
def _overlap_numba(xy, owner, radius, core, cell, out):
    """Mark in ``out`` (N,) the owners of site pairs closer than a_i + a_j + core."""
    head, nxt, x0, y0, nx, ny = _build_cells(xy, cell)
    for i in range(xy.shape[0]):
        cx = int((xy[i, 0] - x0) / cell)
        cy = int((xy[i, 1] - y0) / cell)
        for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
            for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
                j = head[gy * nx + gx]
                while j >= 0:
                    if j > i and owner[j] != owner[i]:
                        lim = radius[i] + radius[j] + core
                        dx = xy[j, 0] - xy[i, 0]
                        dy = xy[j, 1] - xy[i, 1]
                        if dx * dx + dy * dy < lim * lim:
                            out[owner[i]] = True
                            out[owner[j]] = True
                    j = nxt[j]


def overlapping(pos: np.ndarray, angle: np.ndarray, body: np.ndarray, owner: np.ndarray, radius: np.ndarray,
                core_nm: float, n: int) -> np.ndarray:
    """(N,) bool: particles with a site inside another particle's hard core (cell list, O(N))."""
    out = np.zeros(n, bool)
    if body.shape[0]:
        _overlap_numba(sites_lab(pos, angle, body, owner), owner, radius, float(core_nm),
                       float(2 * radius.max() + core_nm), out)
    return out


def pair_potential_table(body_a: np.ndarray, radius_a: np.ndarray, body_b: np.ndarray, radius_b: np.ndarray,
                         prm: InteractionParams, r_nm: np.ndarray, *, n_angles: int = 24) -> list[dict]:
    """Orientation-averaged potential of mean force between two particles, rows ``r_nm, U_kT``.

    ``U(r) = −ln ⟨exp(−ΣU_sites)⟩`` over ``n_angles`` × ``n_angles`` orientations of the two
    particles (the direction of the centre–centre line fixed along x); distances where every
    orientation overlaps are left out.
    """
    th = 2 * np.pi * np.arange(n_angles) / n_angles
    t1, t2 = np.meshgrid(th, th, indexing="ij")
    t1, t2 = t1.ravel(), t2.ravel()

    def rot(b, t):
        c, s = np.cos(t)[:, None], np.sin(t)[:, None]
        return np.stack([c * b[None, :, 0] - s * b[None, :, 1], s * b[None, :, 0] + c * b[None, :, 1]], -1)

    pa, pb = rot(body_a, t1), rot(body_b, t2)  # (O, Ka, 2), (O, Kb, 2)
    rows = []
    for r in np.asarray(r_nm, float):
        d = pb[:, None, :, :] + np.array([r, 0.0]) - pa[:, :, None, :]
        dist = np.hypot(d[..., 0], d[..., 1])
        u = site_pair_energy(dist, radius_a[None, :, None], radius_b[None, None, :], prm).sum((1, 2))
        w = np.exp(-u)
        if w.max() > 0:
            rows.append({"r_nm": float(r), "U_kT": float(-np.log(w.mean()))})
    return rows
