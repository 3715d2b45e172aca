"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_lptem"


@pytest.fixture
def real_dir() -> Path:
    """The ten real LPEM frames of ``../shared/data/real_lptem`` (skip when absent)."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"{REAL_DIR} not found")
    return REAL_DIR
