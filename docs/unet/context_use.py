"""Does the U-Net read its neighbouring frames? The same frames with and without their context.

The network segments the centre frame of a stack of ``in_channels`` neighbouring frames.  This
script scores every cell of a tier's **test** split twice with the same post-processing: with the
real neighbours, and with the centre frame repeated in their place (the stack a model would see if
nothing moved and no new electrons arrived).  The particles found (matched at IoU 0.5) in the two
cases say how much of what a model finds comes from the other frames: a cell where the repeated
frame finds about as many is segmented frame by frame, whatever the observer that follows each
particle over the window could do (``docs/unet/detection_limit.py``).

    python docs/unet/context_use.py [--tier standard --model MODELDIR --cells prisms,rods]

Prints, per cell, the particles found / true and the pooled F1@0.5 in both cases.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmark.suite import generate_suite
from unet.calibrate import match_counts
from unet.data import DiskFrames
from unet.infer import logits_of_normalized
from unet.io import load_model
from unet.model import UNet
from unet.postprocess import instances_from_probabilities


def counts(model: UNet, post: dict, x: np.ndarray, labels: np.ndarray, *, margin: int, repeat: bool) -> np.ndarray:
    """(found, predicted, true) at IoU 0.5 over the frames of one normalised (T, Y, X) video.

    ``repeat``: each frame is segmented alone, as a one-frame video, whose stack of neighbours is
    that frame repeated (:func:`unet.infer.context_stack` repeats the edge frames).
    """
    total = np.zeros(3, np.int64)
    for t in range(x.shape[0]):
        video, frame = (x[t:t + 1], 0) if repeat else (x, t)
        logits = next(logits_of_normalized(video, model, frames=[frame], margin=margin))
        p = 1 / (1 + np.exp(-logits))
        matched, n_pred, n_true = match_counts(instances_from_probabilities(p[0], p[1], **post), labels[t],
                                               thresholds=(0.5,))
        total += (matched[0], n_pred, n_true)
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--model", default=None, help="MODELDIR or .safetensors (default: the shipped model)")
    p.add_argument("--cells", default="", help="comma-separated substrings of the cells to score (default: all)")
    args = p.parse_args()
    model, cfg = load_model(args.model)
    margin = int(cfg.get("training", {}).get("margin", 0))
    data = DiskFrames([generate_suite(args.tier, split="test").path], margin=margin)
    wanted = [c for c in args.cells.split(",") if c]
    per_cell: dict[str, np.ndarray] = {}
    for name, (x, labels) in zip(data.names, data.videos):
        cell = name.rsplit("/", 1)[0]
        if wanted and not any(w in cell for w in wanted):
            continue
        both = np.stack([counts(model, cfg["postprocess"], x, labels, margin=margin, repeat=r) for r in (False, True)])
        per_cell[cell] = per_cell[cell] + both if cell in per_cell else both
    print(f"{'cell':<28}{'found with neighbours':>24}{'F1':>7}{'found, centre repeated':>25}{'F1':>7}")
    for cell, ((f0, p0, t0), (f1, p1, t1)) in per_cell.items():
        print(f"{cell:<28}{f'{f0} / {t0}':>24}{2 * f0 / max(p0 + t0, 1):>7.3f}"
              f"{f'{f1} / {t1}':>25}{2 * f1 / max(p1 + t1, 1):>7.3f}")


if __name__ == "__main__":
    main()
