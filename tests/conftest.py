"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_lptem"


@pytest.fixture
def real_dir() -> Path:
    """The ten real LPEM frames of ``../shared/data/real_lptem`` (skip when absent)."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"{REAL_DIR} not found")
    return REAL_DIR


@pytest.fixture
def renamed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The destinations of every ``os.replace`` during the test, in order: the files that
    ``simulator.outfile.write_atomic`` wrote whole (a file written in place is not among them)."""
    done: list[Path] = []
    replace = os.replace

    def recording(src, dst, *args, **kwargs):
        replace(src, dst, *args, **kwargs)
        done.append(Path(dst))

    monkeypatch.setattr(os, "replace", recording)
    return done
