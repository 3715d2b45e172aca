"""``nanoaq methods``, ``segment`` and ``tune``, run in-process."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from simulator.config import load_config
from simulator.dataset import open_dataset, read_predictions, write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    cfg = load_config("assembly-cubes", overrides=["video.frames=2", "video.height_px=64", "video.width_px=64",
                                                   "video.count=2", "particles.count=3"])
    return write_dataset(cfg, tmp_path_factory.mktemp("data") / "a", seed=1, progress=False)


def test_methods_lists_every_project_method(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("otsu", "sauvola", "niblack", "local", "minimum"))
    assert "module:function" in out


def test_segment_writes_a_prediction_folder(dataset, tmp_path, capsys):
    out = tmp_path / "a_otsu"
    assert main(["segment", "--method", "otsu", "--in", str(dataset), "--out", str(out), "--quiet"]) == 0
    preds = read_predictions(out)
    ds = open_dataset(dataset)
    assert sorted(preds) == ds.video_ids
    assert preds["video_000"].shape == ds.labels("video_000").shape
    manifest = json.loads((out / "predictions.json").read_text())
    assert manifest["method"] == "otsu" and manifest["params"] == {} and manifest["version"]


def test_segment_with_params(dataset, tmp_path):
    out = tmp_path / "a_sauvola"
    assert main(["segment", "--method", "sauvola", "--params", '{"window_size": 31}', "--in", str(dataset),
                 "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "predictions.json").read_text())["params"] == {"window_size": 31}


def test_segment_with_module_function_in_current_folder(dataset, tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg_cli_test"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mymod.py").write_text(textwrap.dedent('''
        import numpy as np

        def segment(video, meta):
            """Every frame one object."""
            return np.ones(np.shape(video), np.int32)
    '''))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    out = tmp_path / "a_mine"
    assert main(["segment", "--method", "mypkg_cli_test.mymod:segment", "--in", str(dataset), "--out", str(out),
                 "--quiet"]) == 0
    assert all((v == 1).all() for v in read_predictions(out).values())
    for name in [m for m in sys.modules if m.startswith("mypkg_cli_test")]:
        del sys.modules[name]


@pytest.mark.parametrize("argv, message", [
    (["--method", "nope"], "unknown method 'nope'; valid methods: otsu, li"),
    (["--method", "sauvola", "--params", '{"window_size": 30}'], "parameter 'window_size' = 30 is not allowed"),
    (["--method", "otsu", "--params", "{oops"], "--params: not valid JSON"),
])
def test_segment_user_errors_exit_2(dataset, tmp_path, capsys, argv, message):
    out = tmp_path / "x"
    assert main(["segment", *argv, "--in", str(dataset), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nanoaq: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_segment_help_warns_about_arbitrary_code(capsys):
    with pytest.raises(SystemExit):
        main(["segment", "--help"])
    assert "arbitrary code" in capsys.readouterr().out


def _tiff_frames(rng, n=3, size=40):
    frames = np.full((n, size, size), 200, np.uint16)
    frames[:, 10:20, 10:20] = 60
    return rng.poisson(frames).astype(np.uint16)


def test_segment_folder_of_tif_frames_and_multiframe_tiff(tmp_path):
    frames = _tiff_frames(np.random.default_rng(0))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames):  # ImageJ resolution: 500 px/µm = 2 nm/px
        tifffile.imwrite(folder / f"{i:03d}.tif", f, imagej=True, resolution=(500, 500),
                         metadata={"unit": "micron"})
    assert main(["segment", "--method", "otsu", "--in", str(folder), "--out", str(tmp_path / "p1"), "--quiet"]) == 0
    labels = read_predictions(tmp_path / "p1")["frames"]
    assert labels.shape == frames.shape and all(lab.max() == 1 for lab in labels)
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, frames, photometric="minisblack")
    # no pixel size in a plain TIFF: a one-line error, then the option
    assert main(["segment", "--method", "otsu", "--in", str(stack), "--out", str(tmp_path / "p2"), "--quiet"]) == 2
    assert main(["segment", "--method", "otsu", "--in", str(stack), "--out", str(tmp_path / "p2"), "--quiet",
                 "--pixel-size-nm", "2"]) == 0
    np.testing.assert_array_equal(read_predictions(tmp_path / "p2")["stack"], labels)


def test_tune_writes_params_segment_accepts(dataset, tmp_path, capsys):
    params = tmp_path / "params.json"
    assert main(["tune", "--method", "otsu", "--on", str(dataset), "--out", str(params), "--budget", "2",
                 "--quiet"]) == 0
    assert "best F1@0.5" in capsys.readouterr().out
    assert isinstance(json.loads(params.read_text()), dict)
    assert main(["segment", "--method", "otsu", "--params", f"@{params}", "--in", str(dataset),
                 "--out", str(tmp_path / "tuned"), "--quiet"]) == 0


def test_tune_refuses_an_out_in_a_missing_folder_before_searching(dataset, tmp_path, capsys, monkeypatch):
    def search(*args, **kwargs):
        raise AssertionError("the search ran before --out was checked")

    monkeypatch.setattr("baselines.tune.tune", search)
    out = tmp_path / "no" / "p.json"
    assert main(["tune", "--method", "otsu", "--on", str(dataset), "--out", str(out), "--quiet"]) == 2
    assert f"folder {out.parent} does not exist" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.slow
def test_segment_real_frames(real_dir, tmp_path):
    assert main(["segment", "--method", "otsu", "--in", str(real_dir), "--out", str(tmp_path / "real"),
                 "--quiet"]) == 0
    labels = read_predictions(tmp_path / "real")["real_lptem"]
    assert labels.shape == (10, 1024, 1024) and all(lab.max() > 0 for lab in labels)
