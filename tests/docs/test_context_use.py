"""docs/unet/context_use.py: each frame scored with its neighbours, and alone (its stack repeated)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from unet.infer import context_stack

_PATH = Path(__file__).resolve().parents[2] / "docs" / "unet" / "context_use.py"
_spec = importlib.util.spec_from_file_location("context_use", _PATH)
assert _spec is not None and _spec.loader is not None
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)

POST = {"threshold": 0.5, "seed_threshold": 0.5, "boundary_threshold": 0.9, "min_area_px": 1}


def test_counts_with_neighbours_and_with_the_frame_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in network that averages its 3-frame stack: a square present in one frame only is
    found from that frame alone (its repeated stack keeps full contrast) and missed with its
    neighbours (a third of the contrast); a square present in every frame is found both ways."""

    def averaging(x, model, *, frames, margin):
        for t in frames:
            mean = context_stack(x, t, 3).mean(axis=0)
            yield np.stack([np.where(mean > 0.5, 10.0, -10.0), np.full_like(mean, -10.0)])

    monkeypatch.setattr(cu, "logits_of_normalized", averaging)
    x = np.zeros((3, 32, 32), np.float32)
    labels = np.zeros((3, 32, 32), np.int32)
    x[:, 20:28, 18:26], labels[:, 20:28, 18:26] = 1.0, 1  # in every frame
    x[1, 4:12, 4:12], labels[1, 4:12, 4:12] = 1.0, 2  # only in the middle frame
    together = cu.counts(None, POST, x, labels, margin=0, repeat=False)
    alone = cu.counts(None, POST, x, labels, margin=0, repeat=True)
    np.testing.assert_array_equal(together, [3, 3, 4])  # the steady square in each frame, not the flash
    np.testing.assert_array_equal(alone, [4, 4, 4])
