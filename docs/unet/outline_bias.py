"""Where the shipped U-Net's outlines lie against the true ones, per scenario × dose, on TRAINING data.

For every frame of a suite split (``train`` by default: choices are never made on test data) the
network's probabilities are computed once; each post-processing setting then turns them into
instances (:func:`unet.postprocess.instances_from_probabilities`), matched one to one with the
true instances at IoU > 0.5 (such matches are unique).  Per cell it prints, over the matched pairs:

- ``A_p/A_t``: median and mean of predicted area / true area;
- ``offset``: mean signed boundary offset (px, + = predicted outline outside the true one): the
  true mask's signed distance (px, ±0.5 at the pixels on either side of its outline) averaged over
  the predicted mask's inner and outer boundary pixels, each set weighted one half, so that the
  truth itself gives 0 and the truth grown by one pixel (4-neighbours) +1 on straight edges;
- ``centroid``: mean distance (px) between the two centroids;
- ``IoU``: mean IoU; and the cell's ``f1@0.5`` and ``ap@0.5:0.95`` (:mod:`benchmark.metrics`,
  mean over frames).

Usage (the shipped setting, then another one)::

    NANOAQ_CACHE=/work/cache-v3 python docs/unet/outline_bias.py --tier standard \
        --setting '{"threshold": 0.65, "boundary_threshold": 0.3, "min_area_px": 12}'
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch
from scipy import ndimage as ndi

from benchmark.metrics import frame_metrics
from benchmark.overlap import iou_from_overlap, label_overlap
from benchmark.suite import generate_suite
from unet.data import DiskFrames
from unet.infer import logits_of_normalized
from unet.io import load_model
from unet.postprocess import instances_from_probabilities


def signed_offset(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean signed distance (px) of the boolean mask ``pred``'s outline from ``true``'s (see module doc)."""
    sd = np.where(true, 0.5 - ndi.distance_transform_edt(true), ndi.distance_transform_edt(~true) - 0.5)
    inner = pred & ~ndi.binary_erosion(pred)
    outer = ndi.binary_dilation(pred) & ~pred
    return 0.5 * float(sd[inner].mean() + sd[outer].mean())


def matched_pairs(pred: np.ndarray, true: np.ndarray) -> list[tuple[int, int, float]]:
    """(predicted id, true id, IoU) of the pairs with IoU > 0.5 (at most one per object)."""
    overlap, true_ids, pred_ids = label_overlap(true, pred)
    iou = iou_from_overlap(overlap)  # (true, pred), background excluded
    return [(int(pred_ids[j + 1]), int(true_ids[i + 1]), float(iou[i, j])) for i, j in zip(*np.nonzero(iou > 0.5))]


def measure(probs: list[np.ndarray], truths: list[np.ndarray], cells: list[str], post: dict, pad: int = 3) -> dict:
    """Per cell: lists of per-pair area ratio, offset, centroid distance, IoU and per-frame f1, ap."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for prob, true, cell in zip(probs, truths, cells):
        pred = instances_from_probabilities(prob[0], prob[1], **post)
        fm = frame_metrics(true, pred)
        c = out[cell]
        c["f1"].append(fm["f1@0.5"])
        c["ap"].append(fm["ap@0.5:0.95"])
        boxes_p, boxes_t = ndi.find_objects(pred), ndi.find_objects(true)
        for i, j, iou in matched_pairs(pred, true):
            bp, bt = boxes_p[i - 1], boxes_t[j - 1]
            box = tuple(slice(max(min(a.start, b.start) - pad, 0), max(a.stop, b.stop) + pad) for a, b in zip(bp, bt))
            P, T = pred[box] == i, true[box] == j
            c["ratio"].append(P.sum() / T.sum())
            c["offset"].append(signed_offset(P, T))
            c["centroid"].append(float(np.hypot(*np.subtract(ndi.center_of_mass(P), ndi.center_of_mass(T)))))
            c["iou"].append(iou)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--split", default="train")
    p.add_argument("--setting", action="append", default=[], help="post-processing JSON (default: the model's)")
    args = p.parse_args()
    torch.set_num_threads(1)
    model, cfg = load_model(None)
    suite = generate_suite(args.tier, split=args.split, progress=False)
    data = DiskFrames([suite.path], margin=int(cfg["training"].get("margin", 0)))
    probs, truths, cells = [], [], []
    for name, (x, labels) in zip(data.names, data.videos):
        for t, logits in enumerate(logits_of_normalized(x, model, margin=data.margin)):
            probs.append(1.0 / (1.0 + np.exp(-logits)))
            truths.append(labels[t])
            cells.append(name.split("/")[0])
    for post in [cfg["postprocess"]] + [json.loads(s) for s in args.setting]:
        res = measure(probs, truths, cells, post)
        print(f"\n{suite.name} {args.tier} {args.split}, post-processing {json.dumps(post, sort_keys=True)}\n")
        print("| cell | matched | A_p/A_t median | mean | offset px | centroid px | IoU | f1@0.5 | ap@0.5:0.95 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cell, c in sorted(res.items()):
            if not c["iou"]:
                print(f"| {cell} | 0 | | | | | | {np.mean(c['f1']):.3f} | {np.mean(c['ap']):.3f} |")
                continue
            print(f"| {cell} | {len(c['iou'])} | {np.median(c['ratio']):.3f} | {np.mean(c['ratio']):.3f} | "
                  f"{np.mean(c['offset']):+.2f} | {np.mean(c['centroid']):.2f} | {np.mean(c['iou']):.3f} | "
                  f"{np.mean(c['f1']):.3f} | {np.mean(c['ap']):.3f} |")
        pooled = {k: np.concatenate([c[k] for c in res.values()]) for k in ("ratio", "offset", "centroid", "iou")}
        print(f"| all | {pooled['iou'].size} | {np.median(pooled['ratio']):.3f} | {pooled['ratio'].mean():.3f} | "
              f"{pooled['offset'].mean():+.2f} | {pooled['centroid'].mean():.2f} | {pooled['iou'].mean():.3f} | "
              f"{np.mean([np.mean(c['f1']) for c in res.values()]):.3f} | "
              f"{np.mean([np.mean(c['ap']) for c in res.values()]):.3f} |")


if __name__ == "__main__":
    main()
