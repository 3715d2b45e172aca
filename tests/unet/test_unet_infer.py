"""Tiled inference matches untiled inference; any frame size; the segment() method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.video import VideoMeta
from unet.infer import predict_logits
from unet.io import save_model
from unet.method import segment
from unet.model import UNet


def _model() -> UNet:
    torch.manual_seed(1)
    return UNet(in_channels=3, depth=2, base_width=4, norm="group").eval()


def _video(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).integers(100, 2000, shape).astype(np.uint16)


def test_tiled_equals_untiled_when_one_tile_fits() -> None:
    model, video = _model(), _video((3, 64, 64))
    direct = list(predict_logits(video, model, particles_bright=False, tile=64, overlap=16))
    from unet.normalize import normalize_frames
    x = normalize_frames(video, particles_bright=False)
    with torch.inference_mode():
        ref = model(torch.from_numpy(np.stack([x[0], x[0], x[1]]))[None])[0].numpy()
    np.testing.assert_allclose(direct[0], ref, atol=1e-5)


def test_overlapping_tiles_blend_close_to_whole_frame() -> None:
    model, video = _model(), _video((1, 96, 96))
    whole = next(predict_logits(video, model, particles_bright=True, tile=96))
    tiled = next(predict_logits(video, model, particles_bright=True, tile=48, overlap=16, batch=3))
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(whole - tiled)[inner].mean() < 0.25 * whole.std()


@pytest.mark.parametrize("shape", [(2, 37, 51), (1, 130, 67), (1, 5, 9)])
def test_odd_sizes(shape: tuple[int, int, int]) -> None:
    out = list(predict_logits(_video(shape), _model(), particles_bright=False, tile=32, overlap=8))
    assert len(out) == shape[0] and all(o.shape == (2, *shape[1:]) for o in out)
    assert all(np.isfinite(o).all() for o in out)


def test_segment_with_model_path(tmp_path: Path) -> None:
    save_model(tmp_path / "m", _model(), {"postprocess": {"threshold": 0.5, "boundary_threshold": 0.5,
                                                          "min_area_px": 4}})
    meta = VideoMeta("v", (2, 40, 40), 1.0, 0.1)
    labels = segment(_video((2, 40, 40)), meta, model=str(tmp_path / "m"), tile=32, overlap=8)
    assert labels.shape == (2, 40, 40) and labels.dtype == np.int32 and labels.min() >= 0
    labels2 = segment(_video((2, 40, 40)), meta, model=_model(), tile=32, overlap=8)
    assert labels2.shape == (2, 40, 40)
