"""``nanoaq train``: train a U-Net on streamed simulated frames or on datasets on disk."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys

from unet.train_config import TrainConfig

__all__ = ["register", "default_workers"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    d = TrainConfig()
    p = sub.add_parser("train", help="train a U-Net on freshly simulated frames or on datasets",
                       description="Train a U-Net on frames simulated on the fly (domain randomised) or on "
                                   "datasets on disk (--data); writes MODELDIR/model.safetensors + model.json, a CSV "
                                   "log, a plot and a checkpoint.")
    p.add_argument("--out", required=True, help="MODELDIR to write")
    p.add_argument("--steps", type=int, default=d.steps, help=f"optimizer steps (default {d.steps})")
    p.add_argument("--preset", action="append", default=[], help="preset to draw from (repeatable; default all)")
    p.add_argument("--data", action="append", default=[],
                   help="train on this dataset, or folder of datasets such as a generated suite's train split "
                        "(repeatable); default: freshly simulated, domain-randomised clips")
    p.add_argument("--val-data", action="append", default=[],
                   help="validate on this dataset or folder of datasets (default: simulated domain-randomised clips)")
    p.add_argument("--no-tune-postprocess", action="store_true",
                   help="keep the default post-processing thresholds instead of choosing them on --data")
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop after this step with a checkpoint (continue later with --resume; same weights)")
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda or cuda:N (float16 mixed precision on cuda, bfloat16 with --bf16)")
    p.add_argument("--bf16", action="store_true",
                   help="bfloat16 mixed precision (CPU or cuda): 2.2x faster steps measured on a CPU with AMX and "
                        "AVX512-BF16; on a CPU without bfloat16 units it can be slower than float32")
    p.add_argument("--resume", action="store_true", help="continue from MODELDIR/checkpoint.pt")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--crop", type=int, default=d.crop, help="crop size (px)")
    p.add_argument("--context", type=int, default=d.context, help="frames of temporal context (odd)")
    p.add_argument("--depth", type=int, default=d.depth)
    p.add_argument("--base-width", type=int, default=d.base_width)
    p.add_argument("--norm", default=d.norm, choices=["batch", "group", "instance", "none"])
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--input-pyramid", action="store_true", default=d.input_pyramid,
                   help="hand every encoder stage the input frames average-pooled to its scale")
    p.add_argument("--margin", type=int, default=d.margin,
                   help=f"mirrored margin (px) around every frame in training and at inference (default {d.margin})")
    p.add_argument("--foreground-fraction", type=float, default=d.foreground_fraction,
                   help="share of the crops of --data forced to hold a particle (default "
                        f"{d.foreground_fraction}; nnU-Net uses 0.33)")
    p.add_argument("--val-clips", type=int, default=d.val_clips)
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--workers", type=int, default=None,
                   help="DataLoader processes making the batches (default: 0 on the CPU, whose cores train; on a "
                        "GPU up to 4, which the steps wait for otherwise: 56.5 against 32.6 steps/s on an H100); "
                        "the batches are the same for any number")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.set_defaults(func=_train)


def default_workers(device: str) -> int:
    """Batch-making processes for ``device`` when ``--workers`` is not given: none on the CPU (the
    network's threads use the cores), on a GPU 4 or one fewer than the cores (on an H100 with 16
    cores, ``benchmarks/gpu.py``: 32.6 steps/s with none, 56.5 with 4; the crops are made by NumPy)."""
    if device == "cpu":
        return 0
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def _train(args: argparse.Namespace) -> int:
    import torch

    from simulator.config import list_presets
    from simulator.errors import UserError

    known = list_presets()
    for name in args.preset:
        if name not in known:
            raise UserError(f"--preset {name!r} is unknown; valid presets: {', '.join(sorted(known))}")
    for option, value, ok, expected in (
        ("--steps", args.steps, args.steps >= 1, "at least 1"),
        ("--context", args.context, args.context >= 1 and args.context % 2 == 1, "an odd number of frames >= 1"),
        ("--lr", args.lr, args.lr > 0, "a positive learning rate"),
        ("--batch-size", args.batch_size, args.batch_size >= 1, "at least 1"),
        ("--depth", args.depth, args.depth >= 1, "at least 1"),
        ("--base-width", args.base_width, args.base_width >= 2, "at least 2"),
        ("--crop", args.crop, args.crop >= 1 and args.crop % 2 ** args.depth == 0,
         "a positive size in px, a multiple of 2**depth"),
        ("--dropout", args.dropout, 0 <= args.dropout < 1, "0 <= dropout < 1"),
        ("--margin", args.margin, args.margin >= 0, "0 or more px"),
        ("--foreground-fraction", args.foreground_fraction, 0 <= args.foreground_fraction <= 1, "between 0 and 1"),
        ("--val-clips", args.val_clips, args.val_clips >= 1, "at least 1"),
        ("--val-every", args.val_every, args.val_every >= 1, "at least 1"),
        ("--workers", args.workers, args.workers is None or args.workers >= 0, "0 or more processes"),
        ("--threads", args.threads, args.threads >= 0, "0 (torch's default) or more threads"),
    ):
        if not ok:
            raise UserError(f"{option} {value}: expected {expected}")
    bottleneck = args.batch_size * (args.crop // 2 ** args.depth) ** 2  # values per channel at the deepest stage
    if args.norm == "batch" and bottleneck <= 1:
        raise UserError(f"--norm batch: with --batch-size {args.batch_size}, --crop {args.crop} and --depth "
                        f"{args.depth} the bottleneck holds one value per channel, which batch normalisation cannot "
                        "normalise; expected a larger --crop or --batch-size, a smaller --depth, or another --norm")
    if args.workers is None:
        args.workers = default_workers(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.foreground_fraction > 0 and not args.data:
        raise UserError(f"--foreground-fraction {args.foreground_fraction}: applies to the crops of --data, "
                        "and no --data was given (streamed clips are drawn whole)")
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, crop=args.crop,
                      context=args.context, depth=args.depth, base_width=args.base_width, norm=args.norm,
                      dropout=args.dropout, input_pyramid=args.input_pyramid, margin=args.margin,
                      foreground_fraction=args.foreground_fraction, bf16=args.bf16, presets=list(args.preset),
                      val_clips=args.val_clips, val_every=args.val_every, workers=args.workers, data=list(args.data),
                      val_data=list(args.val_data), tune_postprocess=not args.no_tune_postprocess)
    command = "nanoaq " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["train"] else None
    from unet.train import train  # PyTorch is imported only when a training runs

    scores = train(args.out, cfg, device=args.device, resume=args.resume, command=command, stop_at=args.stop_at)
    if not scores:
        sys.stdout.write(f"stopped at step {args.stop_at}; checkpoint in {args.out} (continue with --resume)\n")
        return 0
    sys.stdout.write(f"model written to {args.out}: val_loss {scores['val_loss']:.4f}, val F1@0.5 {scores['val_f1']:.3f}\n")
    return 0
