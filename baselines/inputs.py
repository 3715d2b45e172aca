"""What a method segments: the videos of a dataset, or recorded frames (a multi-frame TIFF, or a
folder of single-frame TIFFs taken in name order as one video)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from simulator.dataset import open_dataset
from simulator.errors import DatasetError
from simulator.tiffio import read_tiff, tiff_info
from simulator.video import VideoMeta

__all__ = ["iter_inputs"]


def _real_video(files: list[Path], *, mode: str, pixel_size_nm: float | None, max_gb: float) -> tuple[np.ndarray, VideoMeta]:
    frames = [read_tiff(f, max_gb=max_gb) for f in files]
    if len({f.shape for f in frames}) != 1:
        raise DatasetError(f"{files[0].parent}: frames of different shapes {sorted({f.shape for f in frames})}")
    video = np.concatenate([f[None] if f.ndim == 2 else f for f in frames])
    if video.ndim != 3:
        raise DatasetError(f"{files[0]}: shape {frames[0].shape}; expected (Y, X) frames or a (T, Y, X) stack")
    _, _, phys = tiff_info(files[0])
    p = pixel_size_nm or phys.get("pixel_size_nm", 1.0)
    meta = VideoMeta(video_id=files[0].stem if len(files) == 1 else files[0].parent.name, shape=video.shape,
                     pixel_size_nm=float(p), frame_interval_s=float(phys.get("frame_interval_s", 1.0)), mode=mode)
    return video, meta


def iter_inputs(path: str | Path, *, mode: str = "bright-field", pixel_size_nm: float | None = None,
                max_gb: float = 4.0) -> Iterator[tuple[str, np.ndarray, VideoMeta]]:
    """Yield ``(video_id, frames (T, Y, X), meta)`` for a dataset folder, a TIFF, or a folder of TIFFs."""
    path = Path(path)
    if (path / "dataset.json").is_file():
        ds = open_dataset(path)
        for vid in ds.video_ids:
            yield vid, ds.frames(vid, max_gb=max_gb), ds.meta(vid)
        return
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
        if not files:
            raise DatasetError(f"{path}: neither a dataset (no dataset.json) nor a folder of .tif frames")
    else:
        raise DatasetError(f"{path}: no such file or folder")
    video, meta = _real_video(files, mode=mode, pixel_size_nm=pixel_size_nm, max_gb=max_gb)
    yield meta.video_id, video, meta
