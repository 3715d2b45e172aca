"""Shapes and construction of the U-Net, and its input pyramid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from unet.model import HEADS, UNet


@pytest.mark.parametrize(("context", "depth", "width", "norm", "size"), [
    (1, 1, 4, "none", 16), (3, 2, 8, "batch", 32), (5, 3, 4, "group", 24), (3, 4, 4, "instance", 48),
])
def test_forward_shapes(context: int, depth: int, width: int, norm: str, size: int) -> None:
    model = UNet(in_channels=context, depth=depth, base_width=width, norm=norm, dropout=0.1)  # type: ignore[arg-type]
    model.eval()
    x = torch.randn(2, context, size, size * 2)
    assert model(x).shape == (2, len(HEADS), size, size * 2)


def test_hparams_and_errors() -> None:
    model = UNet(3, 2, 8)
    assert model.hparams["depth"] == 2 and model.hparams["in_channels"] == 3
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="layer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        UNet(depth=0)


def test_input_pyramid_hands_every_stage_the_frames_at_its_scale() -> None:
    """Each encoder stage's block receives, after its pooled features, the input frames
    average-pooled 2^(k+1)× (and nothing else changes: same output shape, hparams record it)."""
    torch.manual_seed(0)
    model = UNet(in_channels=3, depth=3, base_width=4, input_pyramid=True).eval()
    assert model.hparams["input_pyramid"] is True and "input_pyramid" not in UNet(3, 3, 4).hparams
    seen: dict[int, torch.Tensor] = {}
    for k, down in enumerate(model.down):
        down[1].register_forward_pre_hook(lambda _m, args, k=k: seen.__setitem__(k, args[0]))
    x = torch.randn(2, 3, 32, 48)
    assert model(x).shape == (2, len(HEADS), 32, 48)
    for k in range(3):
        assert seen[k].shape[1] == 4 * 2**k + 3
        torch.testing.assert_close(seen[k][:, -3:], F.avg_pool2d(x, 2 ** (k + 1)))


@pytest.mark.parametrize(("width", "groups"), [(4, 4), (6, 6), (8, 8), (12, 6), (20, 5), (24, 8), (192, 8)])
def test_group_norm_takes_at_most_8_groups_that_divide_the_width(width: int, groups: int) -> None:
    """Widths that are not a multiple of 8 (the shipped base width 12: 12, 24, ...) build with the
    largest divisor up to 8 (torch refused 8 groups of 12 channels); those that worked keep theirs."""
    model = UNet(in_channels=3, depth=1, base_width=width, norm="group")
    assert model.stem[1].num_groups == groups
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, len(HEADS), 8, 8)
