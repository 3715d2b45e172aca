"""A long video streams to disk: the memory the writer holds stays that of a few frames, not of
the whole video (checked on allocations traced by tracemalloc, never on wall-clock time)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from simulator.config import load_config
from simulator.dataset import open_dataset, write_dataset


def _cfg(frames: int, size: int):
    return load_config("brownian-prisms", overrides=[
        f"video.frames={frames}", f"video.height_px={size}", f"video.width_px={size}", "particles.count=2",
        "particles.size_nm=10", "dynamics.model='static'"])


def _peak_bytes(cfg, out) -> int:
    tracemalloc.start()
    try:
        write_dataset(cfg, out, seed=1, workers=1, progress=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_a_long_video_holds_a_few_frames(tmp_path):
    S = 96
    write_dataset(_cfg(2, S), tmp_path / "warm", seed=1, workers=1, progress=False)  # load the kernels first
    short, long = _peak_bytes(_cfg(60, S), tmp_path / "short"), _peak_bytes(_cfg(240, S), tmp_path / "long")
    video_bytes = 240 * S * S * (2 + 4)  # uint16 frames and uint32 labels
    frame_bytes = S * S * 8  # one float64 frame
    ds = open_dataset(tmp_path / "long")
    assert ds.frames("video_000").shape == (240, S, S)  # the whole video was written
    assert np.array_equal(np.unique(ds.labels("video_000")[-1]), [0, 1, 2])
    assert long < video_bytes / 3, f"peak {long / 2**20:.1f} MiB for a {video_bytes / 2**20:.1f} MiB video"
    # 180 more frames (9.5 MiB of video) cost less than five frames more (the truth table's rows).
    assert long - short < 5 * frame_bytes, f"{(long - short) / 2**20:.2f} MiB more for 180 more frames"
