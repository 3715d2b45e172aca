"""The suite's cache: its stamp ``suite.json`` is written whole, so that a kill cannot leave one
that the next run fails to read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.suite import Task, generate_suite

_TINY = Task("brownian-prisms", 100.0, None, ("video.count=1", "video.frames=1", "video.height_px=32",
                                             "video.width_px=32", "particles.count=1", "particles.size_nm=10"), 5)


def test_the_stamp_is_written_whole_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               renamed: list[Path]) -> None:
    monkeypatch.setattr("benchmark.suite.suite_tasks", lambda tier, split="test": [_TINY])
    suite = generate_suite("quick", root=tmp_path, progress=False)
    stamp = suite.path / "suite.json"
    assert stamp in renamed and json.loads(stamp.read_text())["checksum"] == suite.checksum
    renamed.clear()
    assert generate_suite("quick", root=tmp_path, progress=False) == suite and renamed == []  # from the cache


def test_a_changed_default_names_a_new_suite_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default of the configuration (one every video records in its config.json) changed under a
    cached suite: the suite is generated afresh in a folder of its own, not reused stale."""
    monkeypatch.setattr("benchmark.suite.suite_tasks", lambda tier, split="test": [_TINY])
    before = generate_suite("quick", root=tmp_path, progress=False)
    from benchmark import suite as suite_module

    real = suite_module.load_config

    def changed(name, overrides=()):
        return real(name, overrides=[*overrides, "imaging.haadf_efficiency_per_nm=0.002"])

    monkeypatch.setattr(suite_module, "load_config", changed)
    after = generate_suite("quick", root=tmp_path, progress=False)
    assert after.path != before.path and before.path.is_dir()
    assert after.checksum != before.checksum  # the same frames, another config.json
    assert suite_module.spec_digest([_TINY]) == after.path.name.rsplit("-", 1)[1]
