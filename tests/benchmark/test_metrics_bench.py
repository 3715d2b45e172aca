"""pytest-benchmark group of the instance metrics (issue #8): the numba kernels against their
NumPy references on the same frames, timed in the same run (``pytest --benchmark-enable -k
metrics_bench``).  The assertion checks results, never time; ``benchmarks/compare.py`` compares
with py-ctcmetrics at full size."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import draw

from benchmark.metrics import video_metrics


def _frames(frames: int = 3, size: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ellipses on a jittered grid (truth) and a shifted, resized copy with misses (prediction)."""
    rng = np.random.default_rng(seed)
    true = np.zeros((frames, size, size), np.uint16)
    pred = np.zeros_like(true)
    for f in range(frames):
        for k, (cy, cx) in enumerate(np.mgrid[8:size:16, 8:size:16].reshape(2, -1).T + rng.uniform(-2, 2, (64, 2))):
            a, b, rot = rng.uniform(3, 6), rng.uniform(3, 7), rng.uniform(-3, 3)
            true[f][draw.ellipse(cy, cx, a, b, shape=(size, size), rotation=rot)] = k + 1
            if rng.random() < 0.9:
                pred[f][draw.ellipse(cy + rng.normal(0, 1), cx + rng.normal(0, 1), a * rng.uniform(0.8, 1.2), b,
                                     shape=(size, size), rotation=rot)] = 500 + k
    return true, pred


@pytest.mark.benchmark(group="instance-metrics-engines")
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_video_metrics_engines(benchmark, engine):
    true, pred = _frames()
    per, seg = benchmark(lambda: video_metrics(true, pred, engine=engine))
    ref_per, ref_seg = video_metrics(true, pred, engine="numpy")
    assert seg == pytest.approx(ref_seg, abs=1e-12) and 0.3 < seg < 1
    for a, b in zip(per, ref_per):
        assert a == pytest.approx(b, abs=1e-12, nan_ok=True)
