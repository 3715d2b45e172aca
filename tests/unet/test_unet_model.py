"""Shapes and construction of the U-Net."""

from __future__ import annotations

import pytest
import torch

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
