"""Choose a trained model's post-processing again on its training data, without retraining it.

Runs :func:`unet.calibrate.tune_postprocess` (the grid :data:`unet.calibrate.POSTPROCESS_GRID`)
on the datasets the model was trained on (its JSON's ``training.data``, or ``--data``) and
rewrites the ``postprocess`` and ``postprocess_tuning`` keys of the model's JSON (written to a
temporary file and renamed; the weights are not touched).  Never give it test data.

Usage (the shipped model, every frame of every training video)::

    NANOAQ_CACHE=/work/cache-v3 python docs/unet/retune_postprocess.py --frames-per-video 8
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys

import torch

from simulator.outfile import write_atomic
from unet.calibrate import tune_postprocess
from unet.data import DiskFrames
from unet.io import load_model, resolve_model_path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="MODELDIR or .safetensors (default: the shipped model)")
    p.add_argument("--data", action="append", default=None, help="training dataset(s) (default: training.data)")
    p.add_argument("--frames-per-video", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    model, cfg = load_model(args.model)
    data = DiskFrames(args.data or cfg["training"]["data"], margin=int(cfg.get("training", {}).get("margin", 0)))
    post, info = tune_postprocess(model, data, frames_per_video=args.frames_per_video)
    info["command"] = "python docs/unet/retune_postprocess.py " + shlex.join(sys.argv[1:])
    cfg["postprocess"], cfg["postprocess_tuning"] = post, info
    _, cfg_path = resolve_model_path(args.model)
    write_atomic(cfg_path, json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"postprocess": post, **{k: v for k, v in info.items() if k != "grid"}}, indent=1))


if __name__ == "__main__":
    main()
