"""Physics recovery: what a segmentation lets a scientist measure, against the simulated truth.

``diffusion_rel_error``: the diffusion coefficient estimated from the segmented tracks against
the one simulated.  For every track, centroids (nm) in consecutive frames give one-frame
displacements; ``D = ⟨Δr²⟩ / (4 Δt)`` pooled over tracks (the MSD at lag one frame, the
least-biased lag for short tracks, Michalet, *Phys. Rev. E* 82, 041914 (2010)); objects that
touch the image border are left out, since the edge cuts them and moves their centroid (particles
leave and enter the field, ``dynamics.boundary = "open"``).  The truth is the
same estimator applied to the ground-truth labels, so that the score measures what segmentation
loses, not the finite-sample scatter of the walk itself.  Only videos whose particles move
(``D_nm2_s`` > 0 in the table) get this metric.

``potential_rel_error``: the pair potential by Boltzmann inversion, U(r) = −ln g(r) (kT), of
the segmented centroids against the same inversion of the true labels' centroids, over the range
of the potential the simulator used (``Video.potential``, rows ``r_nm, U_kT``).  g(r) is the
pair-distance histogram over all frames divided by the one of
uniformly placed points in the same W × H field, whose distance density is exact for
r ≤ min(W, H): f(r) = 2r (πWH − 2r(W + H) + r²) / (WH)² (the rectangle's set covariogram,
Ghosh, *Bull. Calcutta Math. Soc.* 43, 17 (1951)); this removes the edge bias without a
Monte-Carlo reference.  Inversion of g(r) gives the potential of mean force, equal to U(r) in the
dilute limit (Hansen & McDonald, *Theory of Simple Liquids*, ch. 2); compared with the truth's
inversion rather than with U(r) itself, the score measures what segmentation loses, not the
sampling noise of a short video's histogram nor the gap between the potential of mean force and
U(r) in a dense one (against U(r), the true labels scored 0.56–1.06).  The error is the RMS
difference in kT over the bins populated in both and outside the hard core (simulated
U < ``POTENTIAL_MAX_KT``), divided by max(RMS of the true U over the bins populated in the truth,
1 kT) (a histogram resolves U to ~1 kT); 1.0 when the segmentation populates none of them (no
two objects in any frame), as the other physics errors score a method that recovers nothing.

``etch_rate_rel_error``: the rate of change of the particle area (nm²/s) from the segmented
tracks against the same estimate from the true labels (:func:`area_rate`: least-squares slope of
each track's area against time with one intercept per track and a common slope, the pooled
within-group slope of the analysis of covariance, Snedecor & Cochran, *Statistical Methods*;
objects that touch the image border are left out, as for the diffusion, since the edge cuts
their area).  Slopes within tracks do not see particles entering or leaving the field, which
moved the mean area of a frame (the true labels scored 0.98 on etching rods and 0.18–0.58 on
prisms that do not etch, against the table's mean area).  NaN when nothing is etched: when the
particles' outline areas in the table (``area_nm2``, the same pooled slope) change by less than
``ETCH_MIN_CHANGE`` of their mean over the video.

``chain_growth_rel_error``: how well the segmentation recovers the growth of chains
(self-assembly, ``assembly-cubes``).  In every frame two instances are *in contact* when their
masks come within ``CHAIN_GAP_NM`` of each other: each mask is grown by half the gap
(``skimage.segmentation.expand_labels``, pixel-centre distance, so the tolerance holds to within a
pixel) and grown masks that share an edge touch.  A chain is a connected
component of that graph, and the frame's mean chain size is the number of instances per chain
(:func:`mean_chain_sizes`; the number-average degree of polymerization, which grows linearly in
time in step-growth polymerization, Flory 1953, and in Smoluchowski aggregation).  The growth rate
is the least-squares slope of that series (1/s); the error is |rate(segmentation) − rate(truth)| /
|rate(truth)|, the truth being the same measure on the ground-truth labels (it agrees with the
``chain_id`` column of ``particles.csv``, contact within ``dynamics.contact_nm`` = 2 nm, to within a
few percent: tests/benchmark/test_physics_recovery.py).  Only interacting videos (those with a
simulated pair potential) are scored, and only when the true mean chain size changes by at least
``CHAIN_MIN_GROWTH`` over the video with a slope at least twice its standard error (a trend, not
the chance contacts of a few particles in a short clip); otherwise NaN (no assembly to recover).  A method
that merges touching particles into one blob, or splits chains by eroding them, sees no growth
(error ~1).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.segmentation import expand_labels

from simulator.video import Video

__all__ = ["track_diffusion", "diffusion_rel_error", "centroids_nm", "pair_potential_kT", "potential_rel_error",
           "area_rate", "etch_rate_rel_error", "POTENTIAL_MAX_KT", "ETCH_MIN_CHANGE", "mean_chain_sizes",
           "chain_growth_rel_error", "CHAIN_GAP_NM", "CHAIN_MIN_GROWTH"]

#: Bins with a simulated potential above this (kT) are the hard core and are not compared.
POTENTIAL_MAX_KT = 5.0
#: Relative change of the true mean area over a video below which it is not etched.
ETCH_MIN_CHANGE = 0.02
#: Mask gap (nm) at or below which two instances are in contact (chains): the simulator's contact
#: distance (2 nm, simulator.dynamics.chains) plus a pixel of rasterisation at ~1 nm/px.
CHAIN_GAP_NM = 3.0
#: Change of the true mean chain size over a video (particles per chain) below which nothing assembles.
CHAIN_MIN_GROWTH = 0.1


def track_diffusion(tracks: np.ndarray, *, pixel_size_nm: float, frame_interval_s: float) -> float:
    """Pooled lag-1 MSD / (4 Δt) (nm²/s) of a label video whose labels are track ids, objects on
    the image border left out; NaN if none."""
    sq = []
    prev: dict[int, np.ndarray] = {}
    for t in range(tracks.shape[0]):
        f = tracks[t]
        edge = np.concatenate([f[0], f[-1], f[:, 0], f[:, -1]])
        ids = np.setdiff1d(np.unique(f[f > 0]), edge)
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


def centroids_nm(labels: np.ndarray, *, pixel_size_nm: float) -> list[np.ndarray]:
    """Centroids (x_nm, y_nm) of the objects of every frame of a (T, Y, X) label video, (n_t, 2) each,
    with (0, 0) at the top-left corner of pixel (0, 0) (the project's convention)."""
    out = []
    for frame in labels:
        ids = np.unique(frame[frame > 0])
        c = np.asarray(ndimage.center_of_mass(np.ones_like(frame), frame, ids)).reshape(-1, 2)
        out.append((c[:, ::-1] + 0.5) * pixel_size_nm)
    return out


def pair_potential_kT(points: list[np.ndarray], *, width_nm: float, height_nm: float,
                      bins_nm: np.ndarray) -> np.ndarray:
    """Boltzmann inversion U = −ln g(r) (kT) per distance bin from points in a W × H field.

    Parameters
    ----------
    points : per frame, (n_t, 2) positions (nm)
    width_nm, height_nm : the field of view (nm)
    bins_nm : (B + 1,) bin edges (nm), at most min(W, H)

    Returns
    -------
    (B,) U in kT; NaN where no pair fell in the bin.
    """
    bins_nm = np.asarray(bins_nm, float)
    if bins_nm[-1] > min(width_nm, height_nm):
        raise ValueError(f"bins reach {bins_nm[-1]} nm, beyond min(W, H) = {min(width_nm, height_nm)} nm")
    w, h = width_nm, height_nm
    cdf = 2 * (np.pi * w * h * bins_nm**2 / 2 - 2 * (w + h) * bins_nm**3 / 3 + bins_nm**4 / 4) / (w * h) ** 2
    p_bin = np.diff(cdf)
    counts = np.zeros(len(bins_nm) - 1)
    pairs = 0
    for pts in points:
        n = len(pts)
        if n >= 2:
            d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))[np.triu_indices(n, 1)]
            counts += np.histogram(d, bins_nm)[0]
            pairs += n * (n - 1) // 2
    g = counts / np.maximum(pairs * p_bin, 1e-300)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, -np.log(g), np.nan)


def potential_rel_error(video: Video, tracks: np.ndarray, *, n_bins: int = 16) -> float:
    """RMS(U_seg − U_true) / max(RMS U_true, 1 kT) over the compared bins, U_true the inversion of
    the true labels; 1.0 when the segmentation has no pair there; NaN without a potential."""
    if not video.potential:
        return float("nan")
    r = np.array([row["r_nm"] for row in video.potential], float)
    u = np.array([row["U_kT"] for row in video.potential], float)
    p = video.meta.pixel_size_nm
    h, w = video.labels.shape[1] * p, video.labels.shape[2] * p
    top = min(r.max(), min(w, h) / 2)
    if top <= r.min():
        return float("nan")
    edges = np.linspace(r.min(), top, n_bins + 1)
    u_sim = np.interp((edges[:-1] + edges[1:]) / 2, r, u)

    def inverted(labels: np.ndarray) -> np.ndarray:
        return pair_potential_kT(centroids_nm(labels, pixel_size_nm=p), width_nm=w, height_nm=h, bins_nm=edges)

    u_true = inverted(video.labels.astype(np.int64))
    ref = np.isfinite(u_true) & (u_sim < POTENTIAL_MAX_KT)
    if not ref.any():
        return float("nan")
    u_seg = inverted(tracks)
    ok = ref & np.isfinite(u_seg)
    if not ok.any():
        return 1.0
    rms = np.sqrt(np.mean((u_seg[ok] - u_true[ok]) ** 2))
    return float(rms / max(np.sqrt(np.mean(u_true[ref] ** 2)), 1.0))


def _pooled_slope(series: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Common least-squares slope of several (x, y) series, each with its own intercept: Σ Sxy / Σ Sxx
    over the series with two points or more; NaN when there is none."""
    sxy = sxx = 0.0
    for x, y in series:
        if len(x) >= 2:
            dx = x - x.mean()
            sxy += float(dx @ (y - y.mean()))
            sxx += float(dx @ dx)
    return sxy / sxx if sxx > 0 else float("nan")


def area_rate(tracks: np.ndarray, *, pixel_size_nm: float, frame_interval_s: float) -> float:
    """Rate of change of the objects' area (nm²/s): the least-squares slope of each track's area
    against time, one intercept per track and one slope for all, objects on the image border left
    out; NaN when no track has two frames off the border.

    Parameters
    ----------
    tracks : (T, Y, X) integer labels whose labels are track ids
    pixel_size_nm, frame_interval_s : the pixel size (nm) and the time between frames (s)
    """
    areas: dict[int, list[tuple[float, float]]] = {}
    for k, f in enumerate(tracks):
        ids, counts = np.unique(f[f > 0], return_counts=True)
        edge = np.concatenate([f[0], f[-1], f[:, 0], f[:, -1]])
        inside = ~np.isin(ids, edge)
        for i, n in zip(ids[inside], counts[inside]):
            areas.setdefault(int(i), []).append((k * frame_interval_s, n * pixel_size_nm**2))
    return _pooled_slope([tuple(np.array(v).T) for v in areas.values()])


def etch_rate_rel_error(video: Video, tracks: np.ndarray) -> float:
    """|rate(segmented tracks) − rate(true labels)| / |rate(true labels)| of :func:`area_rate`;
    NaN if nothing is etched (the table's outline areas, ``area_nm2``), 1.0 without a segmented rate."""
    dt = video.meta.frame_interval_s
    table: dict[int, list[tuple[float, float]]] = {}
    for row in video.particles:
        table.setdefault(int(row["id"]), []).append((int(row["frame"]) * dt, float(row["area_nm2"])))
    if not table:
        return float("nan")
    frames = [t for v in table.values() for t, _ in v]
    change = abs(_pooled_slope([tuple(np.array(v).T) for v in table.values()])) * (max(frames) - min(frames))
    if not change >= ETCH_MIN_CHANGE * np.mean([a for v in table.values() for _, a in v]):
        return float("nan")  # also NaN when no particle is seen twice
    kw = dict(pixel_size_nm=video.meta.pixel_size_nm, frame_interval_s=dt)
    true_rate = area_rate(video.labels.astype(np.int64), **kw)
    if not np.isfinite(true_rate) or true_rate == 0:
        return float("nan")
    seg_rate = area_rate(tracks, **kw)
    return float(abs(seg_rate - true_rate) / abs(true_rate)) if np.isfinite(seg_rate) else 1.0


def _frame_chains(frame: np.ndarray, grow_px: float) -> tuple[int, int]:
    """(instances, chains) of one label frame, instances in contact after growing by ``grow_px``."""
    ids = np.unique(frame[frame > 0])
    if ids.size == 0:
        return 0, 0
    grown = expand_labels(frame, distance=grow_px) if grow_px > 0 else frame
    pairs = []
    for a, b in ((grown[:, :-1], grown[:, 1:]), (grown[:-1, :], grown[1:, :])):
        touch = (a != b) & (a > 0) & (b > 0)
        pairs.append(np.stack([a[touch], b[touch]], 1))
    edges = np.unique(np.concatenate(pairs), axis=0)
    index = np.searchsorted(ids, edges)
    graph = coo_matrix((np.ones(len(index)), (index[:, 0], index[:, 1])), shape=(ids.size, ids.size))
    n_chains, _ = connected_components(graph, directed=False)
    return int(ids.size), int(n_chains)


def mean_chain_sizes(labels: np.ndarray, *, pixel_size_nm: float, gap_nm: float = CHAIN_GAP_NM) -> np.ndarray:
    """Mean number of instances per chain in every frame (T,) of a (T, Y, X) label video; NaN for
    empty frames.  Instances whose masks come within ``gap_nm`` belong to one chain."""
    grow = gap_nm / (2 * pixel_size_nm)
    out = np.full(labels.shape[0], np.nan)
    for t, frame in enumerate(labels):
        n, c = _frame_chains(np.asarray(frame), grow)
        if c:
            out[t] = n / c
    return out


def _chain_rate(sizes: np.ndarray, frame_interval_s: float) -> tuple[float, float]:
    """Least-squares slope (1/s) of the mean chain size and its standard error (NaN with < 4 frames)."""
    ok = np.isfinite(sizes)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    t = np.flatnonzero(ok) * frame_interval_s
    if ok.sum() < 4:
        return float(np.polyfit(t, sizes[ok], 1)[0]), float("nan")
    coef, cov = np.polyfit(t, sizes[ok], 1, cov="unscaled")
    resid = sizes[ok] - np.polyval(coef, t)
    return float(coef[0]), float(np.sqrt(cov[0, 0] * (resid @ resid) / (ok.sum() - 2)))


def chain_growth_rel_error(video: Video, tracks: np.ndarray, *, gap_nm: float = CHAIN_GAP_NM) -> float:
    """|growth rate of the mean chain size (segmentation) − (truth)| / |(truth)|; NaN when nothing assembles."""
    if not video.potential:
        return float("nan")  # particles that do not interact do not assemble
    p, dt = video.meta.pixel_size_nm, video.meta.frame_interval_s
    true = mean_chain_sizes(video.labels, pixel_size_nm=p, gap_nm=gap_nm)
    rate, se = _chain_rate(true, dt)
    ok = np.flatnonzero(np.isfinite(true))
    if not (np.isfinite(rate) and np.isfinite(se)) or abs(rate) * (ok[-1] - ok[0]) * dt < CHAIN_MIN_GROWTH \
            or abs(rate) < 2 * se:
        return float("nan")
    seg, _ = _chain_rate(mean_chain_sizes(tracks, pixel_size_nm=p, gap_nm=gap_nm), dt)
    return float(abs(seg - rate) / abs(rate)) if np.isfinite(seg) else 1.0
