"""Where the shipped U-Net's misses lie: particles cut by the frame's edge against the rest.

A particle that is mostly outside the field shows a sliver of a few pixels at the edge; the
benchmark's ``f1@0.5`` counts it like any other object, so a method must outline a 20-pixel
sliver to better than IoU 0.5 or lose a detection.  LPEM size and shape analyses usually leave
such particles out ("exclude on edges" of ImageJ's Analyze Particles).  This script scores the
U-Net and each cell's best tuned baseline both ways on the standard tier's test split: as the
benchmark does (every object counts), and with the objects that touch the frame's edge as "don't
care" (a true one is neither a hit nor a miss, an unmatched prediction touching the edge is no
false positive; matches are the benchmark's, :func:`baselines.matching.match` at IoU >= 0.5, and
each F1 is the mean over frames, 1 on a frame with nothing to count).  It also counts, per cell,
the true objects the U-Net misses and how many of them touch the edge.

    NANOAQ_CACHE=/work/cache-v5 python docs/unet/edge_misses.py \\
        --scores unet/weights/standard/cmp_scores.json --params unet/weights/standard/cmp_params.json

(the best baseline of a cell is the one of highest f1@0.5 in ``--scores``, run with its tuned
parameters from ``--params``: the files of ``compare_tuned_baselines.py``).  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from baselines.matching import match, overlap_matrix
from baselines.registry import get_method
from benchmark.suite import generate_suite
from simulator.dataset import open_dataset


def _edge(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """For each id of ``ids``, whether that object touches the frame's edge."""
    rim = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(ids, rim)


def frame_counts(true: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    """Matches at IoU >= 0.5 (:func:`baselines.matching.match`, the benchmark's), split by whether the
    true object touches the frame's edge, and the unmatched predictions split the same way."""
    m = match(true, pred)
    _, true_ids, pred_ids = overlap_matrix(true, pred)
    true_edge, pred_edge = _edge(true, true_ids[1:]), _edge(pred, pred_ids[1:])
    good = m.ious >= 0.5
    hit_true = np.zeros(m.n_true, bool)
    hit_true[m.rows[good]] = True
    hit_pred = np.zeros(m.n_pred, bool)
    hit_pred[m.cols[good]] = True
    return {"tp": int((hit_true & ~true_edge).sum()), "tp_edge": int((hit_true & true_edge).sum()),
            "fn": int((~hit_true & ~true_edge).sum()), "fn_edge": int((~hit_true & true_edge).sum()),
            "fp": int((~hit_pred & ~pred_edge).sum()), "fp_edge": int((~hit_pred & pred_edge).sum())}


def _f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def cell_scores(frames_true: list[np.ndarray], frames_pred: list[np.ndarray]) -> dict[str, float]:
    """Mean per-frame F1@0.5 as the benchmark counts (every object) and with the edge objects as
    "don't care" (a true object touching the edge is neither a hit nor a miss, an unmatched
    prediction touching it no false positive), and the misses (pooled counts)."""
    full, inner, c = [], [], {}
    for t, p in zip(frames_true, frames_pred):
        k = frame_counts(t, p)
        full.append(_f1(k["tp"] + k["tp_edge"], k["fp"] + k["fp_edge"], k["fn"] + k["fn_edge"]))
        inner.append(_f1(k["tp"], k["fp"], k["fn"]))
        c = {n: c.get(n, 0) + v for n, v in k.items()}
    return {"f1": float(np.mean(full)), "f1_inner": float(np.mean(inner)), **c}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scores", type=Path, required=True, help="…_scores.json of compare_tuned_baselines.py")
    p.add_argument("--params", type=Path, required=True, help="…_params.json of compare_tuned_baselines.py")
    p.add_argument("--model", default=None, help="U-Net MODELDIR (default: the shipped one)")
    args = p.parse_args()
    import torch

    from unet.method import segment

    torch.set_num_threads(2)
    scores, params = json.loads(args.scores.read_text()), json.loads(args.params.read_text())
    test = generate_suite("standard", split="test")
    print("| cell | U-Net f1@0.5 | edge objects don't care | misses (of true objects) | of them at the edge | "
          "best baseline f1@0.5 | edge objects don't care |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for task in test.tasks:
        base = {m: s[task.name]["f1@0.5"] for m, s in scores.items() if not m.startswith("unet")}
        best = max(base, key=base.get)
        method, kw = get_method(best), params[task.scenario][best]["params"]
        ds = open_dataset(test.dataset(task))
        truth, unet, baseline = [], [], []
        for vid in ds.video_ids:
            video = ds.read_video(vid)
            truth += list(video.labels)
            unet += list(segment(video.frames, video.meta, model=args.model))
            baseline += list(method(video.frames, video.meta, **kw))
        u, b = cell_scores(truth, unet), cell_scores(truth, baseline)
        print(f"| {task.name} | {u['f1']:.3f} | {u['f1_inner']:.3f} | {u['fn'] + u['fn_edge']} "
              f"({u['tp'] + u['tp_edge'] + u['fn'] + u['fn_edge']}) | {u['fn_edge']} | {b['f1']:.3f} ({best}) | "
              f"{b['f1_inner']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
