"""``benchmarks/gpu.py``: its measurements on the CPU (tiny sizes) and its refusals, one line, exit status 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.config import load_config
from simulator.dataset import write_dataset
from unet.model import UNet

_GPU = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.fixture
def gpu():
    spec = importlib.util.spec_from_file_location("nanoaq_bench_gpu", _GPU)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_speed_and_network_fps_on_the_cpu(gpu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions the GPU rows come from, on the CPU with a tiny network: positive rates, and
    the training's rate taken from its log between step WARM_STEPS and the step before the last."""
    cfg = load_config("brownian-prisms", overrides=["video.frames=3", "video.height_px=64", "video.width_px=64",
                                                    "video.count=1", "particles.count=2"])
    write_dataset(cfg, tmp_path / "d", seed=0, progress=False)
    monkeypatch.setattr(gpu, "SHIPPED", {"context": 3, "depth": 2, "base_width": 4, "batch_size": 2, "crop": 32,
                                         "margin": 4})
    rate = gpu.training_speed(tmp_path / "d", "cpu", gpu.WARM_STEPS + 5)
    assert np.isfinite(rate) and rate > 0
    model = UNet(3, 2, 4, "batch", 0.0).eval()
    frames = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    assert gpu.network_fps(model, frames, 2, "cpu") > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--steps", "100"], "--steps 100: expected more than 100"),
    (["--out", "{tmp}"], "--out"),
])
def test_refusals_are_one_line_before_measuring(gpu, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert gpu.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpu.py: error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_without_a_gpu_it_says_so(gpu, tmp_path: Path, capsys) -> None:
    assert gpu.main(["--out", str(tmp_path / "gpu.json")]) == 2
    assert "no CUDA GPU is available to torch" in capsys.readouterr().err
    assert not (tmp_path / "gpu.json").exists()
