"""What a method segments: the videos of a dataset, or recorded frames (a multi-frame TIFF, or a
folder of single-frame TIFFs taken in name order as one video)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simulator.errors import DatasetError, UserError
from simulator.video import VideoMeta

__all__ = ["open_input"]

_TIFF_SUFFIXES = (".tif", ".tiff")

Loader = Callable[[str], tuple[np.ndarray, VideoMeta]]


def _tiff_meta(path: Path, shape: tuple[int, ...], *, video_id: str, mode: str | None,
               pixel_size_nm: float | None, frame_interval_s: float | None) -> VideoMeta:
    from simulator.tiffio import tiff_info

    phys = tiff_info(path)[2]
    pixel = pixel_size_nm if pixel_size_nm is not None else phys.get("pixel_size_nm")
    if pixel is None:
        raise UserError(f"{path}: no pixel size in the TIFF metadata; give it (--pixel-size-nm)")
    interval = frame_interval_s if frame_interval_s is not None else phys.get("frame_interval_s", 1.0)
    for name, value, option in (("pixel size", pixel, "--pixel-size-nm"), ("frame interval", interval,
                                                                          "--frame-interval-s")):
        if not (math.isfinite(value) and value > 0):  # only the file's own values can be bad here
            raise DatasetError(f"{path}: {name} {value} in the TIFF metadata: expected a positive number "
                               f"(give it with {option})")
    return VideoMeta(video_id=video_id, shape=tuple(int(s) for s in shape), pixel_size_nm=float(pixel),
                     frame_interval_s=float(interval), mode=mode or "bright-field")


def open_input(
    path: str | Path,
    *,
    mode: str | None = None,
    pixel_size_nm: float | None = None,
    frame_interval_s: float | None = None,
    max_gb: float = 4.0,
) -> tuple[list[str], Loader]:
    """Video ids and a loader ``video_id -> (frames (T, Y, X), meta)`` for a segmentation input.

    Parameters
    ----------
    path : a dataset folder, a folder of single-frame ``.tif`` files (one video, frames in name
        order, its id the folder's name) or one multi-frame TIFF (one video, its id the file's
        name without suffixes)
    mode : ``"bright-field"`` or ``"haadf"``; overrides a dataset's, default bright-field for TIFFs
    pixel_size_nm, frame_interval_s : for TIFFs, override (or supply) the file's metadata
    max_gb : refuse a TIFF declaring more than this many GiB

    Raises
    ------
    DatasetError
        Nothing segmentable at ``path``, frames of different shapes, or a broken file.
    UserError
        ``pixel_size_nm`` or ``frame_interval_s`` given but not a positive finite number.
    """
    from simulator.dataset import open_dataset
    from simulator.tiffio import read_tiff

    for option, value, unit in (("--pixel-size-nm", pixel_size_nm, "nm"),
                                 ("--frame-interval-s", frame_interval_s, "s")):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{option} {value}: expected a positive finite number of {unit}")
    path = Path(path)
    tiff_kw = dict(mode=mode, pixel_size_nm=pixel_size_nm, frame_interval_s=frame_interval_s)
    if path.is_dir() and (path / "dataset.json").is_file():
        ds = open_dataset(path)

        def load(vid: str) -> tuple[np.ndarray, VideoMeta]:
            meta = ds.meta(vid)
            return ds.frames(vid, max_gb=max_gb), dataclasses.replace(meta, mode=mode) if mode else meta

        return ds.video_ids, load
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _TIFF_SUFFIXES and p.is_file())
        if not files:
            raise DatasetError(f"{path}: neither a dataset (no dataset.json) nor a folder of .tif frames")

        def load_folder(vid: str) -> tuple[np.ndarray, VideoMeta]:
            frames = [read_tiff(f, max_gb=max_gb) for f in files]
            for f, fr in zip(files, frames):
                if fr.ndim != 2 or fr.shape != frames[0].shape:
                    raise DatasetError(f"{f}: frame of shape {fr.shape}, expected {frames[0].shape} like {files[0].name}")
            video = np.stack(frames)
            return video, _tiff_meta(files[0], video.shape, video_id=vid, **tiff_kw)

        return [path.name], load_folder
    if path.is_file() and path.suffix.lower() in _TIFF_SUFFIXES:

        def load_file(vid: str) -> tuple[np.ndarray, VideoMeta]:
            video = read_tiff(path, max_gb=max_gb)
            video = video[None] if video.ndim == 2 else video
            if video.ndim != 3:
                raise DatasetError(f"{path}: shape {video.shape}, expected frames (T, Y, X)")
            return video, _tiff_meta(path, video.shape, video_id=vid, **tiff_kw)

        return [path.name.split(".")[0]], load_file
    raise DatasetError(f"{path}: no such dataset folder, folder of .tif frames or TIFF file")
