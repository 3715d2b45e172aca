"""Scoring label videos against a dataset's ground truth, and running methods on a suite."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from simulator.dataset import Dataset, open_dataset, read_predictions, write_predictions
from simulator.errors import DatasetError
from simulator.parallel import run_jobs
from simulator.tiffio import read_tiff
from simulator.video import Video

from .cache import BenchCache
from .metrics import FRAME_METRICS, video_metrics
from .peakmem import PeakMemory
from .physics import chain_growth_rel_error, diffusion_rel_error, etch_rate_rel_error, potential_rel_error
from .results import MethodInfo, Results, SuiteInfo, VideoResult, aggregate, clean, environment
from .suite import Suite, Task
from .tracking import ctc_det_tra, labels_persist, link_by_overlap

__all__ = ["check_prediction", "score_video", "score_folder", "run_method", "read_ctc_result", "read_prediction_folder"]


def check_prediction(pred: Any, video: Video, *, where: str) -> np.ndarray:
    """The prediction as int64 (T, Y, X), or a DatasetError naming the video and frame."""
    pred = np.asarray(pred)
    if pred.shape != video.labels.shape:
        raise DatasetError(f"{where}: prediction has shape {pred.shape}, expected {video.labels.shape} (T, Y, X)")
    if not np.issubdtype(pred.dtype, np.integer):
        if np.issubdtype(pred.dtype, np.floating):
            bad = np.flatnonzero(~np.isfinite(pred).reshape(pred.shape[0], -1).all(1))
            if bad.size:
                raise DatasetError(f"{where}, frame {bad[0]}: NaN or infinite labels; expected integers")
        raise DatasetError(f"{where}: labels are {pred.dtype}; expected integer labels")
    neg = np.flatnonzero((pred < 0).reshape(pred.shape[0], -1).any(1)) if pred.size else []
    if len(neg):
        raise DatasetError(f"{where}, frame {neg[0]}: negative labels; expected 0 (background) or positive ids")
    return pred.astype(np.int64)


def score_video(video: Video, pred: np.ndarray, *, where: str) -> tuple[dict[str, float | None], list[float], bool]:
    """Mean per-frame metrics (``seg`` pooled over objects as in the CTC), DET and TRA, the
    per-frame F1@0.5 and whether tracks were linked."""
    pred = check_prediction(pred, video, where=where)
    true = video.labels.astype(np.int64)
    per, seg = video_metrics(true, pred, pixel_size_nm=video.meta.pixel_size_nm)
    metrics: dict[str, float | None] = {}
    for name in FRAME_METRICS:
        vals = [p[name] for p in per if not math.isnan(p[name])]
        metrics[name] = clean(float(np.mean(vals))) if vals else None
    metrics["seg"] = clean(seg)  # pooled over reference objects, as the CTC does
    linked = not labels_persist(pred)
    tracks = link_by_overlap(pred) if linked else pred
    metrics.update({k: clean(v) for k, v in ctc_det_tra(true, tracks).items()})
    metrics["diffusion_rel_error"] = clean(diffusion_rel_error(video, tracks))
    metrics["potential_rel_error"] = clean(potential_rel_error(video, tracks))
    metrics["etch_rate_rel_error"] = clean(etch_rate_rel_error(video, tracks))
    metrics["chain_growth_rel_error"] = clean(chain_growth_rel_error(video, tracks))
    return metrics, [p["f1@0.5"] for p in per], linked


_MASK = re.compile(r"^mask(\d{3,4})\.tif$")


def read_ctc_result(folder: str | Path, *, max_gb: float = 4.0) -> np.ndarray:
    """Label video (T, Y, X) of a Cell Tracking Challenge result folder (``maskNNN.tif`` …,
    optional ``res_track.txt``).

    Frames must be numbered 0 … T−1 without gaps and share one shape; ``res_track.txt``, when
    present, must hold lines ``L B E P`` (label, first frame, last frame, parent) naming labels that
    occur in the masks.  Lineage (P) is not scored: the benchmark's tracks come from the labels.

    Raises
    ------
    DatasetError
        Naming the folder and frame (or line) that is wrong.
    """
    folder = Path(folder)
    frames = {int(m.group(1)): f for f in folder.iterdir() if (m := _MASK.match(f.name))}
    if not frames:
        raise DatasetError(f"{folder}: no maskNNN.tif (Cell Tracking Challenge result) inside")
    missing = sorted(set(range(max(frames) + 1)) - set(frames))
    if missing:
        raise DatasetError(f"{folder}, frame {missing[0]}: mask{missing[0]:03d}.tif is missing")
    stack = []
    for t in range(len(frames)):
        a = np.asarray(read_tiff(frames[t], max_gb=max_gb))
        if a.ndim != 2 or (stack and a.shape != stack[0].shape):
            raise DatasetError(f"{frames[t]}, frame {t}: shape {a.shape}, expected a 2-D mask like frame 0 "
                               f"{stack[0].shape if stack else ''}".rstrip())
        stack.append(a)
    video = np.stack(stack)
    track_file = folder / "res_track.txt"
    if track_file.is_file():
        present = set(np.unique(video).tolist()) - {0}
        for n, line in enumerate(track_file.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
                raise DatasetError(f"{track_file}, line {n}: expected 'L B E P' (four integers), got {line!r}")
            lab, first, last = (int(x) for x in parts[:3])
            if lab not in present or not 0 <= first <= last < video.shape[0]:
                raise DatasetError(f"{track_file}, line {n}: track {lab} frames {first}-{last} does not match "
                                   f"the masks ({video.shape[0]} frames)")
    return video


def read_prediction_folder(pred_dir: str | Path, video_ids: list[str], *, max_gb: float = 4.0) -> dict[str, np.ndarray]:
    """Predictions of a folder: ``<video_id>/labels.ome.tif`` (``labels.tif``) or
    ``<video_id>/maskNNN.tif`` (CTC); a bare CTC result folder is accepted for a one-video dataset.
    A TIFF declaring more than ``max_gb`` GiB is refused before anything is allocated."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DatasetError(f"{pred_dir}: no such prediction folder")
    if any(_MASK.match(f.name) for f in pred_dir.iterdir()):
        if len(video_ids) != 1:
            raise DatasetError(f"{pred_dir}: a bare CTC result folder, but the dataset has {len(video_ids)} videos; "
                               "put each in <video_id>/")
        return {video_ids[0]: read_ctc_result(pred_dir, max_gb=max_gb)}
    out: dict[str, np.ndarray] = {}
    for sub in sorted(p for p in pred_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if any(_MASK.match(f.name) for f in sub.iterdir()):
            out[sub.name] = read_ctc_result(sub, max_gb=max_gb)
    if len(out) < sum(1 for p in pred_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for vid, labels in read_predictions(pred_dir, max_gb=max_gb).items():
            out.setdefault(vid, labels)
    return out


def _score_one(dataset: str, vid: str, pred: np.ndarray, where: str) -> VideoResult:
    """Score one video's prediction (a job of :func:`simulator.parallel.run_jobs`)."""
    ds = open_dataset(dataset)
    video = ds.read_video(vid)
    m, f1, linked = score_video(video, pred, where=where)
    return VideoResult(task=ds.path.name, video_id=vid, scenario=video.meta.preset,
                       level=f"dose {video.meta.dose_rate_e_per_A2_s:g}",
                       dose_rate_e_per_A2_s=video.meta.dose_rate_e_per_A2_s, metrics=m, frame_f1=f1,
                       tracks_linked=linked)


def score_folder(gt: str | Path, pred_dir: str | Path, *, method: str = "predictions",
                 progress: bool = True, max_gb: float = 4.0, workers: int | None = 1,
                 dask: str | None = None) -> Results:
    """Score a prediction folder laid out like the dataset ``gt`` (``<video_id>/labels.ome.tif``).

    A folder whose ``predictions.json`` records the checksum of another dataset is refused.
    Videos are scored by ``workers`` processes (None: one per core) or on a Dask cluster
    (``dask``; :func:`simulator.parallel.run_jobs`); the results do not depend on it.
    """
    ds = open_dataset(gt)
    _check_made_from(Path(pred_dir), ds)
    preds = read_prediction_folder(pred_dir, list(ds.video_ids), max_gb=max_gb)
    extra = sorted(set(preds) - set(ds.video_ids))
    if extra:
        raise DatasetError(f"{pred_dir}: video {extra[0]} is not in the dataset {ds.path}")
    missing = [v for v in ds.video_ids if v not in preds]
    if missing:
        raise DatasetError(f"{pred_dir}: no prediction for video {missing[0]} of {ds.path}")
    jobs = [(str(ds.path), vid, preds[vid], f"{pred_dir}/{vid}") for vid in ds.video_ids]
    found: dict[int, VideoResult] = {}
    for i, result in tqdm(run_jobs(_score_one, jobs, workers=workers, dask=dask), total=len(jobs), desc="score",
                          unit="video", disable=not progress):
        found[i] = result
    videos = [found[i] for i in range(len(jobs))]
    suite = SuiteInfo(name=ds.path.name, version="dataset", tier="-", checksum=ds.checksum, path=str(ds.path))
    return Results(suite=suite, method=MethodInfo(name=method), environment=environment(), videos=videos,
                   aggregates=aggregate(videos), predictions=str(pred_dir))


def _check_made_from(pred_dir: Path, ds: Dataset) -> None:
    """Refuse predictions whose ``predictions.json`` says they were made from another dataset."""
    manifest = pred_dir / "predictions.json"
    if not manifest.is_file():
        return  # a folder written by another tool: nothing recorded to check
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("dataset_checksum")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise DatasetError(f"{manifest}: not a valid predictions.json ({exc})") from None
    if recorded is not None and recorded != ds.checksum:
        raise DatasetError(f"{manifest}: dataset_checksum {str(recorded)[:12]}… records another dataset than "
                           f"{ds.path} (checksum {ds.checksum[:12]}…); score predictions against the data they were made from")


def _run_and_score(dataset: str, vid: str, name: str, task_name: str, func: Callable,
                   params: dict[str, Any]) -> tuple:
    """Run ``func`` on one video, timing it and measuring its peak memory
    (:class:`benchmark.peakmem.PeakMemory`), and score it (a job of
    :func:`simulator.parallel.run_jobs`, so it may run in another process)."""
    video = open_dataset(dataset).read_video(vid)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        pred = func(video.frames, video.meta, **params)
        elapsed = time.perf_counter() - t0
    m, f1, linked = score_video(video, pred, where=f"method {name}, task {task_name}, video {vid}")
    return m, f1, linked, elapsed / video.frames.shape[0], mem.mb, np.asarray(pred)


def run_method(suite: Suite, name: str, func: Callable, params: dict[str, Any], *, version: str,
               predictions: Path | None = None, progress: bool = True, cache: BenchCache | None = None,
               workers: int | None = 1, dask: str | None = None) -> Results:
    """Run ``func`` on every video of ``suite``, timing it and measuring its peak memory, and score it.

    With ``predictions``, the label videos are written there (one folder per task) for the report.
    With ``cache``, each video's result is stored as soon as it is scored and a stored one is
    reused instead of running the method again (a killed bench resumes; see :mod:`benchmark.cache`).
    Videos run in ``workers`` processes (None: one per core) or on a Dask cluster (``dask``; see
    :func:`simulator.parallel.run_jobs`); the results are those of a serial run but for the timing
    fields (``seconds_per_frame``, ``peak_memory_mb``), listed in the suite's order either way.
    """
    jobs = [(task, vid) for task in suite.tasks for vid in open_dataset(suite.dataset(task)).video_ids]
    done: dict[int, tuple[VideoResult, np.ndarray]] = {}
    todo = []
    for i, (task, vid) in enumerate(jobs):
        hit = cache.get(task.name, vid) if cache is not None else None
        if hit is not None:
            done[i] = hit
        else:
            todo.append(i)
    args = [(str(suite.dataset(jobs[i][0])), jobs[i][1], name, jobs[i][0].name, func, params) for i in todo]
    bar = tqdm(total=len(jobs), initial=len(done), desc=f"bench {name}", unit="video", disable=not progress)
    for k, (m, f1, linked, spf, peak_mb, pred) in run_jobs(_run_and_score, args, workers=workers, dask=dask):
        i = todo[k]
        task, vid = jobs[i]
        done[i] = (_video_result(task, vid, m, f1, linked, spf, peak_mb), pred)
        if cache is not None:
            cache.put(task.name, vid, *done[i])
        bar.update()
    bar.close()
    videos: list[VideoResult] = [done[i][0] for i in range(len(jobs))]
    outputs: dict[str, list[tuple[str, np.ndarray]]] = {}
    for i, (task, vid) in enumerate(jobs):
        outputs.setdefault(task.name, []).append((vid, done[i][1]))
    if predictions is not None:
        for task_name, items in outputs.items():
            out = predictions / name.replace(":", "_") / task_name
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                import shutil

                shutil.rmtree(out)
            write_predictions(out, items, method=name, params=params, version=version,
                              dataset_checksum=open_dataset(suite.path / task_name).checksum)
    return Results(suite=SuiteInfo(name=suite.name, version="1", tier=suite.tier, checksum=suite.checksum,
                                   path=str(suite.path)),
                   method=MethodInfo(name=name, params=params, version=version), environment=environment(),
                   videos=videos, aggregates=aggregate(videos),
                   predictions=str(predictions / name.replace(":", "_")) if predictions else None)


def _video_result(task: Task, vid: str, m, f1, linked, spf, peak_mb) -> VideoResult:
    return VideoResult(task=task.name, video_id=vid, scenario=task.scenario, level=task.level,
                       dose_rate_e_per_A2_s=task.dose_rate_e_per_A2_s, metrics=m, frame_f1=f1,
                       seconds_per_frame=spf, peak_memory_mb=peak_mb, tracks_linked=linked)
