"""``nanoaq demo``: the whole flow on a small default, for a newcomer's first run.

simulate a small dataset → preview picture → segment it with the baselines → score → report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from simulator.errors import UserError

__all__ = ["run_demo", "register"]

#: The demo's small default: two short videos of the first scenario, small frames.
DEMO_PRESET = "brownian-prisms"
DEMO_ARGS = dict(frames=8, size=128, videos=2, seed=7)
DEMO_METHODS = ("otsu", "li", "sauvola", "unet")


def _available(name: str) -> bool:
    from baselines.registry import list_methods

    if name not in list_methods():
        return False
    if name == "unet":
        from importlib import resources

        try:
            return any(p.name.endswith(".safetensors") for p in (resources.files("unet") / "weights").iterdir())
        except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
            return False
    return True


def run_demo(out: str | Path, *, methods: list[str] | None = None, progress: bool = True) -> dict[str, Path]:
    """Run the demo into the folder ``out`` (created); return the paths it wrote by kind."""
    from baselines.registry import get_method, method_version
    from simulator.config import load_config
    from simulator.dataset import open_dataset, write_dataset, write_predictions
    from simulator.preview import preview_dataset

    from .report import write_report
    from .results import save_results
    from .score import score_folder

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    cfg = load_config(DEMO_PRESET, overrides=[
        f"video.frames={DEMO_ARGS['frames']}", f"video.height_px={DEMO_ARGS['size']}",
        f"video.width_px={DEMO_ARGS['size']}", f"video.count={DEMO_ARGS['videos']}",
    ])
    written["dataset"] = write_dataset(cfg, out / "dataset", seed=DEMO_ARGS["seed"], progress=progress)
    written["preview"] = preview_dataset(written["dataset"], out / "preview.png")
    ds = open_dataset(written["dataset"])
    (out / "predictions").mkdir(exist_ok=True)
    runs = []
    for name in [m for m in (methods or DEMO_METHODS) if _available(m)]:
        func = get_method(name)
        pred = write_predictions(out / "predictions" / name,
                                 ((vid, func(ds.frames(vid), ds.meta(vid))) for vid in ds.video_ids),
                                 method=name, params={}, version=method_version(func))
        runs.append(score_folder(ds.path, pred, method=name, progress=progress))
    written["results"] = save_results(runs, out / "results.json")
    written["report"] = write_report([written["results"]], out / "report")["html"]
    return written


def _demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"demo output folder {out} is not empty; remove it or choose another --out")
    written = run_demo(out, progress=not args.quiet)
    for kind, path in written.items():
        print(f"{kind:>10}: {path}")
    print(f"demo finished in {time.perf_counter() - t0:.0f} s; open {written.get('report', written['preview'])}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="simulate, segment, score and report on a small default")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)
