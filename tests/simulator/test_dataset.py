"""The dataset writer's mechanics (atomic, resumable, reproducible, checked on read).

A small stand-in for :class:`simulator.simulate.Simulation` keeps these tests about the disk
format; the real renderer is tested end to end in ``test_simulate_dataset.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

import simulator.simulate
from simulator.config import validate_config
from simulator.dataset import open_dataset, read_predictions, video_seeds, write_dataset, write_predictions
from simulator.errors import DatasetError, UserError
from simulator.video import VideoMeta


@dataclass
class _Out:
    image: np.ndarray
    labels: np.ndarray
    particles: list
    events: list


class _FakeSimulation:
    calls = 0
    fail_at: int | None = None

    def __init__(self, config, *, seed, video_id):
        v = config.video
        self.rng = np.random.default_rng(seed)
        self.meta = VideoMeta(video_id=video_id, shape=(v.frames, v.height_px, v.width_px),
                              pixel_size_nm=config.imaging.pixel_size_nm,
                              frame_interval_s=config.imaging.frame_interval_s, seed=seed)
        self.tracks = [{"id": 1, "first_frame": 0, "last_frame": v.frames - 1, "parents": ""}]
        self.potential = None

    def frames(self):
        T, Y, X = self.meta.shape
        for t in range(T):
            type(self).calls += 1
            if type(self).fail_at is not None and type(self).calls == type(self).fail_at:
                raise KeyboardInterrupt  # stands in for SIGKILL halfway through a video
            labels = np.zeros((Y, X), np.uint32)
            labels[2:6, 2:6] = 1
            yield _Out(self.rng.poisson(100, (Y, X)).astype(np.uint16), labels,
                       [{"frame": t, "id": 1, "x_nm": 4.0, "y_nm": 4.0}], [])


@pytest.fixture
def fake(monkeypatch):
    _FakeSimulation.calls = 0
    _FakeSimulation.fail_at = None
    monkeypatch.setattr(simulator.simulate, "Simulation", _FakeSimulation, raising=False)
    return _FakeSimulation


def _cfg(count=3, frames=4):
    return validate_config({"video": {"count": count, "frames": frames, "height_px": 16, "width_px": 16}})


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_manifest_and_read_back(fake, tmp_path):
    out = write_dataset(_cfg(), tmp_path / "ds", seed=7, workers=1, progress=False)
    ds = open_dataset(out)
    assert ds.video_ids == ["video_000", "video_001", "video_002"]
    assert ds.manifest["schema_version"] == 1
    names = set(ds.manifest["videos"][0]["files"])
    assert names == {"video.ome.tif", "labels.ome.tif", "particles.csv", "tracks.csv", "events.csv", "config.json"}
    v = ds.read_video("video_001")
    assert v.frames.shape == (4, 16, 16) and v.frames.dtype == np.uint16
    assert v.labels.dtype == np.uint32 and v.labels[0, 3, 3] == 1
    assert v.particles[0] == {"frame": 0, "id": 1, "x_nm": 4.0, "y_nm": 4.0}
    assert v.meta.seed == video_seeds(7, 3)[1]
    assert ds.verify() == []
    assert not (tmp_path / "ds.partial").exists()


def test_same_seed_same_bytes_other_seed_other_bytes(fake, tmp_path):
    a = _tree_bytes(write_dataset(_cfg(), tmp_path / "a", seed=7, workers=1, progress=False))
    b = _tree_bytes(write_dataset(_cfg(), tmp_path / "b", seed=7, workers=1, progress=False))
    c = _tree_bytes(write_dataset(_cfg(), tmp_path / "c", seed=8, workers=1, progress=False))
    assert a == b
    assert a["video_000/video.ome.tif"] != c["video_000/video.ome.tif"]


def test_video_bytes_do_not_depend_on_video_count(fake, tmp_path):
    a = _tree_bytes(write_dataset(_cfg(count=2), tmp_path / "a", seed=1, workers=1, progress=False))
    b = _tree_bytes(write_dataset(_cfg(count=3), tmp_path / "b", seed=1, workers=1, progress=False))
    assert a["video_001/video.ome.tif"] == b["video_001/video.ome.tif"]


def test_interrupted_run_resumes_to_identical_bytes(fake, tmp_path):
    ref = _tree_bytes(write_dataset(_cfg(), tmp_path / "ref", seed=3, workers=1, progress=False))
    fake.calls, fake.fail_at = 0, 6  # dies in the middle of the second video
    with pytest.raises(KeyboardInterrupt):
        write_dataset(_cfg(), tmp_path / "ds", seed=3, workers=1, progress=False)
    assert not (tmp_path / "ds").exists()
    partial = tmp_path / "ds.partial"
    assert (partial / "video_000").is_dir() and not (partial / "video_001").exists()
    fake.calls, fake.fail_at = 0, None
    write_dataset(_cfg(), tmp_path / "ds", seed=3, workers=1, progress=False)
    assert fake.calls == 2 * 4  # the finished video was kept, not rendered again
    assert _tree_bytes(tmp_path / "ds") == ref


def test_existing_output_is_not_overwritten(fake, tmp_path):
    (tmp_path / "ds").mkdir()
    with pytest.raises(UserError, match="already exists"):
        write_dataset(_cfg(), tmp_path / "ds", seed=1, workers=1, progress=False)


def test_verify_names_a_flipped_byte(fake, tmp_path):
    ds = open_dataset(write_dataset(_cfg(count=1), tmp_path / "ds", seed=1, workers=1, progress=False))
    path = tmp_path / "ds" / "video_000" / "particles.csv"
    data = bytearray(path.read_bytes())
    data[-2] ^= 1
    path.write_bytes(bytes(data))
    assert ds.verify() == [f"{path}: sha256 differs from the manifest"]


@pytest.mark.parametrize("bad_id", ["../escape", "/etc", "a/b"])
def test_manifest_paths_cannot_escape(fake, tmp_path, bad_id):
    out = write_dataset(_cfg(count=1), tmp_path / "ds", seed=1, workers=1, progress=False)
    manifest = json.loads((out / "dataset.json").read_text())
    manifest["videos"][0]["id"] = bad_id
    (out / "dataset.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="not a plain name inside the dataset"):
        open_dataset(out)


def test_link_pointing_outside_is_refused(fake, tmp_path):
    out = write_dataset(_cfg(count=1), tmp_path / "ds", seed=1, workers=1, progress=False)
    (tmp_path / "elsewhere").mkdir()
    (out / "video_000" / "events.csv").unlink()
    (out / "video_000" / "events.csv").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match="link pointing outside"):
        open_dataset(out)


def test_open_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        open_dataset(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="no dataset.json"):
        open_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text("{")
    with pytest.raises(DatasetError, match="not valid JSON"):
        open_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text('{"schema_version": 9}')
    with pytest.raises(DatasetError, match="schema_version must be 1"):
        open_dataset(tmp_path)


def test_predictions_round_trip_and_errors(tmp_path):
    labels = np.zeros((2, 8, 8), np.int32)
    labels[:, 1:3, 1:3] = 5
    out = write_predictions(tmp_path / "pred", [("video_000", labels)], method="m", params={"a": 1}, version="1")
    got = read_predictions(out)
    np.testing.assert_array_equal(got["video_000"], labels)
    assert json.loads((out / "predictions.json").read_text())["method"] == "m"
    with pytest.raises(DatasetError, match="video v: returned float64"):
        write_predictions(tmp_path / "p2", [("v", labels.astype(float))], method="m", params={}, version="1")
    assert not (tmp_path / "p2").exists()
    with pytest.raises(DatasetError, match="negative labels"):
        write_predictions(tmp_path / "p3", [("v", -labels)], method="m", params={}, version="1")
