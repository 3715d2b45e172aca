"""How real do simulated frames look?  Real and simulated frames compared side by side.

:func:`realism` renders frames with a preset, once as it is ("before") and once with a
calibration of :mod:`simulator.calibration` ("after"), and compares each with real frames on
their backgrounds (:func:`simulator.noise_spectrum.background_mask`):

- ``nps_log_rms``: the RMS over frequency bands (8 equal bands from 0 to Nyquist) of
  ``log10 NPS_real − log10 NPS_sim``, both NPS relative to the squared background mean (so the
  score compares noise texture, whatever the units of the counts); 0 is identical, 1 is a factor
  of 10 on average;
- ``wasserstein_relative`` and ``ks_relative``: the Wasserstein-1 distance and the two-sample
  Kolmogorov–Smirnov statistic (:func:`scipy.stats.wasserstein_distance`,
  :func:`scipy.stats.ks_2samp`) between the background intensities divided by their mean;
- ``wasserstein_counts``: the Wasserstein-1 distance between background intensities in counts
  (units of the real frames), which also sees the dose-to-counts scale.

It writes ``realism.json``, ``montage.png``, ``nps.png``, ``histogram.png`` and ``index.md``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from simulator import noise_spectrum as ns
from simulator.calibration import load_calibration, read_frames
from simulator.config import load_config
from simulator.errors import UserError
from simulator.simulate import simulate_video

__all__ = ["frame_statistics", "realism_scores", "realism"]

log = logging.getLogger(__name__)

_BANDS = np.linspace(0.0, 0.5, 9)
_SAMPLE = 200_000  # background pixels kept per set for the two-sample distances


def frame_statistics(frames: np.ndarray, *, dark_particles: bool = True, patch_px: int = 64,
                     rng: np.random.Generator | int | None = 0) -> dict:
    """Background NPS (relative to the squared mean) and a sample of background intensities.

    Parameters
    ----------
    frames : (T, Y, X) counts
    dark_particles : particles darker than the liquid (bright field)
    patch_px : NPS patch side (px)
    rng : picks the sample of background pixels

    Returns
    -------
    dict with ``freq`` (F,) cycles/px, ``nps_relative`` (F,), ``mean`` (counts), ``values`` (N,)
    background counts (a random sample of at most 200 000).
    """
    rng = np.random.default_rng(rng)
    spectra, values = [], []
    for f in np.asarray(frames, np.float64):
        m = ns.background_mask(f, dark_particles=dark_particles)
        p = ns.background_patches(f, m, patch=patch_px)
        if len(p):
            spectra.append(ns.radial_profile(ns.patch_nps(p)) / f[m].mean() ** 2)
        values.append(f[m])
    v = np.concatenate(values)
    if v.size > _SAMPLE:
        v = rng.choice(v, _SAMPLE, replace=False)
    freq = ns.radial_frequencies(patch_px)
    nps = np.mean(spectra, axis=0) if spectra else np.full(freq.shape, np.nan)
    return {"freq": freq, "nps_relative": nps, "mean": float(v.mean()), "values": v}


def realism_scores(real: dict, sim: dict) -> dict[str, float | list[float]]:
    """Scores of ``sim`` against ``real`` (both from :func:`frame_statistics`); lower is closer."""
    from scipy.stats import ks_2samp, wasserstein_distance

    use = real["freq"] > 0
    edges = _BANDS.copy()
    edges[-1] += 1e-9
    br = ns.band_means(real["freq"][use], real["nps_relative"][use], edges)
    bs = ns.band_means(sim["freq"][use], sim["nps_relative"][use], edges)
    d = np.log10(bs) - np.log10(br)
    known = np.isfinite(d)  # a band with no frequency of a small frame has no estimate
    rr, rs = real["values"] / real["mean"], sim["values"] / sim["mean"]
    return {
        "nps_log_rms": float(np.sqrt(np.mean(d[known] ** 2))) if known.any() else float("nan"),
        "nps_log_diff_per_band": [float(x) for x in d],
        "wasserstein_relative": float(wasserstein_distance(rr, rs)),
        "ks_relative": float(ks_2samp(rr, rs).statistic),
        "wasserstein_counts": float(wasserstein_distance(real["values"], sim["values"])),
    }


def _render(preset: str, overrides: list[str], seed: int) -> np.ndarray:
    cfg = load_config(preset, overrides=overrides)
    return simulate_video(cfg, seed=seed).frames.astype(np.float64)


def realism(
    real_paths: list[str | Path], out: str | Path, *, calibration: str | Path | None = None,
    preset: str = "brownian-prisms", size: int = 512, frames: int = 2, seed: int = 0,
    overrides: list[str] | None = None,
) -> dict:
    """Compare real frames with frames simulated before and after calibration; write the report.

    Parameters
    ----------
    real_paths : TIFF frames, stacks or folders
    out : folder for realism.json, montage.png, nps.png, histogram.png, index.md
    calibration : calib.json; without it only the "before" set is compared
    preset, overrides : the simulated scene (``--set`` style overrides)
    size, frames, seed : simulated frame size (px), number of frames, and seed

    Returns
    -------
    The content of realism.json.

    Nothing is written until the inputs are read and the scores computed; the files are then
    written into a temporary ``.<out>.*.partial`` folder beside ``out`` and moved into ``out``
    (created if need be, its other files kept), so that a failure leaves no half-written report.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; expected a folder for the realism report")
    if seed < 0:
        raise UserError(f"seed = {seed}: expected a whole number >= 0 (--seed)")
    real_frames, sources, _, _ = read_frames(list(real_paths))
    dark = True
    if calibration is not None:
        dark = load_calibration(calibration).dark_particles
    base = list(overrides or []) + [f"video.frames={frames}", f"video.height_px={size}",
                                    f"video.width_px={size}", "video.count=1",
                                    f"dynamics.model={json.dumps('static')}"]
    sets = {"before": _render(preset, base, seed)}
    if calibration is not None:
        sets["after"] = _render(preset, base + [f"detector.calibration={json.dumps(str(calibration))}"], seed)
    stats = {"real": frame_statistics(real_frames, dark_particles=dark, rng=seed)}
    stats.update({k: frame_statistics(v, dark_particles=dark, rng=seed) for k, v in sets.items()})
    result = {
        "real": sources, "real_frames": int(len(real_frames)), "calibration": str(calibration) if calibration else None, "preset": preset,
        "overrides": list(overrides or []), "size": size, "frames": frames,
        "bands_cycles_per_px": _BANDS.tolist(),
        "scores": {k: realism_scores(stats["real"], stats[k]) for k in sets},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        (partial / "realism.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        _plots(partial, real_frames, sets, stats)
        _index(partial, result)
        out.mkdir(exist_ok=True)
        for f in sorted(partial.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return result


def _plots(out: Path, real: np.ndarray, sets: dict[str, np.ndarray], stats: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = next(iter(sets.values())).shape[1]
    H, W = real.shape[1:]
    y0, x0 = max((H - size) // 2, 0), max((W - size) // 2, 0)
    panels = [("real (centre crop)", real[0, y0:y0 + size, x0:x0 + size])]
    panels += [(f"simulated, {k} calibration", v[0]) for k, v in sets.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4))
    for ax, (title, img) in zip(np.atleast_1d(axes), panels):
        lo, hi = np.percentile(img, [0.5, 99.5])
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "montage.png", dpi=100)
    plt.close(fig)

    colours = {"real": "k", "before": "tab:red", "after": "tab:blue"}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, s in stats.items():
        use = s["freq"] > 0
        ax.semilogy(s["freq"][use], s["nps_relative"][use], color=colours[k], label=k)
    ax.set_xlabel("spatial frequency (cycles/px)")
    ax.set_ylabel("background NPS / mean²")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "nps.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    bins = np.linspace(0, 2.5, 101)
    for k, s in stats.items():
        ax.hist(s["values"] / s["mean"], bins=bins, density=True, histtype="step", color=colours[k], label=k)
    ax.set_xlabel("background intensity / its mean")
    ax.set_ylabel("density")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "histogram.png", dpi=100)
    plt.close(fig)


def _index(out: Path, result: dict) -> None:
    lines = ["# Realism: real vs simulated frames", "",
             f"Real: {result['real_frames']} frame(s) from {len(result['real'])} file(s); simulated: preset `{result['preset']}`, "
             f"{result['frames']} frame(s) of {result['size']} px; calibration: `{result['calibration']}`.", "",
             "| set | NPS log-RMS | Wasserstein (relative) | KS (relative) | Wasserstein (counts) |",
             "|---|---|---|---|---|"]
    for k, s in result["scores"].items():
        lines.append(f"| {k} | {s['nps_log_rms']:.3f} | {s['wasserstein_relative']:.4f} | "
                     f"{s['ks_relative']:.3f} | {s['wasserstein_counts']:.1f} |")
    lines += ["", "![montage](montage.png)", "", "![NPS](nps.png) ![histograms](histogram.png)", ""]
    (out / "index.md").write_text("\n".join(lines), encoding="utf-8")
