"""`nanoaq` simulator commands, in-process, as written in the issue."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tifffile

from benchmark.cli import main
from simulator.config import list_presets


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    args = ["simulate", "--preset", "brownian-prisms", "--frames", "3", "--size", "128", "--videos", "2",
            "--seed", "7", "--quiet"]
    assert main(args + ["--out", str(root / "a")]) == 0
    return root


def test_presets_lists_every_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in list_presets():
        assert name in out


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    assert "imaging" in json.loads(capsys.readouterr().out)["properties"]


def test_same_seed_identical_bytes(small):
    args = ["simulate", "--preset", "brownian-prisms", "--frames", "3", "--size", "128", "--videos", "2",
            "--seed", "7", "--quiet"]
    assert main(args + ["--out", str(small / "b")]) == 0
    assert _tree_bytes(small / "a") == _tree_bytes(small / "b")


def test_empty_ideal_video_is_pure_poisson(tmp_path):
    assert main(["simulate", "--preset", "brownian-prisms", "--set", "detector.model=ideal",
                 "--set", "particles.count=0", "--frames", "2", "--size", "64", "--quiet",
                 "--out", str(tmp_path / "c")]) == 0
    labels = tifffile.imread(tmp_path / "c" / "video_000" / "labels.ome.tif")
    assert labels.shape == (2, 64, 64) and not labels.any()


def test_info_and_verify(small, capsys):
    assert main(["info", str(small / "a")]) == 0
    out = capsys.readouterr().out
    assert "2 video(s)" in out and "video_001" in out
    assert main(["verify", str(small / "a")]) == 0


def test_preview_png(small, tmp_path):
    assert main(["preview", str(small / "a"), "--out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_export_ctc_gt_against_itself_is_perfect(small):
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    out = small / "ctc"
    assert main(["export-ctc", str(small / "a"), "--out", str(out), "--with-result"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01", "01_GT", "01_RES", "02", "02_GT", "02_RES"]
    assert len(list((out / "01").glob("t*.tif"))) == 3
    res = evaluate_sequence(str(out / "01_RES"), str(out / "01_GT"), ["SEG", "DET", "TRA"], threads=1)
    assert res["SEG"] == pytest.approx(1.0) and res["DET"] == pytest.approx(1.0) and res["TRA"] == pytest.approx(1.0)


def test_export_ctc_leaves_nothing_behind_on_a_corrupt_video(small, tmp_path, capsys):
    """The second video's table is corrupt: exit 2, and neither the layout nor its .partial remain."""
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(small / "a", bad)
    with (bad / "video_001" / "particles.csv").open("ab") as fh:
        fh.write(b"x")
    out = tmp_path / "ctc"
    assert main(["export-ctc", str(bad), "--out", str(out)]) == 2
    assert "video_001" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["simulate", "--preset", "nope", "--out", "X"], "preset 'nope' does not exist; valid presets:"),
        (["simulate", "--set", "particles.count=-3", "--out", "X"], "particles.count = -3"),
        (["simulate", "--frames", "0", "--out", "X"], "video.frames = 0"),
        (["simulate"], "the following arguments are required: --out"),
        (["info", "NOWHERE"], "NOWHERE: no such dataset folder"),
        (["bogus-command"], "invalid choice: 'bogus-command'"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanoaq: error:") and "\n" not in err and expected in err, err
    assert not (tmp_path / "X").exists() and not (tmp_path / "X.partial").exists()


def test_console_script_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli", "simulate", "--preset", "nope",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
