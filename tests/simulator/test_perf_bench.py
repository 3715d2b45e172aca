"""pytest-benchmark groups of issue #8: each group holds a fast path and what it is compared with,
timed in the same run (``make bench`` or ``pytest --benchmark-enable -k perf_bench``).  The
assertions check results, never time; ``benchmarks/compare.py`` prints the ratios at full size.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simulator.config import load_config
from simulator.poisson import poisson
from simulator.simulate import Simulation

_BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _reference(module: str, name: str):
    """``name`` of ``benchmarks/<module>.py`` (the references benchmarks/compare.py times against)."""
    spec = importlib.util.spec_from_file_location(f"nanoaq_bench_{module}", _BENCHMARKS / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def _sim(size: int, count: int) -> Simulation:
    cfg = load_config("brownian-prisms", overrides=[
        f"video.height_px={size}", f"video.width_px={size}", "video.frames=1", f"particles.count={count}",
        "particles.shapes={prism=0.5, sphere=0.3, rod=0.2}", "particles.size_nm=20", "dynamics.model='static'"])
    sim = Simulation(cfg, seed=1)
    next(sim.frames())  # compile / load the kernels outside the timing
    return sim


@pytest.fixture(scope="module")
def sim512():
    return _sim(512, 50)


@pytest.mark.benchmark(group="render-512-vs-poisson-floor")
def test_render_full_frame(benchmark, sim512):
    out = benchmark(lambda: next(sim512.frames()))
    assert out.image.dtype == np.uint16 and len(np.unique(out.labels)) == 51


@pytest.mark.benchmark(group="render-512-vs-poisson-floor")
def test_render_poisson_floor(benchmark, sim512):
    mean = sim512._exposure(np.zeros(2))[0].copy()  # _exposure returns a buffer that frames() reuses
    rng = np.random.default_rng(0)
    counts = benchmark(rng.poisson, mean)
    assert counts.mean() == pytest.approx(mean.mean(), rel=0.01)


@pytest.mark.benchmark(group="render-512-vs-poisson-floor")
def test_render_poisson_pd(benchmark, sim512):
    """The Poisson draw the frame makes (simulator.poisson, algorithm PD), next to the floor."""
    mean = sim512._exposure(np.zeros(2))[0].copy()
    rng = np.random.default_rng(0)
    counts = benchmark(lambda: poisson(mean, rng=rng))
    assert counts.mean() == pytest.approx(mean.mean(), rel=0.01)


@pytest.mark.benchmark(group="render-128-vs-naive")
@pytest.mark.parametrize("how", ["nanoaquarium", "naive"])
def test_render_against_the_naive_pipeline(benchmark, how):
    sim = _sim(128, 8)
    render_naive = _reference("naive", "render_naive")  # loaded once, outside the timing
    render = (lambda: next(sim.frames()).image) if how == "nanoaquarium" else (lambda: render_naive(sim, 0)[0])
    image = benchmark(render)
    # Both record the same scene: the mean counts agree to the Poisson and sub-pixel differences.
    reference = next(sim.frames()).image.astype(float).mean()
    assert image.astype(float).mean() == pytest.approx(reference, rel=0.01)


def _discs(frames: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    true = np.zeros((frames, size, size), np.uint16)
    pred = np.zeros_like(true)
    for f in range(frames):
        for k, (cy, cx) in enumerate(rng.uniform(10, size - 10, (12, 2)), start=1):
            true[f][(yy - cy) ** 2 + (xx - cx) ** 2 <= 36] = k
            pred[f][(yy - cy - 1) ** 2 + (xx - cx) ** 2 <= 40] = 100 + k
    return true, pred


@pytest.mark.benchmark(group="seg-vs-py-ctcmetrics")
@pytest.mark.parametrize("how", ["nanoaquarium", "py-ctcmetrics"])
def test_seg_against_py_ctcmetrics(benchmark, how, tmp_path):
    from benchmark.metrics import seg_video

    true, pred = _discs(4, 128, 0)
    ctc = _reference("ctc_reference", "py_ctcmetrics_seg")(true, pred, tmp_path)
    value = benchmark(ctc if how == "py-ctcmetrics" else (lambda: seg_video(true, pred)))
    assert value == pytest.approx(seg_video(true, pred), abs=1e-12) and 0.5 < value < 1
