"""The report: ``report.html`` (self-contained) and ``report.md`` with PNG figures.

Figures: a leaderboard, every key metric against dose per scenario for every method (where does
each method break?), overlays of frames with true-positive, missed and false detections, and a
gallery of each method's worst frames.  Only the results files are read, plus the suite's data
and the predictions they point to (for the overlays, when those folders still exist).  Like
``realism`` (:func:`benchmark.realism.realism`), the report is written into a temporary
``.<out>.*.partial`` folder beside ``out`` and its files moved into ``out`` when all are written,
so that a failure leaves no half report.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from baselines.matching import match
from simulator.dataset import open_dataset, read_predictions
from simulator.errors import DatasetError, UserError
from simulator.preview import label_outlines

from .metrics import METRICS
from .results import Results, load_results

__all__ = ["write_report", "KEY_METRICS"]

KEY_METRICS = ("f1@0.5", "ap@0.5:0.95", "pq", "seg", "det", "tra", "boundary_f1", "iou_pixel")
_TP, _FN, _FP = (0.1, 0.85, 0.2), (0.95, 0.15, 0.1), (1.0, 0.8, 0.0)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _leaderboard(results: list[Results]) -> tuple[list[str], list[list[str]]]:
    head = ["method", *KEY_METRICS, "s/frame", "peak MiB"]
    rows = []
    for r in sorted(results, key=lambda r: -(r.aggregates.get("overall:all", {}).get("f1@0.5") or 0)):
        a = r.aggregates.get("overall:all", {})
        rows.append([r.method.name, *[_fmt(a.get(m)) for m in KEY_METRICS], _fmt(a.get("seconds_per_frame")),
                     _fmt(a.get("peak_memory_mb"))])
    return head, rows


def _physics(results: list[Results]) -> tuple[list[str], list[list[str]]]:
    """Physics recovery per method: each ``*_rel_error`` in the scenario it belongs to."""
    names = sorted({m for r in results for v in r.videos for m in v.metrics if m.endswith("_rel_error")
                    and m != "area_rel_error"})
    rows = []
    for r in results:
        cells = []
        for m in names:
            vals = [v.metrics[m] for v in r.videos if v.metrics.get(m) is not None and not np.isnan(v.metrics[m])]
            cells.append(f"{np.median(vals):.3f} (n={len(vals)})" if vals else "–")
        rows.append([r.method.name, *cells])
    return ["method", *names], rows


def _glossary(results: list[Results]) -> tuple[list[str], list[list[str]]]:
    seen = {m for r in results for v in r.videos for m in v.metrics} | {"seconds_per_frame", "peak_memory_mb"}
    rows = [[m.name, m.unit or "–", "higher" if m.higher_is_better else "lower", m.description]
            for m in METRICS.values() if m.name in seen]
    return ["metric", "unit", "better", "definition"], rows


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows) + "</table>"


def _line_styles(names: list[str]) -> dict[str, dict[str, str]]:
    """A distinct (colour, line style, marker) per name: the 10 colours of ``tab10``, then again
    dashed with squares, then dotted with triangles (matplotlib's cycle repeats its colours after
    10, so the 11th method of a report looked like the first)."""
    colours = [f"C{i}" for i in range(10)]
    lines, markers = ["-", "--", ":"], ["o", "s", "^"]
    return {n: {"color": colours[i % 10], "linestyle": lines[(i // 10) % 3], "marker": markers[(i // 10) % 3]}
            for i, n in enumerate(names)}


def _metric_vs_dose(results: list[Results], metric: str, path: Path) -> Path:
    plt = _plt()
    scenarios = sorted({v.scenario for r in results for v in r.videos})
    styles = _line_styles([r.method.name for r in results])
    fig, axes = plt.subplots(1, len(scenarios), figsize=(3.2 * len(scenarios), 3.0), squeeze=False, sharey=True)
    for ax, scen in zip(axes[0], scenarios):
        for r in results:
            by = defaultdict(list)
            for v in r.videos:
                if v.scenario == scen and v.metrics.get(metric) is not None and v.dose_rate_e_per_A2_s:
                    by[v.dose_rate_e_per_A2_s].append(v.metrics[metric])
            if by:
                d = sorted(by)
                ax.plot(d, [np.mean(by[x]) for x in d], label=r.method.name, ms=4, **styles[r.method.name])
        ax.set_xscale("log")
        ax.set_title(scen, fontsize=9)
        ax.set_xlabel("dose rate (e$^-$/Å$^2$/s)", fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(metric)
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside the data
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def _overlay_rgb(frame: np.ndarray, true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Grey frame with true-positive (green), missed (red) and false (yellow) outlines."""
    f = frame.astype(float)
    lo, hi = np.percentile(f, [0.5, 99.5])
    g = np.clip((f - lo) / max(hi - lo, 1e-9), 0, 1)
    rgb = np.repeat(g[..., None], 3, axis=-1)
    m = match(true, pred)
    t_ids = np.unique(true[true > 0])
    p_ids = np.unique(pred[pred > 0])
    ok = m.ious >= 0.5
    tp_t, tp_p = set(t_ids[m.rows[ok]]), set(p_ids[m.cols[ok]])
    fn = np.isin(true, [i for i in t_ids if i not in tp_t])
    fp = np.isin(pred, [i for i in p_ids if i not in tp_p])
    tp = np.isin(pred, list(tp_p))
    for mask, colour in ((tp, _TP), (fn, _FN), (fp, _FP)):
        edge = label_outlines(np.where(mask, pred if mask is not fn else true, 0))
        rgb[edge] = colour
    return rgb


def _worst_frames(r: Results, n: int) -> list[tuple[float, str, str, int]]:
    frames = [(f1, v.task, v.video_id, t) for v in r.videos for t, f1 in enumerate(v.frame_f1)]
    return sorted(frames)[:n]


class _Frames:
    """Frames, truth and predictions of one results run, each file read once per report (the
    grid and the gallery show many frames of the same videos)."""

    def __init__(self, r: Results) -> None:
        self.r = r
        self._pred: dict[Path, dict] = {}
        self._video: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def overlay(self, task: str, vid: str, t: int) -> np.ndarray:
        data, pred_root = _sources(self.r, task)
        if (task, vid) not in self._video:
            ds = open_dataset(data)
            self._video[task, vid] = ds.frames(vid), ds.labels(vid)
        if pred_root not in self._pred:
            self._pred[pred_root] = read_predictions(pred_root)
        frames, labels = self._video[task, vid]
        return _overlay_rgb(frames[t], labels[t].astype(np.int64), self._pred[pred_root][vid][t].astype(np.int64))


def _sources(r: Results, task: str) -> tuple[Path, Path]:
    """The dataset and the prediction folder of ``task`` in a run (a suite's task folders, or one
    dataset's)."""
    base, preds = Path(r.suite.path), Path(r.predictions)
    return (base / task if (base / task / "dataset.json").is_file() else base,
            preds / task if (preds / task).is_dir() else preds)


def _has_frames(r: Results) -> bool:
    return bool(r.predictions and r.suite.path and Path(r.predictions).is_dir() and Path(r.suite.path).is_dir())


def _check_frames(r: Results, results_file: Path) -> None:
    """A DatasetError naming the folder and video when a run's overlays would miss a scored video."""
    if not _has_frames(r):
        return  # no overlays for this run
    for v in r.videos:
        data, pred_root = _sources(r, v.task)
        if v.video_id not in open_dataset(data).video_ids:
            raise DatasetError(f"{data}: no video {v.video_id}, which {results_file} scored")
        if not any((pred_root / v.video_id / name).is_file() for name in ("labels.ome.tif", "labels.tif")):
            raise DatasetError(f"{pred_root}: no prediction for video {v.video_id} ({v.video_id}/labels.ome.tif or "
                               f"labels.tif), which {results_file} scored")


def _gallery(r: Results, frames: _Frames, path: Path, n: int = 6) -> Path | None:
    if not _has_frames(r):
        return None
    plt = _plt()
    worst = _worst_frames(r, n)
    fig, axes = plt.subplots(1, len(worst), figsize=(3.0 * len(worst), 3.4), squeeze=False)
    for ax, (f1, task, vid, t) in zip(axes[0], worst):
        ax.imshow(frames.overlay(task, vid, t), interpolation="nearest")
        ax.set_title(f"{task}\n{vid} frame {t}: F1 {f1:.2f}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"{r.method.name}: worst frames (green: matched, red: missed, yellow: false)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def _dose_grid(r: Results, frames: _Frames, path: Path) -> Path | None:
    """First frame of the first video of every task: scenarios in rows, dose falling to the right."""
    if not _has_frames(r):
        return None
    first = {}
    for v in r.videos:
        first.setdefault((v.scenario, v.dose_rate_e_per_A2_s or 0.0, v.level), (v.task, v.video_id, v.frame_f1))
    scenarios = sorted({k[0] for k in first})
    levels = sorted({(k[1], k[2]) for k in first}, key=lambda d: (-d[0], d[1]))
    plt = _plt()
    fig, axes = plt.subplots(len(scenarios), len(levels), figsize=(2.4 * len(levels), 2.5 * len(scenarios)),
                             squeeze=False)
    for i, scen in enumerate(scenarios):
        for j, (dose, level) in enumerate(levels):
            ax = axes[i, j]
            ax.axis("off")
            if (scen, dose, level) not in first:
                continue
            task, vid, f1 = first[(scen, dose, level)]
            ax.imshow(frames.overlay(task, vid, 0), interpolation="nearest")
            ax.set_title(f"{scen}\n{level}: F1 {f1[0]:.2f}" if f1 else f"{scen}\n{level}", fontsize=7)
    fig.suptitle(f"{r.method.name}: first frame of each task (green: matched, red: missed, yellow: false)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)
    return path


def write_report(results_files: list[str | Path], out: str | Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and the PNG figures into the folder ``out`` (created if
    need be, its other files kept); return their paths.

    Raises
    ------
    UserError
        ``out`` is a file; a results file is unreadable (DatasetError), or the predictions or data
        it points to lack a video it scored (DatasetError, naming the folder and the video).
        Checked before anything is written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; expected a folder for the report")
    runs = [(Path(p), r) for p in results_files for r in load_results(p)]
    for p, r in runs:
        _check_frames(r, p)
    results = [r for _, r in runs]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        names = _write_report(results, partial)
        out.mkdir(exist_ok=True)
        for f in sorted(partial.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return {k: out / name for k, name in names.items()}


def _write_report(results: list[Results], out: Path) -> dict[str, str]:
    """Write the report's files into the (empty, temporary) folder ``out``; return their names."""
    figs: list[tuple[str, Path]] = []
    for metric in ("f1@0.5", "ap@0.5:0.95", "seg", "tra"):
        name = metric.replace("@", "_at_").replace(":", "-")
        figs.append((f"{metric} against dose, per scenario", _metric_vs_dose(results, metric, out / f"dose_{name}.png")))
    for r in results:
        stem = r.method.name.replace(":", "_").replace("/", "_")
        frames = _Frames(r)
        for title, fig in ((f"{r.method.name}: every task, first frame",
                            _dose_grid(r, frames, out / f"tasks_{stem}.png")),
                           (f"{r.method.name}: worst frames", _gallery(r, frames, out / f"worst_{stem}.png"))):
            if fig is not None:
                figs.append((title, fig))
    tables = [("Leaderboard", *_leaderboard(results)),
              ("Physics recovery (median relative error over videos)", *_physics(results))]
    glossary = ("Metrics", *_glossary(results))
    suites = sorted({f"{r.suite.name} {r.suite.tier} (checksum {r.suite.checksum[:12]})" for r in results})

    md = ["# nanoaquarium benchmark report", "", f"Suite: {', '.join(suites)}"]
    for title, head, rows in tables:
        md += ["", f"## {title}", "", *_md_table(head, rows)]
    for title, p in figs:
        md += ["", f"## {title}", "", f"![{title}]({p.name})"]
    md += ["", f"## {glossary[0]}", "", *_md_table(*glossary[1:])]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    def img(p: Path) -> str:
        return "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()

    body = "".join(f"<h2>{html.escape(t)}</h2>{_html_table(h, r)}" for t, h, r in tables)
    body += "".join(f"<h2>{html.escape(t)}</h2><img alt='{html.escape(t)}' src='{img(p)}'>" for t, p in figs)
    body += f"<h2>{glossary[0]}</h2>{_html_table(*glossary[1:])}"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>nanoaquarium benchmark report</title>"
            "<style>body{font-family:sans-serif;max-width:1400px;margin:auto;padding:1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "img{max-width:100%}</style></head><body><h1>nanoaquarium benchmark report</h1>"
            f"<p>Suite: {html.escape(', '.join(suites))}</p>{body}</body></html>")
    (out / "report.html").write_text(page, encoding="utf-8")
    return {"html": "report.html", "md": "report.md", **{p.stem: p.name for _, p in figs}}
