"""Reading and writing TIFF stacks safely.

Writing produces OME-TIFF with the pixel size (nm) and frame interval (s) in the OME metadata,
streamed frame by frame, byte-reproducible (a UUID derived from the content's name, a fixed
creator).  Reading checks the declared size against a limit *before* allocating, and turns a
truncated or corrupt file into a one-line :class:`~simulator.errors.DatasetError`.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import tifffile

from .errors import DatasetError

__all__ = ["read_tiff", "write_ome_tiff", "tiff_info"]

_CREATOR = "nanoaquarium"


def write_ome_tiff(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype | type,
    pixel_size_nm: float,
    frame_interval_s: float,
) -> None:
    """Stream frames ``(Y, X)`` into an OME-TIFF of shape ``(T, Y, X)``.

    Parameters
    ----------
    path : file to write (overwritten)
    frames : iterable of (Y, X) arrays, exactly ``shape[0]`` of them
    shape : (T, Y, X)
    dtype : numpy dtype of every frame
    pixel_size_nm : pixel size (nm), written as OME PhysicalSizeX/Y
    frame_interval_s : frame interval (s), written as OME TimeIncrement
    """
    path = Path(path)
    dtype = np.dtype(dtype)
    metadata = {
        # A deterministic UUID keeps the file byte-identical between runs.
        "UUID": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"nanoaquarium/{path.name}")),
        "Creator": _CREATOR,
        "axes": "TYX",
        "PhysicalSizeX": float(pixel_size_nm),
        "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": float(pixel_size_nm),
        "PhysicalSizeYUnit": "nm",
        "TimeIncrement": float(frame_interval_s),
        "TimeIncrementUnit": "s",
    }

    def _checked() -> Iterable[np.ndarray]:
        n = 0
        for frame in frames:
            frame = np.asarray(frame)
            if frame.shape != tuple(shape[1:]):
                raise ValueError(f"frame {n} has shape {frame.shape}, expected {shape[1:]}")
            n += 1
            yield frame.astype(dtype, copy=False)
        if n != shape[0]:
            raise ValueError(f"{n} frames given, expected {shape[0]}")

    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(
            _checked(),
            shape=tuple(shape),
            dtype=dtype,
            photometric="minisblack",
            metadata=metadata,
        )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_errors(path: Path) -> Iterator[None]:
    """Turn the errors tifffile only logs (bad offsets of a truncated file) into DatasetError."""
    handler = _Collect()
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    previous, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous
    if handler.messages:
        raise DatasetError(f"{path}: truncated or corrupt TIFF ({handler.messages[0]})")


#: OME-XML length and time units (the schema's UnitsLength / UnitsTime symbols) in nm and s; the
#: schema's defaults, when a file names none, are µm for PhysicalSize and s for TimeIncrement.
_NM_PER_UNIT = {"pm": 1e-3, "Å": 0.1, "nm": 1.0, "µm": 1e3, "μm": 1e3, "um": 1e3, "mm": 1e6, "cm": 1e7, "m": 1e9}
_S_PER_UNIT = {"ns": 1e-9, "µs": 1e-6, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def _unit(path: Path, symbol: str, table: dict[str, float], field: str) -> float:
    """The factor of an OME unit ``symbol`` in ``table``; an unknown one is a DatasetError."""
    if symbol not in table:
        raise DatasetError(f"{path}: OME {field} {symbol!r} is not a unit we read (expected one of "
                           f"{', '.join(table)})")
    return table[symbol]


def tiff_info(path: str | Path) -> tuple[tuple[int, ...], np.dtype, dict]:
    """Shape, dtype and physical metadata (pixel_size_nm, frame_interval_s, if present)."""
    path = Path(path)
    try:
        with _tifffile_errors(path), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape, dtype = tuple(series.shape), np.dtype(series.dtype)
            if "S" in series.axes:  # samples per pixel: an RGB(A) image would be read as frames of 3 columns
                raise DatasetError(f"{path}: a colour image (axes {series.axes}, shape {shape}); expected "
                                   "single-channel frames (convert it to grayscale)")
            phys: dict = {}
            if tif.ome_metadata:
                ome = tifffile.xml2dict(tif.ome_metadata).get("OME", {})
                image = ome.get("Image", {})
                image = image[0] if isinstance(image, list) else image
                px = image.get("Pixels", {})
                if "PhysicalSizeX" in px:
                    phys["pixel_size_nm"] = float(px["PhysicalSizeX"]) * _unit(
                        path, px.get("PhysicalSizeXUnit", "µm"), _NM_PER_UNIT, "PhysicalSizeXUnit")
                if "TimeIncrement" in px:
                    phys["frame_interval_s"] = float(px["TimeIncrement"]) * _unit(
                        path, px.get("TimeIncrementUnit", "s"), _S_PER_UNIT, "TimeIncrementUnit")
            elif tif.imagej_metadata is not None or tif.pages[0].tags.get("XResolution"):
                tag = tif.pages[0].tags.get("XResolution")
                unit = (tif.imagej_metadata or {}).get("unit", "")
                if tag is not None and unit in ("micron", "um", "\\u00B5m", "µm"):
                    num, den = tag.value
                    if num:
                        phys["pixel_size_nm"] = 1000.0 * den / num
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except DatasetError:
        raise
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise DatasetError(f"{path}: not a readable TIFF ({type(exc).__name__}: {exc})") from None
    return shape, dtype, phys


def read_tiff(path: str | Path, *, max_gb: float = 4.0) -> np.ndarray:
    """Read a whole TIFF stack after checking that it fits in ``max_gb`` GiB.

    Raises
    ------
    DatasetError
        Missing, empty, truncated or corrupt file, or a declared size above ``max_gb``.
    """
    path = Path(path)
    if not max_gb > 0:
        raise DatasetError(f"{path}: size limit max_gb = {max_gb}; expected a positive number of GiB (--max-gb)")
    if path.is_file() and path.stat().st_size == 0:
        raise DatasetError(f"{path}: empty file (0 bytes), expected a TIFF")
    shape, dtype, _ = tiff_info(path)
    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if nbytes > max_gb * 2**30:
        raise DatasetError(
            f"{path}: declares {shape} {dtype} = {nbytes / 2**30:.1f} GiB, above the limit "
            f"of {max_gb:g} GiB (raise it with --max-gb)"
        )
    try:
        with _tifffile_errors(path):
            data = tifffile.imread(path)
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path}: truncated or corrupt TIFF ({type(exc).__name__}: {exc})") from None
    if tuple(data.shape) != shape:
        raise DatasetError(f"{path}: read shape {data.shape}, declared {shape}; file is corrupt")
    return data
