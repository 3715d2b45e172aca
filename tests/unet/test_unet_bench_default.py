"""The shipped default model: loads without training, runs on simulated and real frames; speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.config import load_config
from simulator.simulate import simulate_video
from simulator.video import VideoMeta
from unet.infer import predict_logits
from unet.io import DEFAULT_MODEL, load_model
from unet.method import segment
from unet.postprocess import instances_from_probabilities
from unet.train import f1_at_05


def test_default_model_ships_and_segments_a_simulated_clip() -> None:
    model, cfg = load_model(None)
    assert DEFAULT_MODEL.stat().st_size < 5e6
    assert {"architecture", "normalization", "training", "validation", "code_version"} <= set(cfg)
    video = simulate_video(load_config("brownian-prisms", overrides=[
        "video.frames=3", "video.height_px=96", "video.width_px=96", "imaging.dose_rate_e_per_A2_s=200",
        "dynamics.boundary=reflect"]), seed=11)  # whole particles: no slivers cut by the field edge
    labels = segment(video.frames, video.meta)
    tp, n_pred, n_true = f1_at_05(labels[1], video.labels[1])
    assert n_true > 0 and 2 * tp / (n_pred + n_true) > 0.5


def test_default_model_on_a_real_uint8_frame(real_dir: Path) -> None:
    from simulator.tiffio import read_tiff
    frame = read_tiff(sorted(real_dir.glob("*.tif"))[0])
    frame = frame.reshape(-1, *frame.shape[-2:])[:1, :300, :300]
    labels = segment(frame, VideoMeta("real", frame.shape, 1.727, 1.0))
    assert labels.shape == frame.shape and labels.max() >= 1


def _frame_512() -> tuple[np.ndarray, VideoMeta]:
    frame = np.random.default_rng(0).poisson(1000, (1, 512, 512)).astype(np.uint16)
    return frame, VideoMeta("bench", frame.shape, 1.0, 0.1)


def _record(benchmark) -> None:  # type: ignore[no-untyped-def]
    if benchmark.stats is not None:  # None under --benchmark-disable (a single plain run)
        benchmark.extra_info["frames_per_s"] = 1.0 / benchmark.stats.stats.mean
    benchmark.extra_info["threads"] = torch.get_num_threads()


@pytest.mark.benchmark(group="unet-512")
def test_bench_infer_512_cpu(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Frames/s of the shipped model on one 512x512 uint16 frame on CPU: normalise, network, post-process."""
    frame, meta = _frame_512()
    segment(frame, meta)  # load and warm up
    labels = benchmark(segment, frame, meta)
    assert labels.shape == frame.shape
    _record(benchmark)


@pytest.mark.benchmark(group="unet-512")
def test_bench_network_512_cpu(benchmark) -> None:  # type: ignore[no-untyped-def]
    """The network alone (normalisation and forward pass, no post-processing) on the same frame."""
    frame, meta = _frame_512()
    model, cfg = load_model(None)
    margin = cfg["training"].get("margin", 0)  # as segment() runs the shipped model
    run = lambda: next(predict_logits(frame, model, particles_bright=meta.particles_bright, margin=margin))  # noqa: E731
    run()
    logits = benchmark(run)
    assert logits.shape == (2, 512, 512)
    _record(benchmark)


@pytest.mark.benchmark(group="unet-512")
def test_bench_postprocess_512_cpu(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Post-processing alone (sigmoid, seeded watershed) of the shipped model's logits of a simulated 512x512 frame."""
    video = simulate_video(load_config("brownian-prisms", overrides=[
        "video.frames=1", "video.height_px=512", "video.width_px=512", "particles.count=24"]), seed=3)
    model, cfg = load_model(None)
    logits = next(predict_logits(video.frames, model, particles_bright=video.meta.particles_bright,
                                 margin=cfg["training"].get("margin", 0)))

    def post() -> np.ndarray:
        prob = 1.0 / (1.0 + np.exp(-logits))
        return instances_from_probabilities(prob[0], prob[1], **cfg["postprocess"])

    labels = benchmark(post)
    assert labels.max() >= 1
    _record(benchmark)
