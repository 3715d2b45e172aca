"""SIGKILL in the middle of ``nanoaq simulate`` and ``nanoaq bench``, then the same command again:
the result equals an uninterrupted run's (byte for byte for a dataset; the same scores and
prediction files for a bench), and nothing incomplete is ever visible under a final name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.cache import cache_path
from benchmark.cli import main
from benchmark.results import load_results

REPO = Path(__file__).resolve().parents[2]
VIDEO_FILES = {"video.ome.tif", "labels.ome.tif", "particles.csv", "tracks.csv", "events.csv", "config.json"}


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _kill_when(argv: list[str], cwd: Path, env: dict[str, str], ready: Callable[[], int | None],
               total: int) -> int:
    """Start ``nanoaq argv`` and SIGKILL it once ``ready()`` counts some but not all of ``total``
    units done; return that count.  Fails if the command ends before it could be killed."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.cli", *argv], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            done = ready()
            if done is not None and 0 < done < total:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return done
            if proc.poll() is not None:
                pytest.fail(f"nanoaq {argv[0]} ended (status {proc.returncode}) before it could be killed "
                            f"halfway: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.01)
        pytest.fail("timed out waiting for progress")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "NANOAQ_CACHE": str(tmp_path / "cache")}


def test_killed_simulate_resumes_to_identical_bytes(tmp_path, monkeypatch):
    videos = 4
    args = ["simulate", "--preset", "brownian-prisms", "--frames", "3", "--size", "96", "--videos", str(videos),
            "--seed", "11", "--workers", "1", "--quiet", "--out"]
    monkeypatch.chdir(tmp_path)
    assert main(args + ["whole"]) == 0

    progress = tmp_path / "crashed.partial" / "progress.json"

    def videos_done() -> int | None:
        try:
            return len(json.loads(progress.read_text())["videos"])
        except (OSError, ValueError):  # not there yet
            return None

    killed_after = _kill_when(args + ["crashed"], tmp_path, _env(tmp_path), videos_done, videos)
    assert 0 < killed_after < videos
    assert not (tmp_path / "crashed").exists(), "a killed run left a dataset under the final name"
    visible = [p for p in (tmp_path / "crashed.partial").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(visible) >= killed_after
    for folder in visible:  # a video under its own name is whole
        assert VIDEO_FILES <= {p.name for p in folder.iterdir()}, folder

    assert main(args + ["crashed"]) == 0  # the same command again
    assert not (tmp_path / "crashed.partial").exists()
    assert _tree_bytes(tmp_path / "crashed") == _tree_bytes(tmp_path / "whole")
    assert main(["verify", "crashed"]) == 0


_SLOW_METHOD = textwrap.dedent('''
    """A baseline slowed down, so that a bench can be killed halfway; counts its calls."""
    import time

    from baselines.threshold import otsu

    calls = 0


    def segment(video, meta):
        global calls
        calls += 1
        time.sleep(0.1)
        return otsu(video, meta)
''')


def _comparable(path: Path) -> list[dict]:
    """The scores of a results file without what a rerun cannot repeat (time, memory, where)."""
    out = []
    for r in load_results(path):
        d = r.model_dump(mode="json")
        for v in d["videos"]:
            v.pop("seconds_per_frame")
            v.pop("peak_memory_mb")
        for row in d["aggregates"].values():
            row.pop("seconds_per_frame")
            row.pop("peak_memory_mb")
        out.append({k: d[k] for k in ("suite", "method", "videos", "aggregates")})
    return out


@pytest.fixture
def slow_method(tmp_path, monkeypatch):
    """``slowseg_rel:segment`` importable from ``tmp_path`` (and forgotten afterwards)."""
    (tmp_path / "slowseg_rel.py").write_text(_SLOW_METHOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "slowseg_rel:segment"
    sys.modules.pop("slowseg_rel", None)


@pytest.mark.slow
def test_killed_bench_resumes_from_its_cache_with_the_same_scores(slow_method, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NANOAQ_CACHE", str(tmp_path / "cache"))
    args = ["bench", "--suite", "quick", "--methods", slow_method, "--workers", "1", "--quiet", "--out"]
    assert main(args + ["whole.json"]) == 0
    assert not cache_path(tmp_path / "whole.json").exists(), "a finished bench leaves its cache behind"
    total = len(load_results(tmp_path / "whole.json")[0].videos)

    cache = cache_path(tmp_path / "crashed.json")

    def videos_done() -> int | None:
        return sum(1 for p in cache.glob("*/*/*") if p.is_dir() and not p.name.startswith(".")) if cache.is_dir() else None

    killed_after = _kill_when(args + ["crashed.json"], tmp_path, _env(tmp_path), videos_done, total)
    assert not (tmp_path / "crashed.json").exists() and not (tmp_path / "crashed.predictions").exists()

    import slowseg_rel

    slowseg_rel.calls = 0
    assert main(args + ["crashed.json"]) == 0  # the same command again
    cached = videos_done()
    assert cached is None, "the cache is removed once the results are written"
    assert 0 < slowseg_rel.calls <= total - killed_after, "videos scored before the kill were run again"
    assert _comparable(tmp_path / "crashed.json") == _comparable(tmp_path / "whole.json")
    assert _tree_bytes(tmp_path / "crashed.predictions") == _tree_bytes(tmp_path / "whole.predictions")


class _Interrupting:
    """otsu that raises KeyboardInterrupt (as a kill would stop it) on call number ``stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls, self.stop_at = 0, stop_at

    def __call__(self, video, meta):
        from baselines.threshold import otsu

        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return otsu(video, meta)


def test_bench_cache_resumes_an_interrupted_run(tmp_path):
    """The same as the SIGKILL test above, in-process on a one-task suite of three tiny videos."""
    from benchmark.cache import BenchCache
    from benchmark.score import run_method
    from benchmark.suite import Suite, Task
    from simulator.config import load_config
    from simulator.dataset import open_dataset, write_dataset

    task = Task("brownian-prisms", 100.0, None, (), 0)
    cfg = load_config("brownian-prisms", overrides=["video.frames=2", "video.height_px=96", "video.width_px=96",
                                                    "video.count=3"])
    (tmp_path / "suite").mkdir()
    write_dataset(cfg, tmp_path / "suite" / task.name, seed=5, workers=1, progress=False)
    suite = Suite("tiny", "quick", tmp_path / "suite", (task,), open_dataset(tmp_path / "suite" / task.name).checksum)

    def run(func, out):
        cache = BenchCache(cache_path(out), suite_checksum=suite.checksum, method="otsu", params={}, version="1",
                           func=_Interrupting)
        return run_method(suite, "otsu", func, {}, version="1", cache=cache, progress=False,
                          predictions=out.with_name(out.stem + ".predictions"))

    whole = run(_Interrupting(), tmp_path / "whole.json")
    interrupted = _Interrupting(stop_at=3)
    with pytest.raises(KeyboardInterrupt):
        run(interrupted, tmp_path / "crashed.json")
    resumed = _Interrupting()
    again = run(resumed, tmp_path / "crashed.json")
    assert resumed.calls == 1  # the two videos scored before the interruption come from the cache
    timing = {"seconds_per_frame", "peak_memory_mb"}
    assert [v.model_dump(exclude=timing) for v in again.videos] == [v.model_dump(exclude=timing) for v in whole.videos]
    assert _tree_bytes(tmp_path / "crashed.predictions") == _tree_bytes(tmp_path / "whole.predictions")
    # Another method version (or parameters, or suite) does not reuse the entries.
    other = BenchCache(cache_path(tmp_path / "crashed.json"), suite_checksum=suite.checksum, method="otsu",
                       params={}, version="2", func=_Interrupting)
    assert other.get(task.name, "video_000") is None


def test_bench_cache_key_holds_the_scoring_code(tmp_path, monkeypatch):
    """The key covers the matching, metrics, tracking, video scoring and peak-memory modules, so a
    bench resumed after one of them changed (as the matching did) computes afresh."""
    import baselines.matching
    import benchmark.metrics
    from benchmark import cache as cache_module

    seen = []
    digest = cache_module._source_digest
    monkeypatch.setattr(cache_module, "_source_digest", lambda obj: seen.append(obj) or digest(obj))
    key = dict(suite_checksum="abc", method="otsu", params={}, version="1", func=_Interrupting)
    before = cache_module.BenchCache(tmp_path, **key).path
    assert baselines.matching in seen and benchmark.metrics in seen
    monkeypatch.setattr(cache_module, "_source_digest",
                        lambda obj: "edited" if obj is baselines.matching else digest(obj))
    assert cache_module.BenchCache(tmp_path, **key).path != before

