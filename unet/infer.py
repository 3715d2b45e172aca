"""Tiled, batched inference of a U-Net on frames of any size, on CPU or GPU.

Each frame (with its temporal context) is cut into ``tile``×``tile`` tiles overlapping by
``overlap`` px; the logits of overlapping tiles are blended with weights that fall linearly to
near zero over the overlap at tile edges, so seams vanish.  Frames smaller than a tile, or of
sizes that are not multiples of ``2**depth``, are reflect-padded and cropped back.

With ``tta`` (test-time augmentation) every frame also goes through the network rotated by 90°,
180° and 270° and mirrored, and the logits of the eight views (the symmetries of the square,
brought back to the frame's orientation) are averaged: the network was trained on random
rotations and flips (:mod:`unet.data`), so each view is an equally good guess with its own
errors, as in nnU-Net's mirroring at inference (Isensee et al., Nat. Methods 18, 203 (2021)).
Eight times the work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from simulator.errors import UserError
from unet.malloc import retain_freed_memory
from unet.model import UNet
from unet.normalize import normalize_frames

__all__ = ["predict_logits", "logits_of_normalized", "network_logits", "context_stack", "check_device"]

_DEVICE = re.compile(r"cpu|cuda(:(0|[1-9][0-9]*))?")


def check_device(device: str, *, what: str) -> torch.device:
    """``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``) as a torch device that torch can use.

    Raises
    ------
    UserError
        One line beginning with ``what`` (the option or parameter, with its value): another
        string, or a CUDA device that torch does not see.
    """
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise UserError(f"{what}: expected cpu, cuda or cuda:N")
    dev = torch.device(device)
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise UserError(f"{what}: no CUDA GPU is available to torch")
        if dev.index is not None and dev.index >= count:
            raise UserError(f"{what}: torch sees {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    return dev


def context_stack(x: np.ndarray, t: int, context: int) -> np.ndarray:
    """Frames ``t - context//2 .. t + context//2`` of (T, Y, X) ``x``, edges repeated: (context, Y, X)."""
    half = context // 2
    idx = np.clip(np.arange(t - half, t + half + 1), 0, x.shape[0] - 1)
    return x[idx]


def _starts(n: int, tile: int, overlap: int) -> list[int]:
    if n <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, n - tile, stride)) + [n - tile]
    return starts


def _ramp(tile: int, overlap: int) -> np.ndarray:
    """Blending weights along one axis: 1 inside, falling linearly to 1/(overlap+1) at both edges."""
    ramp = np.ones(tile, np.float32)
    if overlap > 0:
        r = (np.arange(overlap, dtype=np.float32) + 1) / (overlap + 1)
        ramp[:overlap] = r
        ramp[tile - overlap:] = r[::-1]
    return ramp


def predict_logits(
    video: np.ndarray,
    model: UNet,
    *,
    particles_bright: bool,
    device: str | torch.device = "cpu",
    tile: int = 576,
    overlap: int = 32,
    batch: int = 4,
    margin: int = 0,
    percentiles: tuple[float, float] | None = None,
    tta: bool = False,
) -> Iterator[np.ndarray]:
    """Logits of every frame, one frame at a time.

    Parameters
    ----------
    video : (T, Y, X) array, any dtype
        Frames as recorded.
    model : UNet
        In eval mode on ``device``.
    particles_bright : bool
        Imaging polarity (``VideoMeta.particles_bright``).
    tile, overlap : int
        Tile size (>= 1) and overlap (>= 0) in px; tile is rounded up to a multiple of
        ``2**model.depth``, an overlap of more than half a tile is cut to half a tile.
        Frames up to ``tile`` px with their margins go through the network whole (no tiling
        overhead): 576 px by default, 512 px frames with a 32 px margin.
    batch : int
        Tiles per forward pass (>= 1).
    margin : int
        The frame is extended by ``margin`` px of its mirror image on each side (at most its size
        − 1) before the network sees it, and the logits are cropped back.  A particle cut by the
        frame's edge then continues into its mirror image instead of ending at the network's zero
        padding: on the standard tier's brownian-prisms (open boundary, many edge-cut particles)
        f1@0.5 0.79 -> 0.90 at dose 400 with a model trained without it.  Models trained with a
        margin (``nanoaq train --margin``) see the same mirrored frames in training; use theirs
        (:func:`unet.method.segment` does).
    percentiles : (low, high) or None
        Per-frame percentiles (%) mapped to 0 and 1 (:func:`unet.normalize.normalize_frames`); None: its
        default.  Use the model's, recorded in its JSON's ``normalization`` (:func:`unet.method.segment`
        does).
    tta : bool
        Average the logits of the frame's 8 rotations and mirror images (module docstring).

    Yields
    ------
    (2, Y, X) float32 logits (foreground, boundary), for t = 0 .. T-1.
    """
    video = np.asarray(video)
    if video.ndim == 2:
        video = video[None]
    if video.ndim != 3:
        raise ValueError(f"video of shape {video.shape}: expected (T, Y, X)")
    kw = {} if percentiles is None else {"percentiles": percentiles}
    x = normalize_frames(video, particles_bright=particles_bright, **kw)
    yield from logits_of_normalized(x, model, device=device, tile=tile, overlap=overlap, batch=batch, margin=margin,
                                    tta=tta)


def logits_of_normalized(
    x: np.ndarray,
    model: UNet,
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    context: int | None = None,
    device: str | torch.device = "cpu",
    tile: int = 576,
    overlap: int = 32,
    batch: int = 4,
    margin: int = 0,
    tta: bool = False,
) -> Iterator[np.ndarray]:
    """Logits of frames ``frames`` (default all) of normalised (T, Y, X) float32 ``x``; see :func:`predict_logits`.

    ``context`` defaults to the model's ``in_channels``.  Yields (2, Y, X) float32 per frame.
    """
    retain_freed_memory()  # the passes reuse their freed buffers instead of faulting in fresh pages
    m = 2 ** model.depth
    tile = -(-tile // m) * m
    overlap = min(overlap, tile // 2)
    T, Y0, X0 = x.shape
    my, mx = min(margin, Y0 - 1), min(margin, X0 - 1)
    if my or mx:
        x = np.pad(x, ((0, 0), (my, my), (mx, mx)), mode="reflect")
    T, Y, X = x.shape
    # pad to at least one tile, and to a multiple of 2**depth
    ty, tx = min(tile, -(-Y // m) * m), min(tile, -(-X // m) * m)
    py, px = max(ty, Y) - Y, max(tx, X) - X
    if py or px:
        x = np.pad(x, ((0, 0), (0, py), (0, px)), mode="reflect" if py < Y and px < X else "edge")
    dev = torch.device(device)
    context = model.hparams["in_channels"] if context is None else context
    views = [(k, flip) for k in range(4) for flip in (False, True)] if tta else [(0, False)]
    autocast = torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=dev.type == "cuda")
    with torch.inference_mode(), autocast:
        for t in (range(T) if frames is None else frames):
            frame = torch.from_numpy(np.ascontiguousarray(context_stack(x, int(t), context))).to(dev)
            acc = torch.zeros((2, *frame.shape[1:]), dtype=torch.float32, device=dev)
            for k, flip in views:
                view = torch.rot90(frame, k, dims=(1, 2))
                out = _logits_of_frame(model, torch.flip(view, dims=(2,)) if flip else view,
                                       tile=tile, overlap=overlap, batch=batch)
                acc += torch.rot90(torch.flip(out, dims=(2,)) if flip else out, -k, dims=(1, 2))
            yield (acc / len(views))[:, my:my + Y0, mx:mx + X0].cpu().numpy()


def network_logits(model: UNet, x: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) float32 logits of (N, context, H, W) ``x``.

    On the CPU the input goes in channels-last (NHWC) layout, which makes oneDNN run every
    convolution in it: the shipped network on a 576×576 stack 1.6–2.3× faster on 2 cores (89
    instead of 200 ms in one run; the model's weights stay as they are; the logits agree to
    ~1e-5, the order of float32 sums), and the logits come back in the ordinary (NCHW) layout.
    On a GPU the layout is left as it is (not measured there).
    """
    if x.device.type != "cpu":
        return model(x).float()
    return model(x.contiguous(memory_format=torch.channels_last)).float().contiguous()


def _logits_of_frame(model: UNet, frame: torch.Tensor, *, tile: int, overlap: int, batch: int) -> torch.Tensor:
    """(2, H, W) float32 logits of a (context, H, W) stack already padded to at least a tile and to a
    multiple of ``2**depth`` (or larger than a tile): whole when it fits a tile, else blended tiles."""
    H, W = frame.shape[1:]
    ty, tx = min(tile, H), min(tile, W)
    positions = [(i, j) for i in _starts(H, ty, overlap) for j in _starts(W, tx, overlap)]
    if len(positions) == 1:
        return network_logits(model, frame[None])[0]
    w_t = torch.from_numpy(np.outer(_ramp(ty, overlap if H > ty else 0),
                                    _ramp(tx, overlap if W > tx else 0))).to(frame.device)
    acc = torch.zeros((2, H, W), dtype=torch.float32, device=frame.device)
    norm = torch.zeros((H, W), dtype=torch.float32, device=frame.device)
    for b in range(0, len(positions), batch):
        chunk = positions[b:b + batch]
        tiles = torch.stack([frame[:, i:i + ty, j:j + tx] for i, j in chunk])
        out = network_logits(model, tiles)
        for (i, j), o in zip(chunk, out):
            acc[:, i:i + ty, j:j + tx] += o * w_t
            norm[i:i + ty, j:j + tx] += w_t
    return acc / norm
