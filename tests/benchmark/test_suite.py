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
