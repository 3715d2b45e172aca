"""Segment the real LPEM frames with the U-Net and the best baseline; figure and table for the README.

    python docs/make_real_figure.py [--real ../shared/data/real_lptem] [--baseline triangle]
                                    [--model MODELDIR ...] [--out-dir docs]

Writes ``docs/images/real_frames.png`` (crops of two frames with the outlines found by each
method, the distribution of particle size and the count per frame), ``docs/real_frames.md`` and ``docs/real_frames.json``
(per frame and per method: particle count, equivalent-diameter percentiles in nm, area fraction).
The real frames have no ground truth, so these are descriptions, not scores; the frames show
chains of touching ~40 nm Au particles, and how each method splits the chains shows in the counts.
The baseline is ``triangle``, the best threshold on the quick suite (F1@0.5 0.376, session-1
closing note); ``--params @file.json`` gives it tuned parameters (``nanoaq tune`` on simulation
calibrated against these frames, see docs/README text); ``--model NAME=MODELDIR`` adds U-Net
models (e.g. one fine-tuned on calibrated simulation by ``docs/train_calibrated.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real_lptem"
SHOWN = (0, 9)  # frames 000 and 135
CROP = ((256, 640), (256, 640))  # 384 px (660 nm) holding several chains
COLOURS = ("#00e5ff", "#ff9800", "#e040fb", "#76ff03")

log = logging.getLogger("make_real_figure")


def _stats(labels: np.ndarray, pixel_nm: float) -> dict:
    from skimage.measure import regionprops

    d = np.array([r.equivalent_diameter_area for r in regionprops(labels)]) * pixel_nm
    pct = np.percentile(d, [10, 50, 90]) if d.size else np.zeros(3)
    return {"count": int(d.size), "diameter_nm_p10": float(pct[0]), "diameter_nm_median": float(pct[1]),
            "diameter_nm_p90": float(pct[2]), "area_fraction": float((labels > 0).mean()),
            "diameters_nm": [round(float(x), 2) for x in d]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--baseline", default="triangle")
    ap.add_argument("--params", help="baseline parameters: JSON or @file.json (e.g. from `nanoaq tune`)")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=MODELDIR",
                    help="an extra U-Net model to compare (repeatable)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    from baselines.inputs import open_input
    from baselines.registry import get_method, parse_params, validate_params

    ids, load = open_input(args.real)
    video, meta = load(ids[0])
    baseline = get_method(args.baseline)
    params = validate_params(baseline, parse_params(args.params), method=args.baseline) if args.params else {}
    label = f"{args.baseline} (tuned)" if params else args.baseline
    methods = {"unet (shipped)": (get_method("unet"), {}), label: (baseline, params)}
    for item in args.model:
        name, _, path = item.partition("=")
        methods[f"unet ({name})"] = (get_method("unet"), {"model": path})
    labels, table = {}, {}
    for name, (func, params) in methods.items():
        log.info("segmenting %d frames with %s", video.shape[0], name)
        labels[name] = np.asarray(func(video, meta, **params))
        table[name] = [_stats(lab, meta.pixel_size_nm) for lab in labels[name]]

    names = [f"{i * 15:03d}.tif" for i in range(video.shape[0])]
    out = args.out_dir
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "real_frames.json").write_text(json.dumps(
        {"frames": names, "pixel_size_nm": meta.pixel_size_nm, "methods": table}, indent=1), encoding="utf-8")
    _table(out / "real_frames.md", names, table, meta.pixel_size_nm)
    _figure(out / "images" / "real_frames.png", video, labels, table, names)
    log.info("wrote %s, %s and %s", out / "images" / "real_frames.png", out / "real_frames.md",
             out / "real_frames.json")
    return 0


def _table(path: Path, names: list[str], table: dict, pixel_nm: float) -> None:
    methods = list(table)
    lines = ["# Real LPEM frames: particles found by each method", "",
             f"Ten real frames (1024×1024 px, {pixel_nm:.3f} nm/px; `../shared/data/real_lptem`), no ground truth. "
             "Count of particles and equivalent diameter (10th / 50th / 90th percentile, nm). "
             "Made by `python docs/make_real_figure.py`.", "",
             "| frame | " + " | ".join(f"{m}: count | {m}: diameter nm" for m in methods) + " |",
             "|---|" + "---|---|" * len(methods)]
    for i, n in enumerate(names):
        cells = []
        for m in methods:
            s = table[m][i]
            cells += [str(s["count"]), f"{s['diameter_nm_p10']:.0f} / {s['diameter_nm_median']:.0f} / "
                                       f"{s['diameter_nm_p90']:.0f}"]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _figure(path: Path, video: np.ndarray, labels: dict, table: dict, names: list[str]) -> None:
    """Rows: frames of SHOWN (a CROP of each); columns: one method each, then size histogram
    (first row) and particle count per frame (second row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    (y0, y1), (x0, x1) = CROP
    methods = list(labels)
    fig, axes = plt.subplots(len(SHOWN), len(methods) + 1, figsize=(4.2 * (len(methods) + 1), 4.4 * len(SHOWN)))
    for row, t in zip(axes, SHOWN):
        img = video[t, y0:y1, x0:x1].astype(float)
        lo, hi = np.percentile(img, [0.5, 99.5])
        grey = np.clip((img - lo) / (hi - lo), 0, 1)
        for ax, name, colour in zip(row, methods, COLOURS):
            rgb = np.repeat(grey[..., None], 3, axis=2)
            rgb[find_boundaries(labels[name][t, y0:y1, x0:x1], mode="inner")] = matplotlib.colors.to_rgb(colour)
            ax.imshow(rgb)
            ax.set_title(f"{names[t]}, {name}: {table[name][t]['count']} in the frame", fontsize=10)
            ax.axis("off")
    ax = axes[0, -1]
    bins = np.linspace(0, 200, 41)
    for name, colour in zip(methods, COLOURS):
        d = np.concatenate([r["diameters_nm"] for r in table[name]])
        ax.hist(d, bins=bins, histtype="step", lw=2, color=colour, label=f"{name} ({d.size})")
    ax.set_xlabel("equivalent diameter (nm)")
    ax.set_ylabel("particles in the ten frames")
    ax.legend(fontsize=8)
    ax = axes[1, -1] if len(SHOWN) > 1 else ax.twinx()
    for name, colour in zip(methods, COLOURS):
        ax.plot(range(len(names)), [r["count"] for r in table[name]], "o-", color=colour, label=name)
    ax.set_xticks(range(len(names)), [n[:3] for n in names], fontsize=8)
    ax.set_xlabel("frame")
    ax.set_ylabel("particles found")
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
