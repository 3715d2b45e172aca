"""``nanoaq train`` argument errors are one-line user errors (exit status 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main


@pytest.mark.parametrize(("extra", "message"), [
    (["--preset", "nope"], "--preset 'nope' is unknown"),
    (["--device", "tpu"], "--device 'tpu': expected cpu, cuda or cuda:N"),
    (["--device", "cuda:abc"], "--device 'cuda:abc': expected cpu, cuda or cuda:N"),
    (["--crop", "100"], "--crop 100: expected a positive size in px, a multiple of 2**depth"),
    (["--context", "4"], "--context 4: expected an odd number of frames >= 1"),
    (["--context", "-1"], "--context -1: expected an odd number of frames >= 1"),
    (["--threads", "-1"], "--threads -1: expected 0 (torch's default) or more threads"),
    (["--stop-at", "0"], "--stop-at 0: expected a step >= 1"),
    (["--stop-at", "-5"], "--stop-at -5: expected a step >= 1"),
    (["--base-width", "1"], "--base-width 1: expected at least 2"),
    (["--foreground-fraction", "1.5"], "--foreground-fraction 1.5: expected between 0 and 1"),
    (["--foreground-fraction", "0.3"], "--foreground-fraction 0.3: applies to the crops of --data"),
    (["--workers", "-1"], "--workers -1: expected 0 or more processes"),
    (["--depth", "4", "--crop", "16", "--batch-size", "1"],
     "--norm batch: with --batch-size 1, --crop 16 and --depth 4 the bottleneck holds one value per channel"),
])
def test_train_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    assert main(["train", "--out", str(tmp_path / "m"), "--steps", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_train_refuses_an_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m").write_text("not a folder")
    assert main(["train", "--out", str(tmp_path / "m"), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "is a file; expected a folder for the model" in err and err.count("\n") == 1
    assert (tmp_path / "m").read_text() == "not a folder"


def test_train_options_reach_the_model(tmp_path: Path) -> None:
    """--margin, --bf16 and --input-pyramid are stored in the model and used (--margin was once parsed,
    validated and dropped)."""
    from unet.io import load_model

    assert main(["train", "--out", str(tmp_path / "m"), "--steps", "2", "--val-every", "2", "--val-clips", "1",
                 "--crop", "32", "--depth", "1", "--base-width", "4", "--context", "1", "--margin", "8",
                 "--preset", "growth-coalescence", "--no-tune-postprocess", "--bf16", "--input-pyramid"]) == 0
    model, cfg = load_model(tmp_path / "m")
    training = cfg["training"]
    assert training["margin"] == 8 and training["bf16"] is True and training["input_pyramid"] is True
    assert training["workers"] == 0  # the default on the CPU
    assert model.input_pyramid and cfg["architecture"]["input_pyramid"] is True


@pytest.mark.parametrize(("device", "cores", "expected"), [
    ("cpu", 16, 0), ("cuda", 16, 4), ("cuda:1", 16, 4), ("cuda", 2, 1), ("cuda", 1, 0), ("cuda", None, 0),
])
def test_default_workers(monkeypatch: pytest.MonkeyPatch, device: str, cores: int | None, expected: int) -> None:
    """No batch-making processes on the CPU; on a GPU up to 4, leaving a core to the training loop."""
    import os

    from unet.cli import default_workers

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert default_workers(device) == expected
