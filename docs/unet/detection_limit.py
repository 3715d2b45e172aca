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

    python docs/unet/detection_limit.py [--tier standard --videos 2 --context 5 --json OUT]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from skimage.segmentation import expand_labels

import simulator.simulate as simulate_module
from benchmark.suite import suite_tasks
from simulator.config import load_config
from simulator.simulate import Simulation

#: Rose's criterion (Rose 1948): the d' needed to tell an object from noise.
ROSE_K = 5.0


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


def detectability(scenario: str, overrides: list[str], *, seed: int, grow_px: int) -> list[dict[int, float]]:
    """Per frame of one video, track id -> d' of that particle in that frame alone."""
    sim = Simulation(load_config(scenario, overrides=overrides), seed=seed)
    captured: list[np.ndarray] = []
    record = simulate_module.record

    def capturing(expected: np.ndarray, **kw: object) -> np.ndarray:
        captured.append(np.array(expected, dtype=np.float64))
        return record(expected, **kw)

    simulate_module.record = capturing  # the expected electrons each frame is recorded from
    try:
        background = sim._imager.background_blurred
        per_frame = []
        for frame in sim.frames():
            expected = captured.pop()
            d2 = hotelling_d2(expected, background, expand_labels(frame.labels, grow_px))
            present = np.flatnonzero(np.bincount(frame.labels.ravel(), minlength=d2.size)[1:]) + 1
            per_frame.append({int(k): float(np.sqrt(d2[k])) for k in present})
    finally:
        simulate_module.record = record
    return per_frame


def over_context(per_frame: list[dict[int, float]], context: int) -> tuple[np.ndarray, np.ndarray]:
    """(d' in its own frame, d' over the ``context`` frames centred on it) of every particle of every frame."""
    half = context // 2
    single, multi = [], []
    for t, frame in enumerate(per_frame):
        window = per_frame[max(0, t - half):t + half + 1]
        for track, d in frame.items():
            single.append(d)
            multi.append(np.sqrt(sum(f.get(track, 0.0) ** 2 for f in window)))
    return np.array(single), np.array(multi)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tier", default="standard")
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--context", type=int, default=5, help="frames a method may combine, centred on the frame")
    p.add_argument("--grow", type=int, default=4, help="px added around each particle's label")
    p.add_argument("--json", default=None, help="also write the table to this file")
    args = p.parse_args()
    rows = []
    k = args.context
    print(f"{'cell':<28}{'particles':>10}{'median d1':>11}{f'median d{k}':>11}{'d1>=5':>8}{f'd{k}>=5':>8}{'F1 max':>8}")
    for task in suite_tasks(args.tier, split="test"):
        overrides = [o for o in task.overrides if not o.startswith("video.count=")]
        single, multi = map(np.concatenate, zip(*(
            over_context(detectability(task.scenario, overrides, seed=s, grow_px=args.grow), args.context)
            for s in range(args.videos))))
        r1, rk = float(np.mean(single >= ROSE_K)), float(np.mean(multi >= ROSE_K))
        rows.append({"cell": task.name, "particles": int(single.size), "median_d1": float(np.median(single)),
                     f"median_d{k}": float(np.median(multi)), "rose_1": r1, f"rose_{k}": rk,
                     "f1_max": 2 * rk / (1 + rk)})
        print(f"{task.name:<28}{single.size:>10}{np.median(single):>11.1f}{np.median(multi):>11.1f}{r1:>8.2f}"
              f"{rk:>8.2f}{2 * rk / (1 + rk):>8.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
