"""Which particles could any method find at all? The ideal observer and Rose's criterion.

Seen by an observer that knows exactly what a particle is and where, a particle of expected
electrons ``E_i`` per pixel on the particle-free background ``B_i`` is told from the background
with the detectability

    d'^2 = sum_i (E_i - B_i)^2 / ((E_i + B_i) / 2)

(the Hotelling SNR of Poisson counts, covariance averaged over the two hypotheses: the best linear
observer, close to the ideal one at these counts; Barrett & Myers, *Foundations of Image Science*,
Wiley 2004, ch. 13).  ``E`` and ``B`` are the electrons reaching the camera
(:class:`simulator.optics.Imager`, averaged over the exposure as rendered): a camera cannot add
information to them (its DQE is at most 1).  Over K frames the d'^2 of the particle's frames add
up, for an observer that follows the particle from frame to frame (optimistic: a method must find
it first).  Rose's criterion (Rose, J. Opt. Soc. Am. 38, 196 (1948); applied to liquid-cell EM by
de Jonge & Ross, Nat. Nanotechnol. 6, 695 (2011)) asks for d' >= 5 to tell an object from the
noise of an image with many places it could be.

For every cell of a benchmark tier (its configuration, seeds 0, 1, ... instead of the test seeds:
the same distribution), the script renders the videos and gives each particle of each frame the
pixels nearest to it (its mid-exposure label grown by ``--grow`` px, where the optics' blur and
the motion during the exposure spread its signal; :func:`skimage.segmentation.expand_labels`).
It prints the median d' of the particles in their own frame and within ``--context`` frames
centred on it (the U-Net reads 5), the fractions with d' >= 5 in each, and the F1 of a method
that finds exactly the latter and nothing else, 2R/(1+R): an estimate of the best detection F1
(precision 1 assumed; Rose's 5 is a convention, not a hard edge: a particle at d' 4 is sometimes
found, one at d' 1 is not told from noise).

The observer above also knows the background exactly, including the liquid layer's slow random
thickness variation (:mod:`simulator.liquid`: 3 nm RMS over 60 nm by default), which no method
knows: to it the variation is *clutter*, a stationary random background the same in every frame
of a video (Rolland & Barrett, J. Opt. Soc. Am. A 9, 649 (1992): a lumpy background lowers the
detectability of the Hotelling observer, which then knows only the background's statistics).  Its
power spectrum ``P_c(f)`` is measured on the cell's videos (the background with the variation
minus the same background without it, radially averaged).  In the frequency domain, with white
Poisson noise of variance ``σ_k²`` (the mean of ``(E + B) / 2`` over the particle's pixels in frame
``k``) and the same clutter in the K frames of the window, the Hotelling observer's

    d'^2 = (1/N) Σ_f [ Σ_k |S_k|² / σ_k²  −  P_c |Σ_k S_k / σ_k²|² / (1 + P_c Σ_k 1 / σ_k²) ]

(Sherman–Morrison on the K×K covariance ``diag(σ_k²) + P_c 11ᵀ`` at each frequency; ``S_k`` the
DFT of the particle's signal ``E − B`` in frame k, ``N`` the pixels of a frame).  A particle that
stays put gains little from more frames once ``σ²/K`` falls below ``P_c`` (the clutter does not
average away); one that moves sees the clutter behind it change.  The script reports this d' as
the stationary approximation's ratio with and without clutter applied to the exact d'^2 above
(exact without clutter; close to exact for faint particles, whose ``E ≈ B`` makes the Poisson
noise nearly stationary, though the background still varies over the field).

With ``--by-particle`` it also splits each cell's particles by material, shape and thickness along
the beam (:func:`particle_kind`): a cell can mix kinds far apart (brownian-prisms: 20-30 nm gold
spheres and 5-7 nm gold plates), and its median hides the faint kind.

``--json OUT`` also writes the tables to ``OUT`` as ``{"cells": [row per cell], "by_particle":
[row per cell and kind]}``, ``"by_particle"`` null without ``--by-particle``.

    python docs/unet/detection_limit.py [--tier standard --videos 2 --context 5 --cells prisms --by-particle --json OUT]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from skimage.segmentation import expand_labels

import simulator.simulate as simulate_module
from benchmark.suite import suite_tasks
from simulator.config import load_config
from simulator.simulate import Simulation

#: Rose's criterion (Rose 1948): the d' needed to tell an object from noise.
ROSE_K = 5.0

#: Edges (nm) of the thickness classes of ``--by-particle``: the prisms of brownian-prisms are
#: 0.25 x 25 nm thick (5-7 nm), its spheres and the etching rods 15-30 nm, the beads ~120 nm.
THICKNESS_EDGES_NM = (0, 5, 7, 10, 20, 50, 200, 1000)


def particle_kind(row: Mapping[str, object]) -> str:
    """"material shape, lo-hi nm" of a row of a video's particle table (thickness along the beam)."""
    edges = np.asarray(THICKNESS_EDGES_NM)
    k = int(np.searchsorted(edges, float(row["thickness_nm"]), side="right")) - 1  # type: ignore[arg-type]
    if k >= len(edges) - 1:
        return f"{row['material']} {row['shape']}, >= {edges[-1]} nm"
    return f"{row['material']} {row['shape']}, {edges[max(k, 0)]}-{edges[max(k, 0) + 1]} nm"


def hotelling_d2(expected: np.ndarray, background: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """d'^2 of each region: sum over its pixels of (E - B)^2 / ((E + B) / 2).

    Parameters
    ----------
    expected, background : (Y, X) float
        Expected electrons per pixel with and without the particles.
    regions : (Y, X) int
        Region of each pixel, 0 = none.

    Returns
    -------
    (regions.max() + 1,) float: d'^2 per region id (index 0: the unassigned pixels).
    """
    terms = 2 * (expected - background) ** 2 / (expected + background)
    return np.bincount(regions.ravel(), terms.ravel(), minlength=int(regions.max(initial=0)) + 1)


class Particle(NamedTuple):
    """One particle in one frame: its exact d'^2, its signal's spectrum and its Poisson variance."""

    d2: float
    spectrum: np.ndarray  # rfft2 of E - B over the particle's pixels (complex64)
    variance: float  # mean of (E + B) / 2 over them
    kind: str = ""  # :func:`particle_kind`


class Video(NamedTuple):
    """Per frame, track id -> :class:`Particle`; and the clutter, the background's random part."""

    frames: list[dict[int, Particle]]
    clutter: np.ndarray
    background_mean: float


def detectability(scenario: str, overrides: list[str], *, seed: int, grow_px: int) -> Video:
    """Every particle of every frame of one video, and the video's clutter (electrons per pixel)."""
    config = load_config(scenario, overrides=overrides)
    sim = Simulation(config, seed=seed)
    # The same liquid layer without its random variation (the liquid's own random stream): the
    # known part of the background.
    smooth = Simulation(load_config(scenario, overrides=[*overrides, "liquid.variation_nm=0"]), seed=seed)
    captured: list[np.ndarray] = []
    record = simulate_module.record

    def capturing(expected: np.ndarray, **kw: object) -> np.ndarray:
        captured.append(np.array(expected, dtype=np.float64))
        return record(expected, **kw)

    simulate_module.record = capturing  # the expected electrons each frame is recorded from
    try:
        background = sim.background_electrons
        frames = []
        for frame in sim.frames():
            expected = captured.pop()
            regions = expand_labels(frame.labels, grow_px)
            d2 = hotelling_d2(expected, background, regions)
            signal, noise = expected - background, (expected + background) / 2
            kinds = {int(row["id"]): particle_kind(row) for row in frame.particles}
            particles = {}
            for k in np.flatnonzero(np.bincount(frame.labels.ravel(), minlength=d2.size)[1:]) + 1:
                inside = regions == k
                spectrum = np.fft.rfft2(np.where(inside, signal, 0.0)).astype(np.complex64)
                particles[int(k)] = Particle(float(d2[k]), spectrum, float(noise[inside].mean()), kinds[int(k)])
            frames.append(particles)
    finally:
        simulate_module.record = record
    return Video(frames, background - smooth.background_electrons, float(background.mean()))


def half_plane_weights(shape: tuple[int, int]) -> np.ndarray:
    """(Y, X//2+1) multiplicity of each rfft2 coefficient in the full plane (1 or 2)."""
    H, W = shape
    w = np.full((H, W // 2 + 1), 2.0)
    w[:, 0] = 1.0
    if W % 2 == 0:
        w[:, -1] = 1.0
    return w


def clutter_power(clutter: list[np.ndarray]) -> np.ndarray:
    """Radially averaged power spectrum (rfft2 half-plane) of same-shaped clutter fields.

    Normalised as the periodogram ``|DFT(c - mean)|^2 / N``: white noise of variance ``s^2`` has
    ``s^2`` at every frequency.  Rings one frequency step wide, pooled over the fields.  The zero
    frequency, which a field's own mean cannot estimate (it is subtracted), takes the lowest ring's
    value: a smooth spectrum, and an observer that is not told each video's mean clutter.
    """
    H, W = clutter[0].shape
    rings = np.rint(np.hypot(*np.meshgrid(np.fft.fftfreq(H) * max(H, W), np.fft.rfftfreq(W) * max(H, W),
                                          indexing="ij"))).astype(int)
    weights = half_plane_weights((H, W))
    power = sum(np.abs(np.fft.rfft2(c - c.mean())) ** 2 for c in clutter) / (len(clutter) * H * W)
    ring_mean = (np.bincount(rings.ravel(), (weights * power).ravel())
                 / np.bincount(rings.ravel(), weights.ravel()))
    ring_mean[0] = ring_mean[1]
    return ring_mean[rings]


def window_d2(spectra: list[np.ndarray], variances: list[float], clutter_psd: np.ndarray,
              shape: tuple[int, int]) -> float:
    """d'^2 of one particle over the frames of a window, white Poisson noise plus static clutter.

    ``spectra`` rfft2 of the particle's signal in each frame, ``variances`` the Poisson variance
    per pixel in each, ``clutter_psd`` the clutter's power spectrum on the same half-plane (the
    Sherman–Morrison formula of the module's docstring).
    """
    inv = 1.0 / np.asarray(variances, dtype=np.float64)
    a = sum(np.abs(s.astype(np.complex128)) ** 2 * v for s, v in zip(spectra, inv))
    b = sum(s.astype(np.complex128) * v for s, v in zip(spectra, inv))
    per_f = a - clutter_psd * np.abs(b) ** 2 / (1.0 + clutter_psd * inv.sum())
    return float((half_plane_weights(shape) * per_f).sum() / (shape[0] * shape[1]))


def over_context(video: Video, context: int, clutter_psd: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(d' in its own frame, d' over the ``context`` frames centred on it) of every particle of every frame.

    Without ``clutter_psd`` the exact d'^2 of the frames add up; with it, each sum is scaled by
    the stationary approximation's d'^2 with the clutter over the same without it.
    """
    half, frames, shape = context // 2, video.frames, video.clutter.shape
    no_clutter = None if clutter_psd is None else np.zeros_like(clutter_psd)
    single, multi = [], []
    for t, frame in enumerate(frames):
        window = frames[max(0, t - half):t + half + 1]
        for track, particle in frame.items():
            seen = [f[track] for f in window if track in f]
            d2 = [particle.d2, sum(p.d2 for p in seen)]
            if clutter_psd is not None:
                for i, group in enumerate(([particle], seen)):
                    spectra, variances = [p.spectrum for p in group], [p.variance for p in group]
                    white = window_d2(spectra, variances, no_clutter, shape)
                    d2[i] *= (window_d2(spectra, variances, clutter_psd, shape) / white) if white > 0 else 0.0
            single.append(np.sqrt(d2[0]))
            multi.append(np.sqrt(d2[1]))
    return np.array(single), np.array(multi)


def kinds_of(video: Video) -> np.ndarray:
    """The kind of every particle of every frame, in the order of :func:`over_context`."""
    return np.array([p.kind for frame in video.frames for p in frame.values()])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--context", type=int, default=5, help="frames a method may combine, centred on the frame")
    p.add_argument("--grow", type=int, default=4, help="px added around each particle's label")
    p.add_argument("--cells", default="", help="comma-separated substrings of the cells (default: all)")
    p.add_argument("--by-particle", action="store_true", help="also split each cell by material, shape and thickness")
    p.add_argument("--json", default=None,
                   help='also write the tables to this file: {"cells": [...], "by_particle": [...] or null}')
    args = p.parse_args(argv)
    rows, by_kind = [], []
    k = args.context
    wanted = [c for c in args.cells.split(",") if c]
    print(f"{'':<38}{'background known exactly':^38}  |{'clutter known only statistically':^36}")
    print(f"{'cell':<28}{'particles':>10}{'median d1':>10}{f'median d{k}':>10}{'d1>=5':>8}{f'd{k}>=5':>8}"
          f"{'F1 max':>8}  |{'clutter %':>10}{f'median d{k}':>10}{f'd{k}>=5':>8}{'F1 max':>8}")
    for task in suite_tasks(args.tier, split="test"):
        if wanted and not any(w in task.name for w in wanted):
            continue
        overrides = [o for o in task.overrides if not o.startswith("video.count=")]
        videos = [detectability(task.scenario, overrides, seed=s, grow_px=args.grow) for s in range(args.videos)]
        psd = clutter_power([v.clutter for v in videos])
        single, multi = map(np.concatenate, zip(*(over_context(v, k) for v in videos)))
        single_c, multi_c = map(np.concatenate, zip(*(over_context(v, k, psd) for v in videos)))
        clutter_pct = 100 * float(np.mean([v.clutter.std() / v.background_mean for v in videos]))
        r1, rk, r1c, rkc = (float(np.mean(d >= ROSE_K)) for d in (single, multi, single_c, multi_c))
        rows.append({"cell": task.name, "particles": int(single.size), "median_d1": float(np.median(single)),
                     f"median_d{k}": float(np.median(multi)), "rose_1": r1, f"rose_{k}": rk,
                     "f1_max": 2 * rk / (1 + rk), "clutter_rms_percent": clutter_pct,
                     "clutter": {"median_d1": float(np.median(single_c)), f"median_d{k}": float(np.median(multi_c)),
                                 "rose_1": r1c, f"rose_{k}": rkc, "f1_max": 2 * rkc / (1 + rkc)}})
        print(f"{task.name:<28}{single.size:>10}{np.median(single):>10.1f}{np.median(multi):>10.1f}{r1:>8.2f}"
              f"{rk:>8.2f}{2 * rk / (1 + rk):>8.2f}  |{clutter_pct:>10.2f}{np.median(multi_c):>10.1f}{rkc:>8.2f}"
              f"{2 * rkc / (1 + rkc):>8.2f}", flush=True)
        if args.by_particle:
            kinds = np.concatenate([kinds_of(v) for v in videos])
            for kind in sorted(set(kinds)):
                m = kinds == kind
                by_kind.append({"cell": task.name, "kind": str(kind), "particles": int(m.sum()),
                                "median_d1": float(np.median(single[m])), f"median_d{k}": float(np.median(multi[m])),
                                "rose_1": float(np.mean(single[m] >= ROSE_K)), f"rose_{k}": float(np.mean(multi[m] >= ROSE_K)),
                                "clutter": {f"median_d{k}": float(np.median(multi_c[m])),
                                            f"rose_{k}": float(np.mean(multi_c[m] >= ROSE_K))}})
    if by_kind:
        print(f"\n{'cell':<28}{'particles (thickness along the beam)':<36}{'n':>6}{'median d1':>10}{f'median d{k}':>10}"
              f"{'d1>=5':>8}{f'd{k}>=5':>8}  |{f'median d{k}':>10}{f'd{k}>=5':>8}")
        for r in by_kind:
            print(f"{r['cell']:<28}{r['kind']:<36}{r['particles']:>6}{r['median_d1']:>10.1f}{r[f'median_d{k}']:>10.1f}"
                  f"{r['rose_1']:>8.2f}{r[f'rose_{k}']:>8.2f}  |{r['clutter'][f'median_d{k}']:>10.1f}"
                  f"{r['clutter'][f'rose_{k}']:>8.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cells": rows, "by_particle": by_kind if args.by_particle else None}, fh, indent=1)


if __name__ == "__main__":
    main()
