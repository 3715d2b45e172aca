"""Scoring Cell Tracking Challenge result folders (maskNNN.tif + res_track.txt), and naming bad ones."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from benchmark.results import load_results
from benchmark.score import read_ctc_result
from benchmark.tracking import _write_ctc
from simulator.dataset import open_dataset
from simulator.errors import DatasetError


@pytest.fixture(scope="module")
def gt(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctcgt")
    assert main(["simulate", "--preset", "brownian-prisms", "--frames", "3", "--size", "96", "--videos", "2",
                 "--quiet", "--workers", "1", "--out", str(root / "gt")]) == 0
    return root / "gt"


def test_ctc_result_folders_score_like_the_truth(gt, tmp_path):
    ds = open_dataset(gt)
    pred = tmp_path / "pred"
    for vid in ds.video_ids:
        _write_ctc(pred / vid, ds.read_video(vid).labels.astype(np.int64), gt=False)
    assert main(["score", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "r.json"), "--quiet"]) == 0
    res = load_results(tmp_path / "r.json")[0]
    for v in res.videos:
        for name in ("f1@0.5", "seg", "det", "tra"):
            if v.metrics[name] is not None:
                assert v.metrics[name] == pytest.approx(1.0), (v.video_id, name)
        assert not v.tracks_linked
    np.testing.assert_array_equal(read_ctc_result(pred / ds.video_ids[0]), ds.read_video(ds.video_ids[0]).labels)


def test_bad_ctc_folders_are_named(tmp_path):
    folder = tmp_path / "01_RES"
    folder.mkdir()
    with pytest.raises(DatasetError, match="no maskNNN.tif"):
        read_ctc_result(folder)
    for t in (0, 2):
        tifffile.imwrite(folder / f"mask{t:03d}.tif", np.ones((8, 8), np.uint16))
    with pytest.raises(DatasetError, match="frame 1: mask001.tif is missing"):
        read_ctc_result(folder)
    tifffile.imwrite(folder / "mask001.tif", np.ones((8, 9), np.uint16))
    with pytest.raises(DatasetError, match="frame 1: shape"):
        read_ctc_result(folder)
    tifffile.imwrite(folder / "mask001.tif", np.ones((8, 8), np.uint16))
    (folder / "res_track.txt").write_text("1 0 2 0\n7 0 1\n")
    with pytest.raises(DatasetError, match="line 2"):
        read_ctc_result(folder)
    (folder / "res_track.txt").write_text("1 0 2 0\n7 0 1 0\n")
    with pytest.raises(DatasetError, match="line 2: track 7"):
        read_ctc_result(folder)
    (folder / "res_track.txt").write_text("1 0 2 0\n")
    assert read_ctc_result(folder).shape == (3, 8, 8)


def test_score_exits_2_on_a_bad_ctc_folder(gt, tmp_path, capsys):
    ds = open_dataset(gt)
    pred = tmp_path / "pred"
    for vid in ds.video_ids:
        _write_ctc(pred / vid, ds.read_video(vid).labels.astype(np.int64), gt=False)
    (pred / ds.video_ids[1] / "mask001.tif").unlink()
    capsys.readouterr()
    assert main(["score", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "r.json"), "--quiet"]) == 2
    assert f"{ds.video_ids[1]}, frame 1: mask001.tif is missing" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
