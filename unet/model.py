"""A small U-Net for particle segmentation, in the style of MONAI ``basic_unet.py``.

Input: a stack of ``in_channels`` neighbouring frames (temporal context, the centre frame is the
one segmented), normalised by :mod:`unet.normalize`.  Output: two logit maps, ``foreground``
(pixel belongs to a particle) and ``boundary`` (pixel is on the inner rim of a particle), from
which :mod:`unet.postprocess` builds instances by a seeded watershed.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["UNet", "ConvBlock", "Down", "Up", "HEADS"]

Norm = Literal["batch", "group", "instance", "none"]

#: Output channels, in order.
HEADS = ("foreground", "boundary")


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":  # at most 8 groups (Wu & He, ECCV 2018, use 32 for wider layers), a divisor of the width
        return nn.GroupNorm(max(g for g in range(1, 9) if channels % g == 0), channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm={kind!r}: expected one of batch, group, instance, none")


class ConvBlock(nn.Sequential):
    """Two (3×3 conv, norm, LeakyReLU) layers with dropout between: (N, c_in, H, W) -> (N, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, norm: Norm, dropout: float) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none"),
            _norm(norm, c_out),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=norm == "none"),
            _norm(norm, c_out),
            nn.LeakyReLU(0.1, inplace=True),
        )


class Down(nn.Sequential):
    """2×2 max-pool, optionally joined by extra channels, then :class:`ConvBlock`.

    (N, c_in, H, W) [and extra (N, c_extra, H/2, W/2), ``c_in + c_extra`` the block's input] ->
    (N, c_out, H/2, W/2).
    """

    def __init__(self, c_in: int, c_out: int, norm: Norm, dropout: float) -> None:
        super().__init__(nn.MaxPool2d(2), ConvBlock(c_in, c_out, norm, dropout))

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        pooled = self[0](x)
        return self[1](pooled if extra is None else torch.cat([pooled, extra], dim=1))


class Up(nn.Module):
    """2× transposed-conv upsampling, concatenation with the skip, :class:`ConvBlock`.

    (N, c_in, H, W) and skip (N, c_skip, 2H, 2W) -> (N, c_out, 2H, 2W).
    """

    def __init__(self, c_in: int, c_skip: int, c_out: int, norm: Norm, dropout: float) -> None:
        super().__init__()
        self.upsample = nn.ConvTranspose2d(c_in, c_in // 2, 2, stride=2)
        self.convs = ConvBlock(c_in // 2 + c_skip, c_out, norm, dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([skip, self.upsample(x)], dim=1))


class UNet(nn.Module):
    """U-Net with ``depth`` poolings; widths ``base_width * 2**level``.

    Parameters
    ----------
    in_channels : int
        Frames of temporal context (odd; the centre one is segmented).
    depth : int
        Number of 2× downsamplings; input height and width must be multiples of ``2**depth``.
    base_width : int
        Channels of the first stage.
    norm : {"batch", "group", "instance", "none"}
        Normalisation layer after each convolution.
    dropout : float
        Channel dropout probability inside each block (0 = none).
    out_channels : int
        Output heads (:data:`HEADS`: foreground, boundary).
    input_pyramid : bool
        Also hand every encoder stage the input frames average-pooled to its scale (the
        multi-scale input layer of M-Net, Fu et al., IEEE Trans. Med. Imaging 37, 1597 (2018)).  A
        2^k×2^k average has 4^k times less Poisson variance per pixel, and a particle that moves
        4 px between frames moves by at most one pixel from the 4×-pooled stage on, so that
        stage's 3×3 convolutions can add up a faint moving particle's neighbouring frames that
        the full-resolution stem cannot align.

    Shapes
    ------
    ``forward``: (N, in_channels, H, W) float -> (N, out_channels, H, W) logits.
    """

    def __init__(
        self,
        in_channels: int = 3,
        depth: int = 3,
        base_width: int = 16,
        norm: Norm = "batch",
        dropout: float = 0.0,
        out_channels: int = len(HEADS),
        input_pyramid: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1 or base_width < 2 or in_channels < 1:
            raise ValueError(f"depth={depth}, base_width={base_width}, in_channels={in_channels}: expected >=1, >=2, >=1")
        if not isinstance(input_pyramid, bool):  # a JSON config's "false" string would be true
            raise ValueError(f"input_pyramid={input_pyramid!r}: expected true or false")
        _norm(norm, 2)  # validate early
        self.depth = depth
        self.input_pyramid = input_pyramid
        self.hparams = {"in_channels": in_channels, "depth": depth, "base_width": base_width,
                        "norm": norm, "dropout": dropout, "out_channels": out_channels}
        if input_pyramid:  # stored only when set: models saved before the option rebuild as they were
            self.hparams["input_pyramid"] = True
        widths = [base_width * 2**k for k in range(depth + 1)]
        extra = in_channels if input_pyramid else 0
        self.stem = ConvBlock(in_channels, widths[0], norm, dropout)
        self.down = nn.ModuleList(Down(widths[k] + extra, widths[k + 1], norm, dropout) for k in range(depth))
        self.up = nn.ModuleList(Up(widths[k + 1], widths[k], widths[k], norm, dropout) for k in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) frames -> (N, 2, H, W) logits (foreground, boundary)."""
        x0 = self.stem(x)                     # (N, w, H, W)
        skips = [x0]
        frames = x
        for down in self.down:                # x1 ... x_depth: (N, w 2^k, H/2^k, W/2^k)
            if self.input_pyramid:
                frames = nn.functional.avg_pool2d(frames, 2)  # the frames at this stage's scale
            skips.append(down(skips[-1], frames if self.input_pyramid else None))
        u = skips.pop()                       # bottleneck
        for up in self.up:                    # u_depth ... u1
            u = up(u, skips.pop())
        return self.head(u)                   # logits
