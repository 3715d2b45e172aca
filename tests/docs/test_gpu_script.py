"""``benchmarks/gpu.py``: its measurements on the CPU (tiny sizes) and its refusals, one line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.config import load_config
from simulator.dataset import write_dataset
from unet.model import UNet

from _scripts import load_script


@pytest.fixture
def gpu():
    return load_script("benchmarks/gpu.py", "nanoaq_bench_gpu")


def test_training_speed_is_taken_from_the_log_after_the_warm_up(gpu, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A training whose log's clock runs 0.1 s a step, with 5 s of start-up in the first WARM_STEPS
    steps: 10 steps/s exactly, and the shipped options with the script's own."""
    import unet.train

    seen = {}

    def fake_train(out, cfg, **kw):
        seen.update(cfg=cfg, **kw)
        Path(out).mkdir(parents=True)
        with open(Path(out) / "train_log.csv", "w") as fh:
            fh.write("step,elapsed_s\n")
            for step in range(1, cfg.steps + 1):
                fh.write(f"{step},{0.1 * step + (5.0 if step >= gpu.WARM_STEPS else step * 0.05)}\n")

    monkeypatch.setattr(unet.train, "train", fake_train)
    assert gpu.training_speed(tmp_path / "d", "cuda", 400, bf16=True) == pytest.approx(10.0)
    cfg = seen["cfg"]
    assert (cfg.steps, cfg.bf16, cfg.context, cfg.depth, cfg.base_width, cfg.batch_size, cfg.margin) == \
        (400, True, 5, 4, 12, 8, 32)
    assert seen["device"] == "cuda" and cfg.data == [str(tmp_path / "d")] and not cfg.tune_postprocess


def test_training_speed_and_network_fps_run_on_the_cpu(gpu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions the rows come from, for real, on the CPU with a tiny network."""
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
    (["--steps", "100", "--out", "{tmp}/gpu.json"], "--steps 100: expected more than 100"),
    (["--out", "{tmp}"], "--out"),  # a folder
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
