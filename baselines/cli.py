"""Subcommands of ``nanoaq`` that belong to the baselines: methods, segment, tune.

Thin: parse, call the library, print a short summary.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from simulator.errors import DatasetError, UserError

from .inputs import open_input
from .registry import get_method, list_methods, method_version, parse_params, validate_params

__all__ = ["register"]


def _methods(args: argparse.Namespace) -> int:
    methods = list_methods()
    width = max(len(n) for n in methods)
    for name, desc in methods.items():
        print(f"{name:<{width}}  {desc}")
    print("(or any package.module:function, which imports and runs that module's code)")
    return 0


def _segment(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from simulator.dataset import open_dataset, write_predictions

    from .threshold import frame_progress

    if ":" in args.method and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: a module in the current folder is found
    func = get_method(args.method)
    params = validate_params(func, parse_params(args.params), method=args.method)
    ids, load = open_input(args.input, mode=args.mode, pixel_size_nm=args.pixel_size_nm,
                           frame_interval_s=args.frame_interval_s, max_gb=args.max_gb)
    source = open_dataset(args.input).checksum if (Path(args.input) / "dataset.json").is_file() else None
    out = Path(args.out)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose another --out or remove it")
    first: dict[str, float] = {}
    bar = tqdm(ids, desc=f"segment {args.method}", unit="video", disable=args.quiet)

    def items() -> Iterator[tuple[str, np.ndarray]]:
        for vid in bar:
            frames, meta = load(vid)
            first.setdefault("pixel_size_nm", meta.pixel_size_nm)
            first.setdefault("frame_interval_s", meta.frame_interval_s)
            bar.set_postfix(frames=frames.shape[0])
            labels = func(frames, meta, **params)
            yield vid, labels

    # write_predictions takes the pixel size once; peek at the first video for it.
    iterator = items()
    with frame_progress(not args.quiet):
        try:
            head = next(iterator)
        except StopIteration:
            raise DatasetError(f"{args.input}: no videos") from None
    with frame_progress(not args.quiet):
        written = write_predictions(
            out, _chain(head, iterator), method=args.method, params=params, version=method_version(func),
            pixel_size_nm=first["pixel_size_nm"], frame_interval_s=first["frame_interval_s"], dataset_checksum=source,
        )
    print(f"segmented {len(ids)} video(s) with {args.method} into {written}")
    return 0


def _chain(head: tuple[str, np.ndarray], rest: Iterator[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
    yield head
    yield from rest


def _tune(args: argparse.Namespace) -> int:
    from .tune import check_params_out, tune, write_params

    check_params_out(args.out)  # before the search, not after it
    result = tune(args.method, args.on, budget=args.budget, rng=args.seed, progress=not args.quiet)
    path = write_params(args.out, result.params)
    print(f"best F1@0.5 = {result.f1:.3f} for {args.method} after {len(result.trials)} trial(s); "
          f"parameters written to {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list the segmentation methods (project and third-party)")
    p.set_defaults(func=_methods)

    p = sub.add_parser(
        "segment", help="segment a dataset (or TIFF frames) with a method",
        description="Segment every video of --in with --method and write a prediction folder laid out "
                    "like a dataset (<video_id>/labels.ome.tif + predictions.json).  WARNING: a method "
                    "named as package.module:function imports that module and runs arbitrary code, by "
                    "design (the current folder is searched too); name only code you trust.",
    )
    p.add_argument("--method", required=True,
                   help="a name from `nanoaq methods`, or package.module:function (runs arbitrary code by design)")
    p.add_argument("--params", default=None, help="parameters as a JSON object, or @file.json (e.g. from `nanoaq tune`)")
    p.add_argument("--in", dest="input", required=True,
                   help="dataset folder, folder of single-frame .tif files, or a multi-frame TIFF")
    p.add_argument("--out", required=True, help="prediction folder to create")
    p.add_argument("--pixel-size-nm", type=float, default=None,
                   help="pixel size (nm) of TIFF input without it in its metadata")
    p.add_argument("--frame-interval-s", type=float, default=None, help="frame interval (s) of TIFF input")
    p.add_argument("--mode", choices=("bright-field", "haadf"), default=None,
                   help="imaging mode (sets the particles' polarity); default: the dataset's, or bright-field")
    p.add_argument("--max-gb", type=float, default=4.0,
                   help="refuse a TIFF declaring more than this many GiB, before reading it (default 4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_segment)

    p = sub.add_parser("tune", help="search a baseline's parameters on a training dataset (F1 at IoU 0.5)")
    p.add_argument("--method", required=True, help="a thresholding method from `nanoaq methods`")
    p.add_argument("--on", required=True, help="training dataset folder (with ground-truth labels)")
    p.add_argument("--out", required=True, help="JSON file for the best parameters")
    p.add_argument("--budget", type=int, default=40, help="number of trials (default 40)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random search (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_tune)
