from __future__ import annotations

import numpy as np
import pytest
import tifffile

from simulator.errors import DatasetError
from simulator.tiffio import read_tiff, tiff_info, write_ome_tiff


def _write(path, arr):
    write_ome_tiff(path, iter(arr), shape=arr.shape, dtype=arr.dtype, pixel_size_nm=1.5, frame_interval_s=0.2)


def test_round_trip_with_physical_metadata(tmp_path):
    arr = np.random.default_rng(0).integers(0, 60000, (3, 8, 9), dtype=np.uint16)
    _write(tmp_path / "a.ome.tif", arr)
    np.testing.assert_array_equal(read_tiff(tmp_path / "a.ome.tif"), arr)
    shape, dtype, phys = tiff_info(tmp_path / "a.ome.tif")
    assert shape == (3, 8, 9) and dtype == np.uint16
    assert phys == {"pixel_size_nm": 1.5, "frame_interval_s": 0.2}


def test_same_content_same_bytes(tmp_path):
    arr = np.arange(2 * 4 * 4, dtype=np.uint16).reshape(2, 4, 4)
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    _write(tmp_path / "x" / "v.ome.tif", arr)
    _write(tmp_path / "y" / "v.ome.tif", arr)
    assert (tmp_path / "x" / "v.ome.tif").read_bytes() == (tmp_path / "y" / "v.ome.tif").read_bytes()


def test_wrong_frame_count_is_refused(tmp_path):
    arr = np.zeros((2, 4, 4), np.uint16)
    with pytest.raises(ValueError, match="2 frames given, expected 3"):
        write_ome_tiff(tmp_path / "v.tif", iter(arr), shape=(3, 4, 4), dtype=np.uint16,
                       pixel_size_nm=1, frame_interval_s=1)


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_tiff(tmp_path / "missing.tif")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty file"):
        read_tiff(tmp_path / "empty.tif")
    (tmp_path / "junk.tif").write_bytes(b"this is not a tiff at all")
    with pytest.raises(DatasetError, match="not a readable TIFF"):
        read_tiff(tmp_path / "junk.tif")
    arr = np.ones((4, 64, 64), np.uint16)
    _write(tmp_path / "full.tif", arr)
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError):
        read_tiff(tmp_path / "cut.tif")


def test_declared_size_is_checked_before_reading(tmp_path):
    # A 1 x 40000 x 40000 uint16 header (3 GB declared) in a tiny file.
    path = tmp_path / "huge.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(shape=(40000, 40000), dtype=np.uint16)
    with pytest.raises(DatasetError, match=r"above the limit of 1 GiB"):
        read_tiff(path, max_gb=1.0)


def test_real_frame_pixel_size(real_dir):
    shape, dtype, phys = tiff_info(real_dir / "000.tif")
    assert shape == (1024, 1024) and dtype == np.uint8
    assert phys["pixel_size_nm"] == pytest.approx(1.727, abs=1e-3)


@pytest.mark.parametrize(("meta", "pixel_nm", "interval_s"), [
    ({"PhysicalSizeX": 0.5, "PhysicalSizeXUnit": "µm", "TimeIncrement": 20, "TimeIncrementUnit": "ms"}, 500.0, 0.02),
    ({"PhysicalSizeX": 0.5, "TimeIncrement": 2}, 500.0, 2.0),  # OME's defaults: µm and s
    ({"PhysicalSizeX": 17.27, "PhysicalSizeXUnit": "Å"}, 1.727, None),
    ({"PhysicalSizeX": 1.5, "PhysicalSizeXUnit": "nm", "TimeIncrementUnit": "s", "TimeIncrement": 0.1}, 1.5, 0.1),
])
def test_ome_units_of_third_party_files(tmp_path, meta, pixel_nm, interval_s):
    """A file written by another program states its pixel size in µm (or names no unit: µm)."""
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint16), ome=True, metadata={"axes": "TYX", **meta})
    phys = tiff_info(path)[2]
    assert phys["pixel_size_nm"] == pytest.approx(pixel_nm)
    assert phys.get("frame_interval_s") == (None if interval_s is None else pytest.approx(interval_s))


def test_unknown_ome_unit_is_a_one_line_error(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "TYX", "PhysicalSizeX": 1.0, "PhysicalSizeXUnit": "ly"})
    with pytest.raises(DatasetError, match=r"x.ome.tif: OME PhysicalSizeXUnit 'ly' is not a unit we read"):
        tiff_info(path)


def test_a_colour_image_is_refused_not_read_as_frames(tmp_path):
    """An RGB TIFF (Y, X, 3) would otherwise be read as Y frames of X × 3 px."""
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, np.zeros((70, 90, 3), np.uint8), photometric="rgb")
    with pytest.raises(DatasetError, match=r"rgb.tif: a colour image \(axes YXS, shape \(70, 90, 3\)\); expected single"):
        read_tiff(path)
    grey = tmp_path / "grey.tif"  # three grayscale frames of the same shape stay frames
    tifffile.imwrite(grey, np.zeros((3, 70, 90), np.uint8), photometric="minisblack")
    assert read_tiff(grey).shape == (3, 70, 90)
