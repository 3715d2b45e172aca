"""A tiny training run on synthetic discs learns; resume, logs, errors; the simulator source."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from skimage.draw import disk

from simulator.errors import UserError
from unet.data import Clip, SimulatedClips, StreamingFrames
from unet.io import load_model
from unet.train import TrainConfig, f1_at_05, train


def disc_clips(rng: np.random.Generator, frames: int, size: int) -> Clip:
    """Synthetic source: 2-4 static dark discs (r 5-8 px) on a bright background, Poisson noise."""
    labels = np.zeros((size, size), np.uint32)
    for k in range(int(rng.integers(2, 5))):
        r = int(rng.integers(5, 9))
        c = rng.integers(r + 1, size - r - 1, 2)
        rr, cc = disk((int(c[0]), int(c[1])), r, shape=labels.shape)
        free = labels[rr, cc] == 0
        labels[rr[free], cc[free]] = k + 1
    mean = np.where(labels > 0, 20.0, 40.0)
    video = rng.poisson(mean, (frames, size, size)).astype(np.uint16)
    return Clip(video, np.broadcast_to(labels, (frames, size, size)).copy(), False)


def _cfg(**kw: object) -> TrainConfig:
    base = {"steps": 40, "batch_size": 4, "lr": 1e-2, "crop": 32, "depth": 2, "base_width": 6,
            "val_clips": 6, "val_every": 20, "seed": 0}
    return TrainConfig(**(base | kw))  # type: ignore[arg-type]


def test_tiny_training_learns_and_resumes(tmp_path: Path) -> None:
    scores = train(tmp_path / "m", _cfg(), source=disc_clips, progress=False, command="test")
    rows = list(csv.DictReader((tmp_path / "m" / "train_log.csv").open()))
    assert len(rows) == 40
    first = np.mean([float(r["loss"]) for r in rows[:5]])
    last = np.mean([float(r["loss"]) for r in rows[-5:]])
    assert last < 0.7 * first
    assert scores["val_f1"] > 0.3  # untrained: ~0 (no instance passes IoU 0.5)
    assert (tmp_path / "m" / "train_plot.png").stat().st_size > 0
    model, cfg = load_model(tmp_path / "m")
    assert cfg["training"]["command"] == "test" and cfg["validation"]["val_f1"] == scores["val_f1"]
    with pytest.raises(UserError, match="--resume"):
        train(tmp_path / "m", _cfg(), source=disc_clips, progress=False)
    # resume: continues from the checkpoint at step 40 up to 50
    train(tmp_path / "m", _cfg(steps=50, val_every=10), source=disc_clips, progress=False, resume=True)
    rows = list(csv.DictReader((tmp_path / "m" / "train_log.csv").open()))
    assert [int(float(r["step"])) for r in rows] == list(range(1, 51))
    assert json.loads((tmp_path / "m" / "model.json").read_text())["training"]["steps"] == 50


def test_workers_draw_independent_streams() -> None:
    ds = StreamingFrames(disc_clips, seed=5, context=3, size=32)
    a = next(iter(ds))[0]
    b = next(iter(StreamingFrames(disc_clips, seed=5, context=3, size=32)))[0]
    c = next(iter(StreamingFrames(disc_clips, seed=6, context=3, size=32)))[0]
    assert a.shape == (3, 32, 32)
    assert np.array_equal(a.numpy(), b.numpy()) and not np.array_equal(a.numpy(), c.numpy())


def test_simulated_source() -> None:
    clip = SimulatedClips(["brownian-prisms"])(np.random.default_rng(1), 3, 48)
    assert clip.frames.shape == (3, 48, 48) and clip.labels.shape == (3, 48, 48)


def test_f1_at_05() -> None:
    truth = np.zeros((10, 10), int)
    truth[:4, :4], truth[6:, 6:] = 1, 2
    pred = np.zeros_like(truth)
    pred[:4, :3] = 7           # IoU 0.75 with 1
    pred[6:8, 6:8] = 3         # IoU 0.25 with 2
    assert f1_at_05(pred, truth) == (1, 2, 2)
