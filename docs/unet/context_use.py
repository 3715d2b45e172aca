"""Does the U-Net read its neighbouring frames? The same frames with and without their context.

The network segments the centre frame of a stack of ``in_channels`` neighbouring frames.  This
script scores every cell of a tier's **test** split twice with the same post-processing: with the
real neighbours, and with the centre frame repeated in their place (the stack a model would see if
nothing moved and no new electrons arrived).  The particles found (matched at IoU 0.5) in the two
cases say how much of what a model finds comes from the other frames: a cell where the repeated
frame finds about as many is segmented frame by frame, whatever the observer that follows each
particle over the window could do (``docs/unet/detection_limit.py``).

    python docs/unet/context_use.py [--tier standard --model MODELDIR --cells prisms,rods --by-particle]

Prints, per cell, the particles found / true and the pooled F1@0.5 in both cases; with
``--by-particle`` also, per kind of particle (material, shape and thickness along the beam from
each video's ``particles.csv``), how many of its particle-frames are found in each case.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from baselines.matching import iou_matrix
from benchmark.suite import generate_suite
from unet.calibrate import match_counts
from unet.data import DiskFrames
from unet.infer import logits_of_normalized
from unet.io import load_model
from unet.model import UNet
from unet.postprocess import instances_from_probabilities

if str(Path(__file__).resolve().parent) not in sys.path:  # the sibling script, run or imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection_limit import particle_kind  # noqa: E402


def counts(model: UNet, post: dict, x: np.ndarray, labels: np.ndarray, *, margin: int,
           repeat: bool) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """(found, predicted, true) at IoU 0.5 over the frames of one normalised (T, Y, X) video, and
    the (frame, label) of every true particle found.

    ``repeat``: each frame is segmented alone, as a one-frame video, whose stack of neighbours is
    that frame repeated (:func:`unet.infer.context_stack` repeats the edge frames).
    """
    total = np.zeros(3, np.int64)
    found: set[tuple[int, int]] = set()
    for t in range(x.shape[0]):
        video, frame = (x[t:t + 1], 0) if repeat else (x, t)
        logits = next(logits_of_normalized(video, model, frames=[frame], margin=margin))
        p = 1 / (1 + np.exp(-logits))
        pred = instances_from_probabilities(p[0], p[1], **post)
        matched, n_pred, n_true = match_counts(pred, labels[t], thresholds=(0.5,))
        total += (matched[0], n_pred, n_true)
        found |= {(t, k) for k in matched_labels(pred, labels[t])}
    return total, found


def matched_labels(pred: np.ndarray, truth: np.ndarray) -> list[int]:
    """The true labels matched by a predicted object at IoU > 0.5 (each such pair is unique)."""
    ids = np.unique(truth[truth > 0])  # the rows of iou_matrix, in order
    return [int(k) for k in ids[(iou_matrix(truth, pred) > 0.5).any(axis=1)]]


def particle_kinds(table: Path) -> dict[tuple[int, int], str]:
    """(frame, id) -> "material shape, lo-hi nm" from a video's ``particles.csv``
    (:func:`detection_limit.particle_kind`)."""
    with open(table, newline="") as f:
        return {(int(row["frame"]), int(row["id"])): particle_kind(row) for row in csv.DictReader(f)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--model", default=None, help="MODELDIR or .safetensors (default: the shipped model)")
    p.add_argument("--cells", default="", help="comma-separated substrings of the cells to score (default: all)")
    p.add_argument("--by-particle", action="store_true", help="also count per material, shape and thickness")
    args = p.parse_args()
    model, cfg = load_model(args.model)
    margin = int(cfg.get("training", {}).get("margin", 0))
    root = Path(generate_suite(args.tier, split="test").path)
    data = DiskFrames([root], margin=margin)
    wanted = [c for c in args.cells.split(",") if c]
    per_cell: dict[str, np.ndarray] = {}
    per_kind: dict[str, Counter[tuple[str, str]]] = {}
    for name, (x, labels) in zip(data.names, data.videos):
        cell = name.rsplit("/", 1)[0]
        if wanted and not any(w in cell for w in wanted):
            continue
        runs = [counts(model, cfg["postprocess"], x, labels, margin=margin, repeat=r) for r in (False, True)]
        both = np.stack([total for total, _ in runs])
        per_cell[cell] = per_cell[cell] + both if cell in per_cell else both
        if args.by_particle:
            kinds, tally = particle_kinds(root / name / "particles.csv"), per_kind.setdefault(cell, Counter())
            for t in range(labels.shape[0]):
                for k in np.unique(labels[t][labels[t] > 0]):
                    kind = kinds[t, int(k)]
                    tally[kind, "true"] += 1
                    tally[kind, "with"] += (t, int(k)) in runs[0][1]
                    tally[kind, "alone"] += (t, int(k)) in runs[1][1]
    print(f"{'cell':<28}{'found with neighbours':>24}{'F1':>7}{'found, centre repeated':>25}{'F1':>7}")
    for cell, ((f0, p0, t0), (f1, p1, t1)) in per_cell.items():
        print(f"{cell:<28}{f'{f0} / {t0}':>24}{2 * f0 / max(p0 + t0, 1):>7.3f}"
              f"{f'{f1} / {t1}':>25}{2 * f1 / max(p1 + t1, 1):>7.3f}")
    if per_kind:
        print(f"\n{'cell':<28}{'particles (thickness along the beam)':<40}{'with neighbours':>16}{'repeated':>10}")
        for cell, tally in per_kind.items():
            for kind in sorted({kind for kind, _ in tally}):
                found = f"{tally[kind, 'with']} / {tally[kind, 'true']}"
                print(f"{cell:<28}{kind:<40}{found:>16}{tally[kind, 'alone']:>10}")


if __name__ == "__main__":
    main()
