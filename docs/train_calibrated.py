"""Fine-tune the shipped U-Net on simulation calibrated against the real frames (sim-to-real).

    python docs/train_calibrated.py --calibration docs/real_calib.json --out /tmp/unet_cal --steps 300

Half of the training clips are the U-Net's usual domain-randomised clips
(:class:`unet.data.SimulatedClips`); the other half look like the real frames of
``../shared/data/real_lptem``: the detector, dose and background texture of ``--calibration``
(``detector.calibration``, :mod:`simulator.calibration`), Au spheres of 35-70 nm (the real frames'
particles are ~40-60 nm across) at the real pixel size (1.727 nm), packed without a gap so that
many touch, as in the real chains.  Training starts from the shipped weights (written as step 0
of a ``checkpoint.pt`` and resumed through :func:`unet.train.train`, the stable entry point), so
it adapts the shipped model rather than training a new one.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from simulator.config import load_config
from simulator.errors import UserError
from simulator.simulate import simulate_video
from unet.data import Clip, SimulatedClips
from unet.io import load_model
from unet.train import TrainConfig, train

log = logging.getLogger("train_calibrated")

REAL_PIXEL_NM = 1.727  # resolution tag of the real frames (579.05 px/um)


class CalibratedClips:
    """Clips like the real frames with probability ``fraction``, else the usual randomised clips."""

    def __init__(self, calibration: Path, fraction: float = 0.5) -> None:
        self.calibration = str(Path(calibration).resolve())
        self.fraction = fraction
        self.base = SimulatedClips()

    def __call__(self, rng: np.random.Generator, frames: int, size: int) -> Clip:
        if rng.random() >= self.fraction:
            return self.base(rng, frames, size)
        for _ in range(20):
            size_nm = float(rng.uniform(35.0, 70.0))
            field_nm2 = (size * REAL_PIXEL_NM) ** 2
            count = max(1, int(rng.uniform(0.1, 0.35) * field_nm2 / (np.pi * size_nm**2 / 4)))
            overrides = [
                f"video.frames={frames}", f"video.height_px={size}", f"video.width_px={size}",
                "particles.shapes={sphere=1.0}", f"particles.size_nm={size_nm:.4g}", "particles.size_cv=0.15",
                f"particles.count={count}", "particles.min_gap_nm=0", f"imaging.pixel_size_nm={REAL_PIXEL_NM}",
                f"liquid.thickness_nm={rng.uniform(100.0, 400.0):.4g}",
                f"detector.calibration={json.dumps(self.calibration)}",
            ]
            try:
                cfg = load_config("brownian-prisms", overrides=overrides)
                video = simulate_video(cfg, seed=int(rng.integers(2**31)))
            except UserError:  # particles that do not fit: draw again
                continue
            return Clip(video.frames, video.labels, video.meta.particles_bright)
        return self.base(rng, frames, size)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--fraction", type=float, default=0.5, help="share of real-like calibrated clips")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(args.threads)

    model, shipped = load_model(None)
    known = {f.name for f in fields(TrainConfig)}
    base = {k: v for k, v in shipped["training"].items() if k in known}
    cfg = TrainConfig(**{**base, "steps": args.steps, "lr": args.lr, "seed": args.seed, "val_every": 100,
                         "val_clips": 12, "presets": [], "data": [], "val_data": []})
    args.out.mkdir(parents=True, exist_ok=False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 0}, args.out / "checkpoint.pt")
    scores = train(args.out, cfg, resume=True, source=CalibratedClips(args.calibration, args.fraction),
                   command=" ".join(["python docs/train_calibrated.py", *(argv or [])]))
    log.info("fine-tuned %s: %s", args.out, scores)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
