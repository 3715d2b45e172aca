"""A tiny training run on synthetic discs learns; exact resume, logs, errors; simulated and on-disk data."""

from __future__ import annotations

import csv
import json
import re
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from skimage.draw import disk
from torch.utils.data import DataLoader

from simulator.config import load_config
from simulator.dataset import write_dataset
from simulator.errors import DatasetError, UserError
from unet.calibrate import POSTPROCESS_GRID
from unet.data import Clip, ClipSampler, DiskFrames, SimulatedClips, StepBatches
from unet.io import load_model
from unet.train import BOUNDARY_POS_WEIGHT, TrainConfig, _loss, f1_at_05, train


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


def test_tiny_training_learns(tmp_path: Path, renamed: list[Path]) -> None:
    scores = train(tmp_path / "m", _cfg(steps=60), source=disc_clips, progress=False, command="test")
    # every file, the plot included, was written whole: none is left half-written by a kill
    assert sorted((tmp_path / "m").iterdir()) == sorted(set(renamed))
    rows = list(csv.DictReader((tmp_path / "m" / "train_log.csv").open()))
    assert len(rows) == 60
    first = np.mean([float(r["loss"]) for r in rows[:5]])
    last = np.mean([float(r["loss"]) for r in rows[-5:]])
    assert last < 0.7 * first
    assert scores["val_f1"] > 0.3  # untrained: ~0 (no instance passes IoU 0.5)
    assert (tmp_path / "m" / "train_plot.png").stat().st_size > 0
    model, cfg = load_model(tmp_path / "m")
    assert cfg["training"]["command"] == "test" and cfg["validation"]["val_f1"] == scores["val_f1"]
    with pytest.raises(UserError, match="--resume"):
        train(tmp_path / "m", _cfg(), source=disc_clips, progress=False)
    # resume of a finished run with more steps: continues from the checkpoint at step 60 up to 64
    train(tmp_path / "m", _cfg(steps=64, val_every=4), source=disc_clips, progress=False, resume=True)
    rows = list(csv.DictReader((tmp_path / "m" / "train_log.csv").open()))
    assert [r["step"] for r in rows] == [str(i) for i in range(1, 65)]  # "1", not "1.0", after a resume
    assert json.loads((tmp_path / "m" / "model.json").read_text())["training"]["steps"] == 64


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path: Path) -> None:
    """Stopped at step 7 (not a validation step) and resumed: bit-identical weights on the CPU."""
    cfg = _cfg(steps=12, val_every=5, dropout=0.2, crop=32, base_width=4, val_clips=2)
    train(tmp_path / "whole", cfg, source=disc_clips, progress=False)
    assert train(tmp_path / "cut", cfg, source=disc_clips, progress=False, stop_at=7) == {}
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    train(tmp_path / "cut", cfg, source=disc_clips, progress=False, resume=True)
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # a different seed gives different weights (the comparison above can fail)
    train(tmp_path / "other", _cfg(steps=12, val_every=5, dropout=0.2, crop=32, base_width=4, val_clips=2, seed=1),
          source=disc_clips, progress=False)
    c = load_file(str(tmp_path / "other" / "model.safetensors"))
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_bf16_training_learns_and_resumes_exactly(tmp_path: Path) -> None:
    """bfloat16 autocast (``nanoaq train --bf16``) learns the discs as float32 does, its forward
    pass is really in bfloat16 (other weights than float32's), and a stopped run resumes to the
    same weights, bit for bit, on the CPU."""
    assert train(tmp_path / "learn", _cfg(steps=60, bf16=True), source=disc_clips, progress=False)["val_f1"] > 0.3
    cfg = _cfg(steps=12, val_every=5, crop=32, base_width=4, val_clips=2, bf16=True)
    train(tmp_path / "whole", cfg, source=disc_clips, progress=False)
    train(tmp_path / "cut", cfg, source=disc_clips, progress=False, stop_at=7)
    train(tmp_path / "cut", cfg, source=disc_clips, progress=False, resume=True)
    train(tmp_path / "fp32", _cfg(steps=12, val_every=5, crop=32, base_width=4, val_clips=2),
          source=disc_clips, progress=False)
    whole, cut, fp32 = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("whole", "cut", "fp32"))
    assert all(torch.equal(whole[k], cut[k]) for k in whole)
    assert {whole[k].dtype for k in whole} == {torch.float32, torch.int64}  # weights float32, BN's step count
    assert not all(torch.equal(whole[k], fp32[k]) for k in whole)
    with pytest.raises(UserError, match="bf16 = True, this command has bf16 = False"):
        train(tmp_path / "cut", _cfg(steps=12, val_every=5, crop=32, base_width=4, val_clips=2), source=disc_clips,
              progress=False, resume=True)


def test_batches_depend_on_seed_and_step_only() -> None:
    """Batch s is the same from a fresh stream, a resumed one and with two workers; other seeds differ."""
    sampler = ClipSampler(disc_clips)
    ds = StepBatches(sampler, seed=5, context=3, crop=32, batch_size=2)
    stream = [b[0] for b in islice(iter(ds), 4)]
    assert stream[0].shape == (2, 3, 32, 32)
    resumed = next(iter(StepBatches(sampler, seed=5, start=2, context=3, crop=32, batch_size=2)))[0]
    assert torch.equal(stream[2], resumed)
    workers = [b[0] for b in islice(DataLoader(ds, batch_size=None, num_workers=2), 4)]
    assert all(torch.equal(a, b) for a, b in zip(stream, workers))
    other = next(iter(StepBatches(sampler, seed=6, context=3, crop=32, batch_size=2)))[0]
    assert not torch.equal(stream[0], other)


def _tiny_dataset(root: Path, frames: int = 3, size: int = 40) -> Path:
    cfg = load_config("brownian-prisms", overrides=[f"video.frames={frames}", f"video.height_px={size}",
                                                    f"video.width_px={size}", "video.count=2",
                                                    "particles.count=2", "particles.size_nm=8"])
    root.parent.mkdir(parents=True, exist_ok=True)
    write_dataset(cfg, root, seed=3, workers=1, progress=False)
    return root


def test_disk_frames_samples_crops_of_a_dataset(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    _tiny_dataset(suite / "a")
    frames = DiskFrames([suite])  # a folder of datasets
    assert len(frames.videos) == 2 and frames.names[0].startswith("a/")
    x, y, labels = frames(np.random.default_rng(0), 3, 3, 32)
    assert x.shape == (3, 3, 32, 32) and y.shape == (3, 2, 32, 32) and labels.shape == (3, 32, 32)
    np.testing.assert_array_equal(y[:, 0], labels > 0)          # foreground target = labelled pixels
    x2, _, _ = frames(np.random.default_rng(0), 1, 1, 64)       # crop larger than the frame: padded
    assert x2.shape == (1, 1, 64, 64)
    with pytest.raises(DatasetError, match="not a dataset"):
        DiskFrames([tmp_path / "nothing"])
    oversampled = DiskFrames([suite], foreground_fraction=1.0)
    _, y, _ = oversampled(np.random.default_rng(0), 16, 3, 16)
    assert (y[:, 0].reshape(16, -1).max(1) > 0).all()  # every crop holds a particle


def test_train_on_disk_data_tunes_postprocessing(tmp_path: Path) -> None:
    data = _tiny_dataset(tmp_path / "d", frames=3, size=32)
    cfg = _cfg(steps=4, val_every=2, crop=32, data=[str(data)], val_data=[str(data)], val_clips=2)
    train(tmp_path / "m", cfg, progress=False)
    _, meta = load_model(tmp_path / "m")
    assert set(meta["postprocess"]) == set(POSTPROCESS_GRID)
    assert meta["postprocess_tuning"]["frames"] == 4 and meta["training"]["data"] == [str(data)]
    with pytest.raises(DatasetError):
        train(tmp_path / "n", _cfg(data=[str(tmp_path / "missing")]), progress=False)
    assert not (tmp_path / "n").exists()


def test_simulated_source() -> None:
    clip = SimulatedClips(["brownian-prisms"])(np.random.default_rng(1), 3, 48)
    assert clip.frames.shape == (3, 48, 48) and clip.labels.shape == (3, 48, 48)


def test_loss_against_numpy() -> None:
    """unet.train._loss written out in NumPy (float64): BCE on both heads, boundary positives
    weighted, plus the soft Dice of the foreground over the batch."""
    rng = np.random.default_rng(3)
    z = rng.normal(0, 3, (2, 2, 16, 16))
    y = (rng.random((2, 2, 16, 16)) < 0.3).astype(float)

    def bce(z: np.ndarray, y: np.ndarray, pos_weight: float = 1.0) -> np.ndarray:
        return pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)

    p = 1 / (1 + np.exp(-z[:, 0]))
    dice = 1 - (2 * (p * y[:, 0]).sum() + 1) / (p.sum() + y[:, 0].sum() + 1)
    expected = bce(z[:, 0], y[:, 0]).mean() + bce(z[:, 1], y[:, 1], BOUNDARY_POS_WEIGHT).mean() + dice
    assert float(_loss(torch.from_numpy(z), torch.from_numpy(y))) == pytest.approx(expected, rel=1e-6)


def test_f1_at_05() -> None:
    truth = np.zeros((10, 10), int)
    truth[:4, :4], truth[6:, 6:] = 1, 2
    pred = np.zeros_like(truth)
    pred[:4, :3] = 7           # IoU 0.75 with 1
    pred[6:8, 6:8] = 3         # IoU 0.25 with 2
    assert f1_at_05(pred, truth) == (1, 2, 2)


def test_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(steps=8, val_every=4, crop=32, base_width=4, val_clips=2)
    assert train(tmp_path / "m", cfg, source=disc_clips, progress=False, stop_at=4) == {}
    with pytest.raises(UserError, match=r"margin = 32, this command has margin = 16"):
        train(tmp_path / "m", _cfg(steps=8, val_every=4, crop=32, base_width=4, val_clips=2, margin=16),
              source=disc_clips, progress=False, resume=True)
    # a checkpoint written before an option existed was trained with its default: it resumes
    ckpt = tmp_path / "m" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    options = json.loads(state["config"])
    del options["foreground_fraction"], options["input_pyramid"]
    torch.save({**state, "config": json.dumps(options)}, ckpt)
    with pytest.raises(UserError, match=r"input_pyramid = False, this command has input_pyramid = True"):
        train(tmp_path / "m", _cfg(steps=8, val_every=4, crop=32, base_width=4, val_clips=2, input_pyramid=True),
              source=disc_clips, progress=False, resume=True)
    # more steps, another validation cadence: allowed
    train(tmp_path / "m", _cfg(steps=10, val_every=5, crop=32, base_width=4, val_clips=2), source=disc_clips,
          progress=False, resume=True)
    assert (tmp_path / "m" / "model.safetensors").is_file()


class _Killed(BaseException):
    """Stands for a SIGKILL: not an Exception, so nothing on the way catches it."""


def test_a_run_killed_while_saving_leaves_the_previous_checkpoint_and_log(tmp_path: Path, monkeypatch) -> None:
    cfg = _cfg(steps=8, val_every=4, crop=32, base_width=4, val_clips=2)
    out = tmp_path / "m"
    train(out, cfg, source=disc_clips, progress=False, stop_at=4)
    ckpt, log_path = out / "checkpoint.pt", out / "train_log.csv"
    saved, log = ckpt.read_bytes(), log_path.read_bytes()

    def half_saved(obj: object, f: str) -> None:
        Path(f).write_bytes(b"PK\x03\x04 the first bytes of a zip archive")
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(torch, "save", half_saved)
        with pytest.raises(_Killed):
            train(out, cfg, source=disc_clips, progress=False, resume=True)
    assert ckpt.read_bytes() == saved and log_path.read_bytes() == log

    def half_written(self: csv.DictWriter, rows: list) -> None:
        self.writerow(rows[0])
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(csv.DictWriter, "writerows", half_written)
        with pytest.raises(_Killed):
            train(out, cfg, source=disc_clips, progress=False, resume=True, stop_at=6)
    assert log_path.read_bytes() == log
    assert torch.load(ckpt, weights_only=True)["step"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "train_log.csv"]  # no temporary file left


def test_resume_refuses_a_corrupt_checkpoint_and_a_stop_before_it(tmp_path: Path) -> None:
    cfg = _cfg(steps=8, val_every=4, crop=32, base_width=4, val_clips=2)
    out = tmp_path / "m"
    train(out, cfg, source=disc_clips, progress=False, stop_at=4)
    with pytest.raises(UserError, match=r"--stop-at 3: the checkpoint in .* is already at step 4"):
        train(out, cfg, source=disc_clips, progress=False, resume=True, stop_at=3)
    ckpt = out / "checkpoint.pt"
    whole = ckpt.read_bytes()
    for corrupt in (whole[: len(whole) // 2], b"garbage bytes", b""):
        ckpt.write_bytes(corrupt)
        with pytest.raises(UserError, match=re.escape(f"--resume {ckpt}: not a readable checkpoint")):
            train(out, cfg, source=disc_clips, progress=False, resume=True)
    torch.save({"step": 4}, ckpt)
    with pytest.raises(UserError, match="not a checkpoint of nanoaq train"):
        train(out, cfg, source=disc_clips, progress=False, resume=True)
    ckpt.write_bytes(whole)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    with pytest.raises(UserError, match=r"--steps 3: the checkpoint in .* is already at step 4; expected that many"):
        train(out, _cfg(steps=3, val_every=4, crop=32, base_width=4, val_clips=2), source=disc_clips,
              progress=False, resume=True)
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    with pytest.raises(UserError, match="--stop-at 0: expected a step >= 1"):
        train(tmp_path / "new", cfg, source=disc_clips, progress=False, stop_at=0)
    assert not (tmp_path / "new").exists()


def test_resume_into_a_folder_without_a_checkpoint_is_refused(tmp_path: Path) -> None:
    """Once it trained from scratch and wrote its model over the folder's (of any architecture)."""
    cfg = _cfg(steps=2, val_every=2, crop=32, base_width=4, val_clips=1)
    out = tmp_path / "m"
    out.mkdir()
    (out / "model.json").write_text("{}")
    with pytest.raises(UserError, match=re.escape(f"--resume {out}: the folder is not empty and holds no "
                                                  "checkpoint.pt")):
        train(out, cfg, source=disc_clips, progress=False, resume=True)
    assert [p.name for p in out.iterdir()] == ["model.json"] and (out / "model.json").read_text() == "{}"
    # a missing or empty folder starts afresh
    train(tmp_path / "new", cfg, source=disc_clips, progress=False, resume=True)
    assert (tmp_path / "new" / "model.safetensors").is_file()
