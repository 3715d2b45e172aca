"""The bytes of a dataset do not depend on how many processes (or Dask workers) wrote it."""

from __future__ import annotations

import pytest

from simulator.config import load_config
from simulator.dataset import write_dataset


def _cfg():
    return load_config("brownian-prisms", overrides=[
        "video.count=3", "video.frames=2", "video.height_px=64", "video.width_px=64", "particles.count=3", "particles.size_nm=10"])


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_processes_write_the_same_bytes_as_one(tmp_path):
    serial = write_dataset(_cfg(), tmp_path / "serial", seed=11, workers=1, progress=False)
    parallel = write_dataset(_cfg(), tmp_path / "parallel", seed=11, workers=2, progress=False)
    assert _tree_bytes(serial) == _tree_bytes(parallel)


@pytest.mark.slow
def test_dask_local_cluster_writes_the_same_bytes(tmp_path):
    pytest.importorskip("dask.distributed")
    serial = write_dataset(_cfg(), tmp_path / "serial", seed=11, workers=1, progress=False)
    dask = write_dataset(_cfg(), tmp_path / "dask", seed=11, workers=2, dask="local", progress=False)
    assert _tree_bytes(serial) == _tree_bytes(dask)
