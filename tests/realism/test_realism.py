"""Realism scores (benchmark.realism) and the calibrate/simulate/realism commands."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.realism import frame_statistics, realism_scores
from simulator.dataset import open_dataset, sha256_file


def test_identical_sets_score_zero_and_scaled_noise_scores_its_log() -> None:
    rng = np.random.default_rng(0)
    a = 100 + 5 * rng.standard_normal((2, 128, 128))
    b = 100 + 50 * rng.standard_normal((2, 128, 128))
    sa = frame_statistics(a)
    same = realism_scores(sa, sa)
    assert same["nps_log_rms"] == 0 and same["wasserstein_relative"] == 0 and same["ks_relative"] == 0
    far = realism_scores(sa, frame_statistics(b))
    assert far["nps_log_rms"] == pytest.approx(2.0, abs=0.1)  # 10x the amplitude: 100x the power
    assert far["ks_relative"] > 0.3


def test_a_spectrum_without_any_estimate_scores_nan_quietly() -> None:
    """Bands without an estimate are left out of the RMS; with none at all it is NaN, with no
    "mean of empty slice" warning (the bands of a tiny frame)."""
    rng = np.random.default_rng(1)
    sa = frame_statistics(100 + 5 * rng.standard_normal((2, 128, 128)))
    half = dict(sa, nps_relative=np.where(sa["freq"] < 0.25, sa["nps_relative"], np.nan))
    assert realism_scores(half, half)["nps_log_rms"] == 0
    empty = dict(sa, nps_relative=np.full_like(sa["nps_relative"], np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(realism_scores(empty, sa)["nps_log_rms"])


def test_real_frames_look_more_real_after_calibration(real_dir, tmp_path, capsys) -> None:
    frames = [str(real_dir / "000.tif"), str(real_dir / "135.tif")]
    calib = tmp_path / "calib.json"
    assert main(["calibrate", *frames, "--out", str(calib)]) == 0
    saved = json.loads(calib.read_text())
    assert saved["saturation_level"] == 255 and saved["pixel_size_nm"] == pytest.approx(1.727, abs=1e-3)
    assert saved["photon_transfer"] is None and saved["mtf_method"] == "single-level"
    out = tmp_path / "realism"
    assert main(["realism", "--real", *frames, "--calibration", str(calib), "--out", str(out),
                 "--size", "256", "--frames", "1"]) == 0
    scores = json.loads((out / "realism.json").read_text())["scores"]
    before, after = scores["before"], scores["after"]
    assert after["nps_log_rms"] < before["nps_log_rms"] / 3
    assert after["wasserstein_relative"] < before["wasserstein_relative"]
    assert after["ks_relative"] < before["ks_relative"]
    assert after["wasserstein_counts"] < before["wasserstein_counts"]
    for name in ("montage.png", "nps.png", "histogram.png", "index.md"):
        assert (out / name).stat().st_size > 0


def test_realism_writes_its_folder_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    import tifffile

    import benchmark.realism

    tifffile.imwrite(tmp_path / "f.tif", np.random.default_rng(0).integers(90, 110, (64, 64), dtype=np.uint16))
    args = dict(size=64, frames=1, overrides=["particles.count=1"])
    out = tmp_path / "rep"

    def fail(folder, *rest):
        (folder / "montage.png").write_bytes(b"half")
        raise RuntimeError("plotting failed")

    with monkeypatch.context() as m:
        m.setattr(benchmark.realism, "_plots", fail)
        with pytest.raises(RuntimeError, match="plotting failed"):
            benchmark.realism.realism([tmp_path / "f.tif"], out, **args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif"]
    # into an existing folder (here the current one, `--out .`): the report's files are added, the others kept
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    monkeypatch.chdir(out)
    benchmark.realism.realism([tmp_path / "f.tif"], ".", **args)
    assert sorted(p.name for p in out.iterdir()) == ["histogram.png", "index.md", "montage.png", "notes.txt", "nps.png",
                                                     "realism.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif", "rep"]


def test_simulate_with_calibration_option(real_dir, tmp_path) -> None:
    calib = tmp_path / "calib.json"
    assert main(["calibrate", str(real_dir / "060.tif"), "--out", str(calib)]) == 0
    assert main(["simulate", "--calibration", str(calib), "--frames", "1", "--size", "128", "--videos", "1",
                 "--quiet", "--out", str(tmp_path / "ds")]) == 0
    video = open_dataset(tmp_path / "ds").read_video("video_000")
    assert video.frames.max() <= 255  # clipped where the real frames clip
    assert video.config["detector"]["calibration"] == str(calib)
    # the dataset records the calibration itself, not only its path ...
    recorded = json.loads((tmp_path / "ds" / "video_000" / "config.json").read_text())["calibration"]
    assert recorded["sha256"] == sha256_file(calib)
    assert recorded["contents"] == json.loads(calib.read_text())
    # ... so the same command with a changed calib.json is another dataset, not the finished one
    changed = json.loads(calib.read_text())
    changed["read_noise"] = (changed["read_noise"] or 0.0) + 1.0
    calib.write_text(json.dumps(changed))
    assert main(["simulate", "--calibration", str(calib), "--frames", "1", "--size", "128", "--videos", "1",
                 "--quiet", "--out", str(tmp_path / "ds")]) == 2
