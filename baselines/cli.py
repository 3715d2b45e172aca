"""Subcommands ``methods``, ``segment`` and ``tune`` of ``nanoaq``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from simulator.errors import UserError

__all__ = ["register", "parse_params"]


def parse_params(text: str | None) -> dict[str, Any]:
    """``--params``: a JSON object, or ``@file.json``."""
    if not text:
        return {}
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--params {path}: cannot read it ({exc.strerror})") from None
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--params: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(params, dict):
        raise UserError("--params: expected a JSON object such as '{\"window_size\": 31}'")
    return params.get("params", params) if "params" in params and isinstance(params["params"], dict) else params


def _methods(args: argparse.Namespace) -> int:
    from .registry import list_methods

    methods = list_methods()
    width = max(map(len, methods))
    for name, desc in methods.items():
        print(f"{name:<{width}}  {desc}")
    print("\nor any package.module:function (runs that code: name only code you trust)")
    return 0


def _segment(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from simulator import __version__
    from simulator.dataset import write_predictions

    from .inputs import iter_inputs
    from .registry import get_method, validate_params

    params = parse_params(args.params)
    func = get_method(args.method)
    validate_params(args.method, func, params)
    if Path(args.out).exists():
        raise UserError(f"output folder {args.out} already exists; choose another --out or remove it")
    t0 = time.perf_counter()
    n = 0
    meta0: dict[str, float] = {}

    def _items():
        nonlocal n
        for vid, frames, meta in tqdm(list(iter_inputs(args.inp, mode=args.mode, max_gb=args.max_gb)),
                                      desc=f"segment {args.method}", unit="video", disable=args.quiet):
            meta0.setdefault("p", meta.pixel_size_nm)
            n += frames.shape[0]
            yield vid, func(frames, meta, **params)

    out = write_predictions(args.out, _items(), method=args.method, params=params, version=__version__)
    dt = time.perf_counter() - t0
    print(f"segmented {n} frame(s) with {args.method} in {dt:.1f} s ({dt / max(n, 1):.3f} s/frame) -> {out}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from .tune import tune

    best, score = tune(args.method, args.on, budget=args.budget, rng=args.seed, progress=not args.quiet)
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps({"method": args.method, "f1@0.5": score, "params": best}, indent=2, sort_keys=True))
    tmp.replace(out)
    print(f"{args.method}: best mean F1@0.5 {score:.3f} on {args.on} -> {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list the segmentation methods")
    p.set_defaults(func=_methods)

    p = sub.add_parser(
        "segment", help="segment a dataset or recorded frames with a method",
        description="Segment every video of a dataset (or a TIFF / folder of TIFF frames). "
        "WARNING: a method named as package.module:function imports and runs that code by design; "
        "name only code you trust.",
    )
    p.add_argument("--method", required=True, help="a name from `nanoaq methods`, or package.module:function")
    p.add_argument("--params", help="method parameters as a JSON object, or @file.json (e.g. from `nanoaq tune`)")
    p.add_argument("--in", dest="inp", type=Path, required=True, help="dataset folder, TIFF file or folder of TIFFs")
    p.add_argument("--out", type=Path, required=True, help="prediction folder to create")
    p.add_argument("--mode", choices=["bright-field", "haadf"], default="bright-field",
                   help="polarity of recorded frames that carry no metadata (default bright-field)")
    p.add_argument("--max-gb", type=float, default=4.0, help="refuse TIFFs declaring more than this (GiB)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_segment)

    p = sub.add_parser("tune", help="search a baseline's parameters on a training dataset")
    p.add_argument("--method", required=True)
    p.add_argument("--on", type=Path, required=True, help="training dataset")
    p.add_argument("--out", type=Path, default=Path("params.json"))
    p.add_argument("--budget", type=int, default=20, help="parameter draws (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_tune)
