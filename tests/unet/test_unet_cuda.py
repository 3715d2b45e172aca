"""The U-Net on a CUDA GPU gives the CPU's answers (skipped where torch sees no GPU).

CI has no GPU: these run on a GPU machine (``python -m pytest tests/unet/test_unet_cuda.py``).
The oracle is the CPU in float32; on CUDA the network runs under float16 autocast (training and
inference) or bfloat16 autocast (``--bf16``), so logits agree to the rounding of half precision.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.config import load_config
from simulator.simulate import simulate_video
from test_unet_train import _cfg, _tiny_dataset, disc_clips
from unet.infer import predict_logits
from unet.io import load_model
from unet.method import segment
from unet.train import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to torch")


@pytest.fixture(scope="module")
def prisms():
    """Two 256 px frames of the brownian-prisms preset at dose 25 with 40 particles (faint plates)."""
    cfg = load_config("brownian-prisms", overrides=["video.frames=2", "video.height_px=256", "video.width_px=256",
                                                    "imaging.dose_rate_e_per_A2_s=25", "particles.count=40"])
    return simulate_video(cfg, seed=5)


def test_shipped_model_logits_on_cuda_match_the_cpu(prisms) -> None:
    model, cfg = load_model(None)
    margin = cfg["training"]["margin"]
    cpu = np.stack(list(predict_logits(prisms.frames, model.eval(), particles_bright=prisms.meta.particles_bright,
                                       margin=margin)))
    gpu_model, _ = load_model(None, device="cuda")
    gpu = np.stack(list(predict_logits(prisms.frames, gpu_model.eval(), device="cuda",
                                       particles_bright=prisms.meta.particles_bright, margin=margin)))
    assert gpu.shape == cpu.shape and np.isfinite(gpu).all()
    # float16 operands: relative error of the logits between 1e-3 and 1e-2
    assert np.linalg.norm(gpu - cpu) / np.linalg.norm(cpu) < 1e-2


def test_shipped_model_segments_alike_on_cuda(prisms) -> None:
    cpu = segment(prisms.frames, prisms.meta)
    gpu = segment(prisms.frames, prisms.meta, device="cuda")
    assert gpu.shape == cpu.shape and gpu.dtype == cpu.dtype
    assert np.mean((gpu > 0) == (cpu > 0)) > 0.995  # foreground pixels
    n_cpu = [len(np.unique(f)) - 1 for f in cpu]
    n_gpu = [len(np.unique(f)) - 1 for f in gpu]
    assert n_cpu[0] > 20 and np.allclose(n_gpu, n_cpu, rtol=0.05, atol=1)  # particles per frame


@pytest.mark.parametrize("bf16", [False, True], ids=["float16", "bfloat16"])
def test_training_on_cuda_learns_and_saves_a_cpu_model(tmp_path: Path, bf16: bool) -> None:
    """The CPU test's tiny run (``test_tiny_training_learns``) with mixed precision on the GPU:
    float16 with loss scaling, or bfloat16; the model loads on the CPU."""
    scores = train(tmp_path / "m", _cfg(steps=60, bf16=bf16), device="cuda", source=disc_clips, progress=False,
                   command="test")
    rows = list(csv.DictReader((tmp_path / "m" / "train_log.csv").open()))
    losses = [float(r["loss"]) for r in rows]
    assert len(rows) == 60 and np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert scores["val_f1"] > 0.3
    model, cfg = load_model(tmp_path / "m")  # on the CPU
    assert cfg["training"]["device"] == "cuda" and next(model.parameters()).device.type == "cpu"


def test_resume_on_cuda_continues_the_run(tmp_path: Path) -> None:
    """Stopped and resumed on the GPU: the same number of steps, and weights close to an
    uninterrupted run's (not bit for bit: cuDNN's convolutions may sum in another order)."""
    whole = tmp_path / "whole"
    train(whole, _cfg(steps=40), device="cuda", source=disc_clips, progress=False)
    part = tmp_path / "part"
    assert train(part, _cfg(steps=40), device="cuda", source=disc_clips, progress=False, stop_at=20) == {}
    train(part, _cfg(steps=40), device="cuda", source=disc_clips, progress=False, resume=True)
    assert len(list(csv.DictReader((part / "train_log.csv").open()))) == 40
    other = tmp_path / "other"  # the control: another seed is told apart by the same tolerance
    train(other, _cfg(steps=40, seed=1), device="cuda", source=disc_clips, progress=False)
    a, b, c = (load_model(m)[0].state_dict() for m in (whole, part, other))
    floats = [k for k in a if a[k].is_floating_point()]
    assert all(torch.allclose(a[k], b[k], rtol=0.05, atol=0.05) for k in floats)
    assert not all(torch.allclose(a[k], c[k], rtol=0.05, atol=0.05) for k in floats)


def test_resume_on_cuda_keeps_the_loss_scale(tmp_path: Path) -> None:
    """float16's loss scale is in the checkpoint and goes on from there: a run whose scale had
    backed off to 1024 does not start again from 2**16 (40 steps neither grow it, which takes 2000,
    nor back it off by 64x)."""
    out = tmp_path / "m"
    train(out, _cfg(steps=40), device="cuda", source=disc_clips, progress=False, stop_at=20)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["scaler"]["scale"] > 1024 and "cuda_rng" in ckpt
    ckpt["scaler"]["scale"] = 1024.0
    torch.save(ckpt, out / "checkpoint.pt")
    train(out, _cfg(steps=40), device="cuda", source=disc_clips, progress=False, resume=True)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["scaler"]["scale"] <= 1024


def test_training_on_cuda_from_disk_tunes_the_postprocessing(tmp_path: Path) -> None:
    """The CPU test ``test_train_on_disk_data_tunes_postprocessing`` on the GPU: the tuning at the
    end runs the network where the model is (it once fed CPU tensors to the GPU model and failed
    after the whole training)."""
    data = _tiny_dataset(tmp_path / "d", frames=3, size=32)
    cfg = _cfg(steps=4, val_every=2, crop=32, data=[str(data)], val_data=[str(data)], val_clips=2)
    train(tmp_path / "m", cfg, device="cuda", progress=False)
    _, meta = load_model(tmp_path / "m")
    assert meta["postprocess_tuning"]["frames"] == 4 and meta["training"]["device"] == "cuda"
