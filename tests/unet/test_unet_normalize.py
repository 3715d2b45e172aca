"""Normalisation: dtypes and polarities give the same picture, particles bright."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import UserError
from unet.normalize import normalize_frames


def _scene(bright: bool) -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 < 100
    base = np.where(disc, 0.8, 0.3) if bright else np.where(disc, 0.3, 0.8)
    return np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1), disc


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("bright", [True, False])
def test_particles_bright_for_every_dtype_and_mode(dtype: type, bright: bool) -> None:
    img, disc = _scene(bright)
    scale = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 5.0
    frames = np.stack([(img * scale).astype(dtype)] * 2)
    out = normalize_frames(frames, particles_bright=bright)
    assert out.dtype == np.float32 and out.shape == frames.shape
    assert abs(np.median(out[0][~disc])) < 0.2          # background near 0
    assert 0.7 < np.median(out[0][disc]) < 1.3          # particles near +1


def test_same_result_across_dtypes_and_gain() -> None:
    img, _ = _scene(False)
    a = normalize_frames((img * 255).astype(np.uint8), particles_bright=False)
    b = normalize_frames((img * 65535).astype(np.uint16), particles_bright=False)
    c = normalize_frames(img * 37.0 + 100.0, particles_bright=False)
    np.testing.assert_allclose(a, c, atol=0.05)
    np.testing.assert_allclose(b, c, atol=1e-3)


def test_hot_pixels_clipped_and_bad_shape() -> None:
    img, _ = _scene(True)
    img[0, 0] = 1e9
    assert normalize_frames(img, particles_bright=True).max() <= 3.0
    with pytest.raises(ValueError, match="expected"):
        normalize_frames(np.zeros(5), particles_bright=True)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_pixel_is_set_to_the_frame_median(value: float) -> None:
    """A dead (NaN) or infinite pixel of a float frame looks like background: once a single NaN made
    the percentiles, and so every pixel and every logit, NaN (0 objects found)."""
    img, _ = _scene(False)
    frames = np.stack([img, img]).astype(np.float32)
    bad = frames.copy()
    bad[1, 5, 7] = value
    fixed = frames.copy()
    fixed[1, 5, 7] = np.median(np.delete(frames[1].ravel(), 5 * 64 + 7))
    out = normalize_frames(bad, particles_bright=False)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, normalize_frames(fixed, particles_bright=False))
    np.testing.assert_array_equal(out[0], normalize_frames(frames, particles_bright=False)[0])


def test_a_frame_without_a_finite_pixel_is_refused() -> None:
    frames = np.ones((3, 8, 8))
    frames[1] = np.nan
    with pytest.raises(UserError, match=r"^frame 1: no finite pixel \(all NaN or infinite\)"):
        normalize_frames(frames, particles_bright=True)
