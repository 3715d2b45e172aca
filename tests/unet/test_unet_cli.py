"""``nanoaq train`` argument errors are one-line user errors (exit status 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main


@pytest.mark.parametrize(("extra", "message"), [
    (["--preset", "nope"], "--preset 'nope' is unknown"),
    (["--device", "tpu"], "--device 'tpu'"),
    (["--crop", "100"], "crop a multiple"),
])
def test_train_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    assert main(["train", "--out", str(tmp_path / "m"), "--steps", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()
