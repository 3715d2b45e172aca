"""docs/unet/context_use.py: the centre frame repeated in place of its neighbours."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from unet.model import UNet

_PATH = Path(__file__).resolve().parents[2] / "docs" / "unet" / "context_use.py"
_spec = importlib.util.spec_from_file_location("context_use", _PATH)
assert _spec is not None and _spec.loader is not None
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)

POST = {"threshold": 0.5, "seed_threshold": 0.5, "boundary_threshold": 0.9, "min_area_px": 1}


def test_repeated_centre_replaces_every_frame_by_the_centre() -> None:
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    out = cu.repeated_centre(x, 1)
    assert out.shape == x.shape and all(np.array_equal(f, x[1]) for f in out)


def test_counts_are_the_same_for_a_video_whose_frames_do_not_change() -> None:
    """A video whose frames are all the same is its own repeated-centre stack: the same counts,
    and every frame's true particles are counted."""
    torch.manual_seed(0)
    model = UNet(in_channels=3, depth=2, base_width=4).eval()
    rng = np.random.default_rng(0)
    labels = np.zeros((4, 32, 32), np.int32)
    labels[:, 8:16, 8:16], labels[:, 20:28, 18:26] = 1, 2
    still = np.repeat(rng.normal(size=(1, 32, 32)).astype(np.float32), 4, axis=0)
    a, b = (cu.counts(model, POST, still, labels, margin=4, repeat=r) for r in (False, True))
    np.testing.assert_array_equal(a, b)
    assert a[2] == 8  # two true particles in each of the 4 frames
