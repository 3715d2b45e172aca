from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from simulator.dataset import read_predictions


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    assert main(["simulate", "--preset", "brownian-prisms", "--frames", "2", "--size", "128", "--videos", "2",
                 "--seed", "7", "--quiet", "--workers", "1", "--out", str(root / "a")]) == 0
    return root


def test_methods_lists_baselines(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("otsu", "li", "sauvola", "niblack"):
        assert name in out


def test_segment_writes_a_prediction_folder(ds):
    assert main(["segment", "--method", "otsu", "--in", str(ds / "a"), "--out", str(ds / "otsu"), "--quiet"]) == 0
    preds = read_predictions(ds / "otsu")
    assert set(preds) == {"video_000", "video_001"} and preds["video_000"].shape == (2, 128, 128)
    manifest = json.loads((ds / "otsu" / "predictions.json").read_text())
    assert manifest["method"] == "otsu" and manifest["params"] == {} and manifest["version"]
    assert main(["segment", "--method", "sauvola", "--params", '{"window_size": 31}', "--in", str(ds / "a"),
                 "--out", str(ds / "sauvola"), "--quiet"]) == 0


def test_segment_module_function_and_real_tiff(ds, tmp_path, monkeypatch):
    (tmp_path / "mypkg_mod.py").write_text(
        "import numpy as np\ndef segment(video, meta):\n    return (video < np.median(video)).astype('int32')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["segment", "--method", "mypkg_mod:segment", "--in", str(ds / "a"), "--out", str(tmp_path / "m"), "--quiet"]) == 0
    tifffile.imwrite(tmp_path / "real.tif", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    assert main(["segment", "--method", "li", "--in", str(tmp_path / "real.tif"), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert read_predictions(tmp_path / "r")["real"].shape == (1, 64, 64)


def test_tune_writes_parameters_segment_accepts(ds, tmp_path):
    out = tmp_path / "p.json"
    assert main(["tune", "--method", "otsu", "--on", str(ds / "a"), "--budget", "3", "--out", str(out), "--quiet"]) == 0
    best = json.loads(out.read_text())
    assert best["method"] == "otsu" and 0 <= best["f1@0.5"] <= 1
    assert main(["segment", "--method", "otsu", "--params", f"@{out}", "--in", str(ds / "a"),
                 "--out", str(tmp_path / "tuned"), "--quiet"]) == 0


@pytest.mark.parametrize("argv,expected", [
    (["segment", "--method", "nope", "--in", "{a}", "--out", "{x}"], "method 'nope' is unknown; valid methods: otsu"),
    (["segment", "--method", "otsu", "--params", "{{bad", "--in", "{a}", "--out", "{x}"], "--params: not valid JSON"),
    (["segment", "--method", "sauvola", "--params", '{{"window_size": 30}}', "--in", "{a}", "--out", "{x}"],
     "parameter window_size = 30"),
    (["segment", "--method", "otsu", "--in", "{x}", "--out", "{x}2"], "no such file or folder"),
])
def test_segment_errors_exit_2_and_write_nothing(ds, argv, expected, capsys, tmp_path):
    argv = [a.format(a=ds / "a", x=tmp_path / "x") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bar
    assert err.startswith("nanoaq: error:") and expected in err
    assert not any(tmp_path.iterdir())
