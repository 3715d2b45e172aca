"""docs/unet/context_use.py: each frame scored with its neighbours, and alone (its stack repeated)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from unet.calibrate import match_counts
from unet.infer import context_stack

from _scripts import load_script

cu = load_script("docs/unet/context_use.py", "context_use")

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
    together, found_together = cu.counts(None, POST, x, labels, margin=0, repeat=False)
    alone, found_alone = cu.counts(None, POST, x, labels, margin=0, repeat=True)
    np.testing.assert_array_equal(together, [3, 3, 4])  # the steady square in each frame, not the flash
    np.testing.assert_array_equal(alone, [4, 4, 4])
    assert found_together == {(0, 1), (1, 1), (2, 1)}
    assert found_alone == found_together | {(1, 2)}


def test_matched_labels_are_the_matches_above_one_half() -> None:
    """The true labels it names are as many as ``match_counts`` counts, on random blobs, and a
    particle half covered (IoU 0.5, not above) is not one of them."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        truth = ndimage.label(ndimage.gaussian_filter(rng.random((48, 48)), 2) > 0.52)[0]
        pred = ndimage.label(ndimage.gaussian_filter(rng.random((48, 48)), 2) > 0.52)[0]
        pred = np.where(rng.random() < 0.5, truth, pred)  # half the time a perfect prediction
        names = cu.matched_labels(pred, truth)
        assert len(names) == match_counts(pred, truth, thresholds=(0.5,))[0][0]
        assert all(((truth == k) & (pred > 0)).any() for k in names)
    truth = np.zeros((8, 8), np.int32)
    truth[:, :4] = 3
    pred = np.zeros_like(truth)
    pred[:4, :4] = 1  # IoU 16 / 32
    assert cu.matched_labels(pred, truth) == []
    pred[4, :2] = 1  # IoU 18 / 32
    assert cu.matched_labels(pred, truth) == [3]


def test_particle_kinds_by_material_shape_and_thickness(tmp_path) -> None:
    table = tmp_path / "particles.csv"
    table.write_text("frame,id,shape,material,thickness_nm\n0,1,prism,Au,5.8\n0,2,sphere,Au,24.4\n"
                     "1,1,prism,Au,7.0\n1,5,sphere,polystyrene,121.3\n")
    assert cu.particle_kinds(table) == {(0, 1): "Au prism, 5-7 nm", (0, 2): "Au sphere, 20-50 nm",
                                        (1, 1): "Au prism, 7-10 nm", (1, 5): "polystyrene sphere, 50-200 nm"}
