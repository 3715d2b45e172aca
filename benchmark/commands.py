"""Subcommands ``bench``, ``score`` and ``report`` of ``nanoaq``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from simulator.errors import UserError

__all__ = ["register"]


def _bench(args: argparse.Namespace) -> int:
    from baselines.registry import get_method, method_version, parse_params, validate_params

    from .cache import BenchCache, cache_path
    from .gate import check_tolerance, compare, format_table
    from .results import check_results_out, load_results, save_results
    from .score import run_method
    from .suite import generate_suite

    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not names:
        raise UserError("--methods: give at least one method, e.g. --methods otsu,li")
    params = parse_params(args.params)
    funcs = {n: get_method(n) for n in names}
    if len(names) > 1:
        stray = [k for k in params if k not in funcs]
        if stray:
            raise UserError(f"--params: {stray[0]!r} is not one of the methods {', '.join(names)}; with several "
                            f"methods give {{method: {{parameter: value}}}}")
    checked = {n: validate_params(f, params.get(n, {}) if len(names) > 1 else params, method=n)
               for n, f in funcs.items()}
    check_tolerance(args.tolerance)
    references = None
    if args.gate:
        references = {r.method.name: r for r in load_results(args.gate)}
        missing = [n for n in names if n not in references]
        if missing:
            raise UserError(f"--gate {args.gate}: no reference results for method {missing[0]}; "
                            f"it holds {', '.join(references)}")
    out = check_results_out(args.out)
    suite = generate_suite(args.suite, progress=not args.quiet, workers=args.workers, dask=args.dask)
    runs = []
    for n, f in funcs.items():
        version = method_version(f)
        cache = BenchCache(cache_path(out), suite_checksum=suite.checksum, method=n, params=checked[n],
                           version=version, func=f)
        runs.append(run_method(suite, n, f, checked[n], version=version, cache=cache, workers=args.workers,
                               dask=args.dask,
                               predictions=out.with_name(out.stem + ".predictions"), progress=not args.quiet))
    save_results(runs, out)
    shutil.rmtree(cache_path(out), ignore_errors=True)  # finished: the next run computes afresh
    for r in runs:
        a = r.aggregates["overall:all"]
        print(f"{r.method.name:<12} f1@0.5 {a.get('f1@0.5') or 0:.3f}  ap@0.5:0.95 {a.get('ap@0.5:0.95') or 0:.3f}  "
              f"seg {a.get('seg') or 0:.3f}  tra {a.get('tra') or 0:.3f}  {a.get('seconds_per_frame') or 0:.3f} s/frame")
    print(f"suite {suite.name} {suite.tier} checksum {suite.checksum[:12]}; results -> {out}")
    if references is None:
        return 0
    failed = False
    for r in runs:
        bad = compare(r, references[r.method.name], tolerance=args.tolerance)
        if bad:
            failed = True
            print(f"REGRESSION: {r.method.name}: {len(bad)} metric(s) fell by more than {args.tolerance}")
            print(format_table(bad))
        else:
            print(f"gate passed: {r.method.name}: no metric fell by more than {args.tolerance}")
    return 1 if failed else 0


def _score(args: argparse.Namespace) -> int:
    from .results import check_results_out, save_results
    from .score import score_folder

    check_results_out(args.out)
    r = score_folder(args.gt, args.pred, method=args.name or Path(args.pred).name, progress=not args.quiet,
                     max_gb=args.max_gb, workers=args.workers, dask=args.dask)
    save_results([r], args.out)
    a = r.aggregates["overall:all"]
    print(f"{r.method.name}: f1@0.5 {a.get('f1@0.5') or 0:.3f}  seg {a.get('seg') or 0:.3f}  "
          f"tra {a.get('tra') or 0:.3f} -> {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    paths = write_report(args.results, args.out)
    print(f"wrote {paths['html']} and {paths['md']}")
    return 0


def _realism(args: argparse.Namespace) -> int:
    from .realism import realism

    r = realism(args.real, args.out, calibration=args.calibration, preset=args.preset, size=args.size,
                frames=args.frames, seed=args.seed, overrides=args.set)
    for k, s in r["scores"].items():
        print(f"{k:<7} NPS log-RMS {s['nps_log_rms']:.3f}  Wasserstein(rel) {s['wasserstein_relative']:.4f}  "
              f"KS(rel) {s['ks_relative']:.3f}  Wasserstein(counts) {s['wasserstein_counts']:.1f}")
    print(f"wrote {Path(args.out) / 'realism.json'} and {Path(args.out) / 'index.md'}")
    return 0


def _add_parallel_options(p: argparse.ArgumentParser) -> None:
    """``--workers``, ``--dask`` and ``--quiet``, shared by ``bench`` and ``score``."""
    p.add_argument("--workers", type=int, default=None,
                   help="processes working on videos in parallel (default: one per core); results do not depend on it")
    p.add_argument("--dask", metavar="local|tcp://HOST:8786",
                   help="run on a dask.distributed cluster: a LocalCluster of --workers processes, or an existing "
                   "scheduler whose workers share the file system (suite cache and --out)")
    p.add_argument("--quiet", action="store_true")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="score methods on the benchmark suite (and gate regressions)",
                       description="Run methods on the benchmark suite and score them.  While it runs, each scored "
                                   "video is kept in .<out name>.cache beside --out, so that a bench that was killed "
                                   "resumes where it stopped when run again; the cache is removed when --out is written.")
    p.add_argument("--suite", default="quick", help="quick (CI), standard or full")
    p.add_argument("--methods", required=True,
                   help="comma-separated method names or package.module:function (imports that module: runs its code, by design)")
    p.add_argument("--params", help="JSON parameters (one method) or {method: {...}} (several), or @file.json")
    p.add_argument("--out", type=Path, default=Path("results.json"))
    p.add_argument("--gate", type=Path, help="reference results.json: exit 1 if a metric fell by more than --tolerance")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="how far (absolute) a metric may fall below --gate's before it is a regression: a finite "
                        "number >= 0 (default 0.01)")
    _add_parallel_options(p)
    p.set_defaults(func=_bench)

    p = sub.add_parser("score", help="score a folder of predictions against a dataset")
    p.add_argument("--gt", type=Path, required=True, help="the dataset")
    p.add_argument("--pred", type=Path, required=True,
                   help="folder of <video_id>/labels.ome.tif (or labels.tif), or of Cell Tracking Challenge "
                        "results <video_id>/maskNNN.tif + res_track.txt")
    p.add_argument("--out", type=Path, default=Path("results.json"))
    p.add_argument("--name", help="method name to record (default: the folder's name)")
    p.add_argument("--max-gb", type=float, default=4.0,
                   help="refuse a prediction TIFF declaring more than this many GiB, before reading it (default 4)")
    _add_parallel_options(p)
    p.set_defaults(func=_score)

    p = sub.add_parser("report", help="write report.html and report.md from results files")
    p.add_argument("results", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=Path("report"))
    p.set_defaults(func=_report)

    p = sub.add_parser("realism", help="compare real frames with simulated ones, before and after calibration")
    p.add_argument("--real", nargs="+", type=Path, required=True, help="real TIFF frames, stacks or folders")
    p.add_argument("--calibration", type=Path, help="calib.json of `nanoaq calibrate` (the 'after' set)")
    p.add_argument("--out", type=Path, default=Path("realism"))
    p.add_argument("--preset", default="brownian-prisms", help="simulated scene (default brownian-prisms)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override (repeatable)")
    p.add_argument("--size", type=int, default=512, help="simulated frame size in px (default 512)")
    p.add_argument("--frames", type=int, default=2, help="simulated frames (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_realism)
