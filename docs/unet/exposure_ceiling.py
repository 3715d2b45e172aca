"""How well could any method outline a moving particle? The exposure-averaging ceiling.

A frame averages ``dynamics.blur_steps`` particle states over its exposure, and its ground truth is
the state at mid-exposure (:meth:`simulator.simulate.Simulation._exposure`).  What the image
shows of a particle is centred on the mean of its states, which a Brownian particle does not
share with the middle state; no method that reads the image can know the difference.  This
script scores an *oracle* against the truth with the benchmark's metrics: the particles drawn at
the mean position and mean angle of their states in the exposure (the best any method could
place them from the image alone), and, for scale, at the first state of the exposure.

    python docs/unet/exposure_ceiling.py [--size 256 --frames 8 --videos 2]

Prints, per preset, the mean per-frame F1@0.5, AP@0.5:0.95 and mean matched IoU of both oracles
(``benchmark.metrics.frame_metrics``); the presets' default dynamics, at the standard tier's size.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmark.metrics import frame_metrics
from simulator.config import list_presets, load_config
from simulator.simulate import Simulation

METRICS = ("f1@0.5", "ap@0.5:0.95", "mean_matched_iou")


def oracle_scores(preset: str, *, size: int, frames: int, seed: int) -> dict[str, list[dict[str, float]]]:
    """Per frame, the metrics of the mean-state and first-state oracles against the truth."""
    cfg = load_config(preset, overrides=[f"video.height_px={size}", f"video.width_px={size}",
                                         f"video.frames={frames}"])
    sim = Simulation(cfg, seed=seed)
    states: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    render = sim._render

    def recording(out, positions_nm, angles, *, weight):
        labels = render(out, positions_nm, angles, weight=weight)
        states.append((positions_nm.copy(), angles.copy(), labels.copy()))
        return labels

    sim._render = recording
    scratch = np.zeros(sim.meta.shape[1:])
    out: dict[str, list[dict[str, float]]] = {"mean state": [], "first state": []}
    for _ in sim.frames():
        exposure, states[:] = list(states), []
        truth = exposure[len(exposure) // 2][2]
        pos = np.mean([s[0] for s in exposure], axis=0)
        ang = exposure[0][1] + np.mean([np.angle(np.exp(1j * (s[1] - exposure[0][1]))) for s in exposure], axis=0)
        mean_state = render(scratch, pos, ang, weight=0.0)
        out["mean state"].append(frame_metrics(truth, mean_state))
        out["first state"].append(frame_metrics(truth, exposure[0][2]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--videos", type=int, default=2)
    args = p.parse_args()
    print(f"{'preset':<22}{'oracle':<13}" + "".join(f"{m:>18}" for m in METRICS))
    for preset in list_presets():
        per: dict[str, list[dict[str, float]]] = {"mean state": [], "first state": []}
        for seed in range(args.videos):
            for k, v in oracle_scores(preset, size=args.size, frames=args.frames, seed=seed).items():
                per[k] += v
        for k, v in per.items():
            print(f"{preset:<22}{k:<13}" + "".join(f"{np.nanmean([f[m] for f in v]):>18.3f}" for m in METRICS))


if __name__ == "__main__":
    main()
