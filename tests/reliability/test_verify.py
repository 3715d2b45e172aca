"""``nanoaq verify`` names every file of a dataset or prediction folder that differs from its
manifest or breaks the schema: one flipped byte in any file is found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from simulator.config import load_config
from simulator.dataset import open_dataset, sha256_file, write_dataset, write_predictions

DATASET_FILES = ["video.ome.tif", "labels.ome.tif", "particles.csv", "tracks.csv", "events.csv", "config.json"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("verify")
    cfg = load_config("brownian-prisms", overrides=["video.frames=2", "video.height_px=32", "video.width_px=32",
                                                    "video.count=2", "particles.count=1"])
    ds = write_dataset(cfg, root / "ds", seed=9, workers=1, progress=False)
    d = open_dataset(ds)
    pred = write_predictions(root / "pred", ((v, d.labels(v)) for v in d.video_ids), method="truth", params={},
                             version="0", dataset_checksum=d.checksum)
    return {"ds": ds, "pred": pred}


def _verify(folder: Path, capsys) -> tuple[int, list[str], str]:
    code = main(["verify", str(folder)])
    cap = capsys.readouterr()
    return code, cap.out.splitlines(), cap.err


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _rewrite(folder: Path, manifest: str, video: str, name: str, array: np.ndarray) -> Path:
    """Replace a TIFF by ``array`` and record its new sha256, so that only the schema check can fail."""
    path = folder / video / name
    path.unlink()
    tifffile.imwrite(path, array)
    data = json.loads((folder / manifest).read_text())
    next(v for v in data["videos"] if v["id"] == video)["files"][name] = sha256_file(path)
    (folder / manifest).write_text(json.dumps(data))
    return path


def test_intact_folders_pass(folders, capsys):
    for kind in ("ds", "pred"):
        code, out, err = _verify(folders[kind], capsys)
        assert code == 0 and err == "" and out[-1].endswith("all files match the manifest and schema")


@pytest.mark.parametrize("name", DATASET_FILES + ["potential.csv"])
def test_one_flipped_byte_in_any_dataset_file_is_named(name, folders, tmp_path, capsys):
    ds = shutil.copytree(folders["ds"], tmp_path / "ds")
    if not (ds / "video_001" / name).is_file():
        pytest.skip(f"this preset writes no {name}")
    _flip(ds / "video_001" / name)
    code, out, err = _verify(ds, capsys)
    assert code == 2
    assert out == [f"{ds / 'video_001' / name}: sha256 differs from the manifest"]
    assert err.count("\n") == 1 and err.startswith(f"nanoaq: error: {ds}: 1 file(s) of the dataset fail")


def test_one_flipped_byte_in_a_prediction_is_named(folders, tmp_path, capsys):
    pred = shutil.copytree(folders["pred"], tmp_path / "pred")
    _flip(pred / "video_000" / "labels.ome.tif")
    code, out, err = _verify(pred, capsys)
    assert code == 2 and out == [f"{pred / 'video_000' / 'labels.ome.tif'}: sha256 differs from the manifest"]
    assert "1 file(s) of the predictions fail" in err


def test_every_failing_file_is_listed(folders, tmp_path, capsys):
    ds = shutil.copytree(folders["ds"], tmp_path / "ds")
    _flip(ds / "video_000" / "labels.ome.tif")
    (ds / "video_001" / "tracks.csv").unlink()
    _flip(ds / "video_001" / "video.ome.tif")
    code, out, err = _verify(ds, capsys)
    assert code == 2 and sorted(out) == sorted([
        f"{ds / 'video_000' / 'labels.ome.tif'}: sha256 differs from the manifest",
        f"{ds / 'video_001' / 'tracks.csv'}: missing",
        f"{ds / 'video_001' / 'video.ome.tif'}: sha256 differs from the manifest",
    ])
    assert "3 file(s)" in err


def test_schema_shape_and_dtype_are_checked(folders, tmp_path, capsys):
    ds = shutil.copytree(folders["ds"], tmp_path / "ds")
    path = _rewrite(ds, "dataset.json", "video_000", "labels.ome.tif", np.zeros((3, 32, 32), np.uint32))
    code, out, _ = _verify(ds, capsys)
    assert code == 2 and out == [f"{path}: shape [3, 32, 32], expected [2, 32, 32] (T, Y, X) as in dataset.json"]

    pred = shutil.copytree(folders["pred"], tmp_path / "pred")
    path = _rewrite(pred, "predictions.json", "video_001", "labels.ome.tif", np.zeros((2, 32, 32), np.float32))
    code, out, _ = _verify(pred, capsys)
    assert code == 2 and out == [f"{path}: dtype float32, expected uint8 or uint16 or uint32 or uint64 or int8 or "
                                 "int16 or int32 or int64"]


def test_unlisted_prediction_video_is_named(folders, tmp_path, capsys):
    pred = shutil.copytree(folders["pred"], tmp_path / "pred")
    shutil.copytree(pred / "video_000", pred / "video_009")
    code, out, _ = _verify(pred, capsys)
    assert code == 2 and out == [f"{pred / 'video_009'}: video folder not listed in predictions.json"]


def test_a_folder_without_either_manifest_is_refused(tmp_path, capsys):
    code, out, err = _verify(tmp_path, capsys)
    assert code == 2 and "neither dataset.json (a dataset) nor predictions.json (a prediction folder)" in err
