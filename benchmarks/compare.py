"""Side-by-side timings of issue #8, each pair in the same process: prints the ratios, saves them
as JSON and rewrites the table of ``docs/PERFORMANCE.md`` (between its ``table`` markers).

    python benchmarks/compare.py [--quick] [--out docs/performance.json] [--doc docs/PERFORMANCE.md]

Rows (targets from the issue):

- rendering one 512×512 frame, 50 particles, full integrating-detector physics, one thread, against
  the floor ``numpy.random.Generator.poisson`` on the same mean image (target ≤ 2.0×);
- the same frame against a naive pipeline (``benchmarks/naive.py``; target ≥ 20× faster);
- one interacting dynamics step at N and 10·N particles (cost ≤ 12× for 10× particles and
  ≥ 10⁶ particle-steps/s/core);
- instance metrics on 100 frames of 512×512 with ~100 objects against py-ctcmetrics' SEG on
  the same data (≥ 5× faster);
- U-Net inference on 512×512 frames: frames per second on 2 CPU threads (and on a GPU if one
  is visible).

Timings: each pair is run alternately ``repeats`` times and the best time of each side is kept
(the machine is shared; the best is the least disturbed), with the load average recorded.  The
naive comparison divides the naive pipeline's best time by the frame's best time of the whole run
(frames follow each other in a video; a frame right after a naive one runs on caches and heap
pages the naive one has evicted); the ratio against the frames timed right after a naive one is
given beside it.
``--quick`` uses fewer repeats and smaller metric/dynamics/U-Net jobs (same render row).
``--out`` and ``--doc`` are checked before anything is measured: a folder, or a file in a folder
that does not exist, is refused at once (one line, exit status 2).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread: the figures are per core

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ctc_reference import py_ctcmetrics_seg  # noqa: E402
from naive import render_naive  # noqa: E402

from simulator.errors import UserError  # noqa: E402
from simulator.outfile import check_out_file, write_atomic  # noqa: E402

RENDER_OVERRIDES = ["video.height_px=512", "video.width_px=512", "video.frames=1", "particles.count=50",
                    "particles.shapes={prism=0.5, sphere=0.3, rod=0.2}", "particles.size_nm=20",
                    "dynamics.model='static'"]
MARK_START, MARK_END = "<!-- compare.py table start -->", "<!-- compare.py table end -->"


def best_of(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best wall time (s) of each callable, run alternately ``repeats`` times after one warm-up."""
    for f in fns.values():
        f()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def _render_sim():
    from simulator.config import load_config
    from simulator.simulate import Simulation

    return Simulation(load_config("brownian-prisms", overrides=RENDER_OVERRIDES), seed=1)


def row_render(repeats: int, naive_repeats: int) -> tuple[list[dict], dict]:
    """Full frame vs the Poisson floor and vs the naive pipeline; and the stages of a frame."""
    from simulator import detector
    from simulator._raster import pack_particles, rasterize
    from simulator.poisson import poisson

    sim = _render_sim()
    frame = lambda: next(sim.frames())  # noqa: E731  (a static scene: every call renders frame 0)
    mean = sim._exposure(np.zeros(2))[0].copy()  # _exposure returns a buffer that frames() reuses
    rng = np.random.default_rng(0)
    t = best_of({"frame": frame, "floor": lambda: rng.poisson(mean)}, repeats)
    tn = best_of({"frame": frame, "naive": lambda: render_naive(sim, rng)}, naive_repeats)
    # The frame's best time of the whole run: a frame right after a naive one (~0.3 s of fresh
    # arrays) runs on cold caches, unlike the frames of a video, which follow each other.
    frame_s = min(t["frame"], tn["frame"])
    rows = [
        dict(id="render_vs_floor", what="render one 512x512 frame, 50 particles, integrating detector, 1 thread",
             compared_with="numpy Generator.poisson on the same mean image (the floor)",
             value=t["frame"] / t["floor"], unit="x the floor", target="<= 2.0", met=t["frame"] / t["floor"] <= 2.0,
             details={"frame_ms": 1e3 * t["frame"], "floor_ms": 1e3 * t["floor"],
                      "mean_electrons_per_px": float(mean.mean())}),
        dict(id="render_vs_naive", what="the same frame",
             compared_with="naive pipeline: shapely.contains_xy per particle, scipy.ndimage blur, NumPy noise",
             value=tn["naive"] / frame_s, unit="x faster", target=">= 20", met=tn["naive"] / frame_s >= 20,
             note=f"{tn['naive'] / tn['frame']:.3g} x against a frame timed right after each naive one, on cold caches",
             details={"frame_ms": 1e3 * frame_s, "naive_ms": 1e3 * tn["naive"],
                      "frame_right_after_a_naive_one_ms": 1e3 * tn["frame"]}),
    ]
    # Stages of one frame (best of `repeats`, each alone).
    im, d = sim.config.imaging, sim.config.detector
    p = im.pixel_size_nm
    verts, heights, rounding, profiles = sim._packed_static
    n = len(verts)
    packed = pack_particles(verts, sim.positions_nm[:, 0] / p, sim.positions_nm[:, 1] / p, sim.angles, heights,
                            rounding, profiles, np.full(n, 1 / sim.material.mean_free_path_nm),
                            np.full(n, sim.material.haadf_weight), sim.ids)
    buf = sim._raster_buffers
    tau, thick, haadf, _ = rasterize(packed, None, mean.shape, pixel_size_nm=p, buffers=buf)
    out = sim._imager.background_blurred.copy()
    counts = poisson(mean, rng=rng)
    signal = np.empty(mean.shape, np.float32)
    image = np.empty(mean.shape, np.uint16)
    stages = best_of({
        "rasterise": lambda: rasterize(packed, None, mean.shape, pixel_size_nm=p, buffers=buf),
        "beer_lambert_and_blur": lambda: sim._imager.add(out, tau, haadf, thick),
        "poisson": lambda: poisson(mean, rng=rng),
        "poisson_numpy_floor": lambda: rng.poisson(mean),
        "deposit": lambda: detector._deposit_numba(rng, counts, 1 / d.gain_spread**2, d.conversion_gain, signal),
        "mtf": lambda: detector.apply_mtf(signal, sim._mtf),
        "readout": lambda: detector._readout_numba(rng, signal, sim._gain_map, d.dark_offset, d.read_noise,
                                                   sim._defects, image),
    }, repeats)
    return rows, {k: 1e3 * v for k, v in stages.items()}


def _dynamics_system(n: int, seed: int = 0):
    """Rods and prisms of ~20 nm on a jittered square lattice of 40 nm spacing (area fraction
    ~0.15), as tests/dynamics/test_bench_dynamics.py."""
    from simulator.dynamics.integrate import Sites
    from simulator.dynamics.interactions import interaction_sites
    from simulator.shapes import make_shape

    rng = np.random.default_rng(seed)
    shapes = [interaction_sites(make_shape(k, 10.0, aspect_ratio=2.0, thickness_ratio=0.3, truncation=0.1).outline)
              for k in ("rod", "prism")]
    sites = Sites([shapes[i % 2][0] for i in range(n)], [shapes[i % 2][1] for i in range(n)])
    side = int(np.ceil(np.sqrt(n)))
    pos = (np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n] * 40.0
           + rng.uniform(-4, 4, (n, 2)))
    lo, hi = np.full((n, 2), -20.0), np.full((n, 2), side * 40.0)
    return sites, pos, rng.uniform(0, 2 * np.pi, n), lo, hi


def row_dynamics(n: int, repeats: int) -> list[dict]:
    from simulator.dynamics.integrate import overdamped_steps
    from simulator.dynamics.interactions import InteractionParams
    from simulator.dynamics.motion import NoiseStream

    prm = InteractionParams.from_physical(ionic_strength_M=1e-2, surface_potential_mV=-30, hamaker_J=1e-19)
    fns = {}
    for m in (n, 10 * n):
        sites, pos, ang, lo, hi = _dynamics_system(m)
        d = np.full(m, 50.0)
        noise = NoiseStream("brownian", m, rng=1)
        fns[m] = (lambda sites=sites, pos=pos, ang=ang, lo=lo, hi=hi, d=d, noise=noise:
                  overdamped_steps(pos, ang, d, d, np.full(len(d), 0.1), dt=0.005, steps=1, lo=lo, hi=hi,
                                   noise=noise, sites=sites, params=prm))
    t = best_of(fns, repeats)
    growth = t[10 * n] / t[n]
    rate = 10 * n / t[10 * n]
    return [
        dict(id="dynamics_scaling", what=f"one interacting dynamics step, {10 * n} particles",
             compared_with=f"the same step with {n} particles", value=growth, unit="x the cost for 10x particles",
             target="<= 12", met=growth <= 12, details={"small_ms": 1e3 * t[n], "large_ms": 1e3 * t[10 * n]}),
        dict(id="dynamics_rate", what=f"one interacting dynamics step, {10 * n} particles, 1 thread",
             compared_with="-", value=rate, unit="particle-steps/s/core", target=">= 1e6", met=rate >= 1e6,
             details={}),
    ]


def _label_frames(frames: int, size: int, per_side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``frames`` pairs of (true, predicted) label images with ``per_side²`` discs each; the
    prediction moves, resizes, drops and adds a few."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    cell = size / per_side
    true = np.zeros((frames, size, size), np.uint16)
    pred = np.zeros_like(true)
    for f in range(frames):
        k = 0
        for i in range(per_side):
            for j in range(per_side):
                k += 1
                cy, cx = (i + 0.5) * cell + rng.uniform(-3, 3), (j + 0.5) * cell + rng.uniform(-3, 3)
                r = rng.uniform(0.2, 0.35) * cell
                y0, y1 = int(max(cy - cell / 2, 0)), int(min(cy + cell / 2, size))
                x0, x1 = int(max(cx - cell / 2, 0)), int(min(cx + cell / 2, size))
                sub = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2
                true[f, y0:y1, x0:x1][sub <= r * r] = k
                if rng.random() < 0.05:
                    continue  # missed
                dy, dx, dr = rng.normal(0, 1.5), rng.normal(0, 1.5), rng.normal(0, 1.0)
                sub = (yy[y0:y1, x0:x1] - cy - dy) ** 2 + (xx[y0:y1, x0:x1] - cx - dx) ** 2
                pred[f, y0:y1, x0:x1][sub <= (r + dr) ** 2] = 1000 + k
    return true, pred


def row_metrics(frames: int, repeats: int) -> list[dict]:
    from benchmark.metrics import seg_video, video_metrics

    true, pred = _label_frames(frames, 512, 10)
    with tempfile.TemporaryDirectory() as tmp:
        ctc = py_ctcmetrics_seg(true, pred, Path(tmp))

        def ours_all() -> None:  # what scoring computes: every per-frame metric and the pooled SEG
            video_metrics(true, pred, pixel_size_nm=1.0)

        ours_seg = lambda: seg_video(true, pred)  # noqa: E731
        assert abs(ours_seg() - ctc()) < 1e-12, "SEG differs from py-ctcmetrics"
        t = best_of({"ctc": ctc, "seg": ours_seg, "all": ours_all}, repeats)
    objects = int(np.mean([len(np.unique(x)) - 1 for x in true]))
    return [
        dict(id="metrics_seg", what=f"SEG on {frames} frames 512x512, ~{objects} objects each",
             compared_with="py-ctcmetrics SEG (match + seg) on the same frames (TIFF files)",
             value=t["ctc"] / t["seg"], unit="x faster", target=">= 5", met=t["ctc"] / t["seg"] >= 5,
             details={"ours_ms": 1e3 * t["seg"], "ctc_ms": 1e3 * t["ctc"]}),
        dict(id="metrics_all", what=f"all instance metrics (F1, AP, PQ, SEG, boundary F1, shape) on the same frames",
             compared_with="py-ctcmetrics SEG alone on the same frames",
             value=t["ctc"] / t["all"], unit="x faster", target=">= 5", met=t["ctc"] / t["all"] >= 5,
             details={"ours_ms": 1e3 * t["all"], "ctc_ms": 1e3 * t["ctc"]}),
    ]


def row_unet(frames: int) -> list[dict]:
    import torch

    from simulator.simulate import simulate_video
    from unet.method import segment

    from simulator.config import load_config

    cfg = load_config("brownian-prisms", overrides=[*RENDER_OVERRIDES[:2], f"video.frames={frames}"])
    video = simulate_video(cfg, seed=3)
    rows = []
    devices = [("cpu", 2)] + ([("cuda", None)] if torch.cuda.is_available() else [])
    for device, threads in devices:
        previous = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            segment(video.frames[:1], video.meta, device=device)  # load and warm up
            t = best_of({k: lambda tta=tta: segment(video.frames, video.meta, device=device, tta=tta)
                         for k, tta in (("plain", False), ("tta", True))}, 1)
        finally:
            torch.set_num_threads(previous)
        name = f"{threads} CPU threads" if threads else torch.cuda.get_device_name()
        rows.append(dict(id=f"unet_{device}", what=f"U-Net segment() (inference + post-processing), 512x512, {name}",
                         compared_with="-", value=frames / t["plain"], unit="frames/s", target="report", met=None,
                         details={"frames": frames, "seconds": t["plain"]}))
        rows.append(dict(id=f"unet_tta_{device}", what=f"the same with tta=True (8 views a frame), {name}",
                         compared_with="-", value=frames / t["tta"], unit="frames/s", target="report", met=None,
                         details={"frames": frames, "seconds": t["tta"]}))
    return rows


def environment() -> dict[str, Any]:
    import numba
    import scipy

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        git = ["git", "-C", str(ROOT)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip()
        # "-dirty" when tracked files differ from the commit: the figures are then of no commit
        if subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                          check=False).stdout.strip():
            commit += "-dirty"
    except OSError:
        commit = ""
    return {"utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit, "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__,
            "load_average_1min_start": os.getloadavg()[0]}


def markdown_table(rows: list[dict]) -> str:
    def fmt(v: float) -> str:
        return f"{v:.3g}" if v < 1e4 else f"{v:.2e}"

    lines = ["| what | compared with | measured | target | met |", "|---|---|---|---|---|"]
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        notes = [r["note"]] if r.get("note") else []
        if r.get("measured"):  # kept from an earlier run by --only
            notes.append(f"measured {r['measured']['utc'][:16]} at {r['measured']['commit']}")
        note = f" ({'; '.join(notes)})" if notes else ""
        measured = f"{fmt(r['value'])} {r['unit']}{note}"
        lines.append(f"| {r['what']} | {r['compared_with']} | {measured} | {r['target']} | {met} |")
    return "\n".join(lines)


def update_doc(doc: Path, table: str, env: dict[str, Any], kept: bool = False) -> None:
    """Replace the text between the table markers of ``doc`` (append them if absent); ``kept``: some
    rows were kept from an earlier run (``--only``) and name when they were measured."""
    block = (f"{MARK_START}\n_Measured {env['utc']} at commit {env['commit']} on {env['cpu']} ({env['cores']} cores), "
             f"load average {env['load_average_1min_start']:.2f} → {env['load_average_1min_end']:.2f}"
             f"{' (--quick)' if env.get('quick') else ''}"
             f"{'; rows that name a date were kept from an earlier run' if kept else ''}._\n\n{table}\n{MARK_END}")
    text = doc.read_text(encoding="utf-8") if doc.is_file() else "# Performance\n\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    write_atomic(doc, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller metric/dynamics/U-Net jobs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.json")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    ap.add_argument("--only", help="comma-separated subset of: render, dynamics, metrics, unet (the other rows "
                    "are kept from --out)")
    args = ap.parse_args(argv)
    try:
        # before minutes of measuring, not after them; the folders must exist, as for nanoaq's --out
        args.out = check_out_file(args.out, expected="a JSON file", example="performance.json")
        args.doc = check_out_file(args.doc, expected="a Markdown file", example="PERFORMANCE.md", option="--doc")
        return run(args)
    except UserError as exc:
        print(f"compare.py: error: {exc}", file=sys.stderr)
        return exc.exit_code


def run(args: argparse.Namespace) -> int:
    """Measure the rows of ``args.only``, write ``args.out`` and the table of ``args.doc``."""
    only = set((args.only or "render,dynamics,metrics,unet").split(","))
    q = args.quick
    env = environment()
    env["quick"] = q
    import numba

    numba.set_num_threads(1)
    rows: list[dict] = []
    stages: dict[str, float] = {}
    if "render" in only:
        r, stages = row_render(repeats=10 if q else 30, naive_repeats=1 if q else 3)
        rows += r
    if "dynamics" in only:
        rows += row_dynamics(200 if q else 2000, repeats=5 if q else 15)
    if "metrics" in only:
        rows += row_metrics(10 if q else 100, repeats=1 if q else 3)
    if "unet" in only:
        rows += row_unet(2 if q else 8)
    env["load_average_1min_end"] = os.getloadavg()[0]
    for r in rows:
        met = "" if r["met"] is None else ("  ok" if r["met"] else "  MISSED")
        print(f"{r['id']:<18} {r['value']:>12.4g} {r['unit']:<32} target {r['target']}{met}")
    if stages:
        print("render stages (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print(f"load average {env['load_average_1min_start']:.2f} -> {env['load_average_1min_end']:.2f}")
    if args.only and args.out.is_file():  # keep the rows not measured this time
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        ids = {r["id"] for r in rows}
        when = {k: previous.get("environment", {}).get(k, "?") for k in ("utc", "commit")}
        rows = [{**r, "measured": r.get("measured", when)} for r in previous.get("rows", []) if r["id"] not in ids] + rows
        stages = stages or previous.get("render_stages_ms", {})
        order = ["render", "dynamics", "metrics", "unet"]
        rows.sort(key=lambda r: next((i for i, k in enumerate(order) if r["id"].startswith(k)), len(order)))
    write_atomic(args.out, json.dumps({"schema_version": 1, "environment": env, "rows": rows,
                                       "render_stages_ms": stages}, indent=2) + "\n")
    update_doc(args.doc, markdown_table(rows), env, kept=any(r.get("measured") for r in rows))
    print(f"wrote {args.out} and the table of {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
