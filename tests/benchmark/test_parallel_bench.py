"""Scoring in parallel (processes, Dask) gives the results of a serial run, but for the timing
fields; the suite written in parallel is byte-identical to the serial one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from baselines.registry import get_method
from benchmark.cli import main
from benchmark.score import run_method, score_folder
from benchmark.suite import Suite, Task
from simulator.config import load_config
from simulator.dataset import open_dataset, write_dataset, write_predictions
from simulator.parallel import run_jobs

TIMING = ("seconds_per_frame", "peak_memory_mb")


def _suite(root) -> Suite:
    ov = ("video.count=3", "video.frames=2", "video.height_px=64", "video.width_px=64", "particles.count=3",
          "particles.size_nm=10")
    task = Task("brownian-prisms", 100.0, None, ov, 5)
    root.mkdir()
    write_dataset(load_config(task.scenario, overrides=list(ov)), root / task.name, seed=task.seed, progress=False)
    return Suite("tiny", "quick", root, (task,), "tiny-checksum")


def _untimed(results: dict) -> dict:
    """A results dict without what legitimately differs between runs: timings and environment."""
    results = json.loads(json.dumps(results))
    results.pop("environment", None)
    for v in results["videos"]:
        for k in TIMING:
            v.pop(k, None)
    for agg in results["aggregates"].values():
        for k in TIMING:
            agg.pop(k, None)
    return results


def _square(x: float) -> float:
    return x * x


@pytest.mark.slow
def test_run_jobs_yields_every_index_once_whatever_the_workers():
    jobs = [(float(i),) for i in range(5)]
    for workers in (1, 2):
        got = dict(run_jobs(_square, jobs, workers=workers))
        assert got == {i: float(i * i) for i in range(5)}


def test_two_processes_score_like_one(tmp_path):
    suite = _suite(tmp_path / "suite")
    otsu = get_method("otsu")
    runs = [run_method(suite, "otsu", otsu, {}, version="1", progress=False, workers=w,
                       predictions=tmp_path / f"pred{w}") for w in (1, 2)]
    a, b = (_untimed(r.model_dump(mode="json")) for r in runs)
    a.pop("predictions"), b.pop("predictions")
    assert a == b
    assert [v.video_id for v in runs[1].videos] == ["video_000", "video_001", "video_002"]  # suite order
    assert all(v.seconds_per_frame is not None for v in runs[1].videos)


@pytest.mark.slow
def test_score_folder_in_parallel_equals_serial(tmp_path):
    suite = _suite(tmp_path / "suite")
    ds = open_dataset(suite.dataset(suite.tasks[0]))
    items = [(vid, np.roll(ds.labels(vid), 1, axis=2)) for vid in ds.video_ids]
    pred = write_predictions(tmp_path / "pred", items, method="shifted", params={}, version="1")
    a, b = (_untimed(score_folder(ds.path, pred, progress=False, workers=w).model_dump(mode="json")) for w in (1, 2))
    assert a == b


@pytest.mark.slow
def test_bench_on_a_dask_local_cluster_matches_the_serial_bench(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask.distributed")
    results = {}
    for how in (["--workers", "1"], ["--workers", "2", "--dask", "local"]):
        cache = tmp_path / f"cache-{how[1]}"
        monkeypatch.setenv("NANOAQ_CACHE", str(cache))
        out = tmp_path / f"r{how[1]}.json"
        assert main(["bench", "--suite", "quick", "--methods", "otsu", "--out", str(out), "--quiet", *how]) == 0
        results[how[1]] = json.loads(out.read_text())
        suite_dir = next(cache.iterdir())
        results[how[1] + "-bytes"] = {str(p.relative_to(suite_dir)): p.read_bytes()
                                      for p in sorted(suite_dir.rglob("*")) if p.is_file()}
    assert results["1-bytes"] == results["2-bytes"]  # the suite written on Dask is the serial one
    serial, dask = ([_untimed(r) for r in results[k]["runs"]] if "runs" in results[k] else
                    [_untimed(r) for r in results[k]] for k in ("1", "2"))
    for r in serial + dask:
        r.pop("predictions", None)
        r["suite"].pop("path")  # each run had its own cache folder
    assert serial == dask


def test_jobs_that_cannot_be_sent_run_here():
    """A closure among a job's arguments (e.g. a lambda registered as a method) runs in this
    process instead of failing in the pool."""
    from simulator.parallel import run_jobs

    offset = 3
    results = dict(run_jobs(_apply, [(lambda x: x + offset, k) for k in range(3)], workers=2))
    assert results == {0: 3, 1: 4, 2: 5}


def _apply(f, x):
    return f(x)
