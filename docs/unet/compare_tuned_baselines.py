"""The shipped U-Net against every thresholding baseline tuned on the training split, per scenario × dose.

For each scenario of a suite tier, each baseline's parameters are searched
(:func:`baselines.tune.tune`, random search, F1 at IoU 0.5) on the ``train`` split of that
scenario (all its dose levels pooled; ``--tune-frames`` evenly spaced frames of each training
video).  Every tuned baseline and the U-Net then segment the ``test`` split, scored with the
benchmark's per-frame metrics (:func:`benchmark.metrics.frame_metrics`, mean over frames, then
over the videos of a task).  The "best tuned baseline" of a cell is the best of them *on the test
data of that cell* — an optimistic choice for the baselines, so the comparison is conservative
for the U-Net.

Usage (cached suites are reused; results are cached per method in ``--out``/cache, so a killed run
resumes)::

    NANOAQ_CACHE=/work/cache python docs/unet/compare_tuned_baselines.py --tier standard \
        --budget 8 --tune-frames 1 --out unet/weights/standard/cmp

(the command of ``unet/weights/README.md``: ``cmp_params.json``, ``cmp_scores.json``, ``cmp_table.md``).

``--tta`` scores the U-Net with test-time augmentation instead (cached as ``unet-tta`` beside the
plain ``unet`` and the baselines, table in ``…_tta_table.md``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from baselines.registry import get_method, list_methods
from baselines.tune import tune
from benchmark.metrics import frame_metrics
from benchmark.suite import TIERS, generate_suite
from simulator.dataset import open_dataset
from simulator.outfile import write_atomic
from simulator.video import Video

log = logging.getLogger("compare")
METRICS = ("f1@0.5", "ap@0.5:0.95")


def _subsample(video: Video, n: int) -> Video:
    idx = np.unique(np.linspace(0, video.frames.shape[0] - 1, n).round().astype(int))
    return Video(frames=video.frames[idx], labels=video.labels[idx], meta=video.meta) if n < video.frames.shape[0] \
        else video


def _load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def tune_all(train, methods: list[str], budget: int, frames: int, out: Path) -> dict[str, Any]:
    """{scenario: {method: {"params": ..., "train_f1": ...}}}, cached in ``out``."""
    params = _load_json(out)
    for scenario in sorted({t.scenario for t in train.tasks}):
        videos = []
        for task in (t for t in train.tasks if t.scenario == scenario):
            ds = open_dataset(train.dataset(task))
            videos += [_subsample(ds.read_video(v), frames) for v in ds.video_ids]
        for m in methods:
            if m in params.get(scenario, {}):
                continue
            t0 = time.perf_counter()
            r = tune(m, videos, budget=budget, rng=0)
            params.setdefault(scenario, {})[m] = {"params": r.params, "train_f1": r.f1}
            log.info("tuned %s on %s: train F1 %.3f (%.0f s)", m, scenario, r.f1, time.perf_counter() - t0)
            _save_json(out, params)
    return params


def score_all(test, methods: dict[str, tuple[Any, dict[str, dict]]], out: Path) -> dict[str, Any]:
    """{method: {task: {metric: mean}}} on the test split, cached per method in ``out``."""
    scores = _load_json(out)
    for name, (func, per_scenario) in methods.items():
        if name in scores:
            continue
        res: dict[str, dict[str, float]] = {}
        seconds, frames = 0.0, 0
        for task in test.tasks:
            ds = open_dataset(test.dataset(task))
            per_video = []
            for vid in ds.video_ids:
                video = ds.read_video(vid)
                t0 = time.perf_counter()
                pred = func(video.frames, video.meta, **per_scenario.get(task.scenario, {}))
                seconds, frames = seconds + time.perf_counter() - t0, frames + video.frames.shape[0]
                fm = [frame_metrics(video.labels[t], pred[t], pixel_size_nm=video.meta.pixel_size_nm)
                      for t in range(video.frames.shape[0])]
                per_video.append({k: float(np.nanmean([f[k] for f in fm])) for k in METRICS})
            res[task.name] = {k: float(np.mean([v[k] for v in per_video])) for k in METRICS}
        res["_seconds_per_frame"] = {"value": seconds / max(frames, 1)}
        scores[name] = res
        log.info("scored %s: mean f1@0.5 %.3f", name, np.mean([v["f1@0.5"] for k, v in res.items() if k[0] != "_"]))
        _save_json(out, scores)
    return scores


def table(test, scores: dict[str, Any], unet: str = "unet") -> str:
    """Markdown table per scenario × dose: U-Net and best tuned baseline f1@0.5 (ap@0.5:0.95 too)."""
    doses = TIERS[test.tier]["doses"]
    low = sorted(doses)[:2]
    mid = sorted(doses)[len(doses) // 2]
    lines = ["| scenario | dose | U-Net f1@0.5 | best tuned baseline f1@0.5 | Δ | U-Net ap@0.5:0.95 | baseline ap@0.5:0.95 | target | met |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    met_all = {"≥ baseline everywhere": True, f"+0.15 at doses {low[0]:g} and {low[1]:g}": True,
               f"f1 ≥ 0.9 and ap ≥ 0.7 at dose {mid:g}": True}
    for task in test.tasks:
        u = scores[unet][task.name]
        base = {m: s[task.name] for m, s in scores.items() if not m.startswith("unet")}
        best = max(base, key=lambda m: base[m]["f1@0.5"])
        b = base[best]
        d = u["f1@0.5"] - b["f1@0.5"]
        dose = task.dose_rate_e_per_A2_s
        if dose in low:
            target, ok = "Δ ≥ +0.15", d >= 0.15
            met_all[f"+0.15 at doses {low[0]:g} and {low[1]:g}"] &= ok
        elif dose == mid:
            target, ok = "f1 ≥ 0.9, ap ≥ 0.7, Δ ≥ 0", u["f1@0.5"] >= 0.9 and u["ap@0.5:0.95"] >= 0.7 and d >= 0
            met_all[f"f1 ≥ 0.9 and ap ≥ 0.7 at dose {mid:g}"] &= u["f1@0.5"] >= 0.9 and u["ap@0.5:0.95"] >= 0.7
        else:
            target, ok = "Δ ≥ 0", d >= 0
        met_all["≥ baseline everywhere"] &= d >= 0
        lines.append(f"| {task.scenario} | {dose:g} | {u['f1@0.5']:.3f} | {b['f1@0.5']:.3f} ({best}) | {d:+.3f} | "
                     f"{u['ap@0.5:0.95']:.3f} | {b['ap@0.5:0.95']:.3f} | {target} | {'yes' if ok else 'NO'} |")
    lines.append("")
    lines += [f"- {k}: {'met' if v else 'NOT met'}" for k, v in met_all.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--budget", type=int, default=16, help="tuning trials per baseline and scenario")
    p.add_argument("--tune-frames", type=int, default=1, help="frames of each training video used for tuning")
    p.add_argument("--methods", default="", help="comma-separated baselines (default: every thresholding one)")
    p.add_argument("--model", default=None, help="U-Net MODELDIR or .safetensors (default: the shipped one)")
    p.add_argument("--tta", action="store_true", help="the U-Net with test-time augmentation (8 views a frame)")
    p.add_argument("--out", type=Path, required=True, help="prefix of the outputs (…_params.json, …_scores.json, …_table.md)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(1)
    methods = [m for m in (args.methods.split(",") if args.methods else list_methods()) if m and m != "unet"]
    train, test = generate_suite(args.tier, split="train"), generate_suite(args.tier, split="test")
    log.info("suites: train %s, test %s (checksum %s)", train.path, test.path, test.checksum[:12])
    params = tune_all(train, methods, args.budget, args.tune_frames, Path(f"{args.out}_params.json"))
    from unet.method import segment

    unet = "unet-tta" if args.tta else "unet"  # cached apart: both runs share the baselines' scores
    runs: dict[str, tuple[Any, dict[str, dict]]] = {
        unet: (lambda frames, meta: segment(frames, meta, model=args.model, tta=args.tta), {})}
    for m in methods:
        runs[m] = (get_method(m), {s: params[s][m]["params"] for s in params})
    scores = score_all(test, runs, Path(f"{args.out}_scores.json"))
    md = table(test, scores, unet)
    write_atomic(f"{args.out}_tta_table.md" if args.tta else f"{args.out}_table.md",
                 f"Suite {test.name} {test.tier}, test checksum {test.checksum[:12]}; baselines tuned per scenario "
                 f"on the train split ({args.budget} trials, {args.tune_frames} frame(s) per training video).\n\n"
                 + md)
    print(md)


if __name__ == "__main__":
    main()
