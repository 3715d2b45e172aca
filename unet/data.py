"""Training data: freshly simulated frames streamed by an ``IterableDataset``.

Every sample is a stack of ``context`` neighbouring frames (normalised by
:func:`unet.normalize.normalize_frames`) with the foreground and boundary targets of its centre
frame.  Domain randomisation: each simulated clip draws a preset, a dose rate, a liquid thickness,
a detector model, a particle size, count and imaging mode, so that one model covers every scenario
and dose of the benchmark.  Workers draw independent streams: the seed of worker ``w`` of a
dataset seeded ``s`` is ``SeedSequence([s, w])``, so the data do not depend on timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import logging

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from simulator.config import list_presets, load_config
from simulator.errors import UserError
from simulator.simulate import simulate_video
from unet.normalize import normalize_frames
from unet.postprocess import targets_from_labels

__all__ = ["Clip", "ClipSource", "SimulatedClips", "StreamingFrames", "make_samples"]

log = logging.getLogger(__name__)

#: Attempts at drawing a feasible random clip (rejection sampling of the randomised conditions).
_MAX_DRAWS = 20


@dataclass(frozen=True)
class Clip:
    """A short video: frames (T, Y, X) as recorded, labels (T, Y, X), and whether particles are bright."""

    frames: np.ndarray
    labels: np.ndarray
    particles_bright: bool


#: A source of clips: called with a Generator, a frame count and a frame size (px).
ClipSource = Callable[[np.random.Generator, int, int], Clip]


class SimulatedClips:
    """Clips from :func:`simulator.simulate.simulate_video` with randomised conditions.

    Ranges (domain randomisation) span the benchmark's dose ladder (4-400 e-/A^2/s,
    benchmark.suite) with margin, liquid 50-600 nm (typical LPEM cells, de Jonge & Ross 2011),
    the three detector models, particle size x0.6-1.6 of the preset's, and 15 % HAADF clips.

    Parameters
    ----------
    presets : sequence of str or None
        Presets to draw from (None = all).
    """

    def __init__(self, presets: list[str] | None = None) -> None:
        self.presets = list(presets) if presets else sorted(list_presets())

    def __call__(self, rng: np.random.Generator, frames: int, size: int) -> Clip:
        """Simulate one clip; infeasible random draws (particles that do not fit) are redrawn."""
        for _ in range(_MAX_DRAWS - 1):
            try:
                return self._draw(rng, frames, size)
            except UserError as exc:
                log.debug("redrawing an infeasible clip: %s", exc)
        return self._draw(rng, frames, size)

    def _draw(self, rng: np.random.Generator, frames: int, size: int) -> Clip:
        preset = self.presets[int(rng.integers(len(self.presets)))]
        base = load_config(preset)
        dose = float(np.exp(rng.uniform(np.log(2.0), np.log(600.0))))
        area_scale = (size / base.video.height_px) * (size / base.video.width_px)
        count = max(1, int(round(base.particles.count * area_scale * rng.uniform(0.5, 2.5))))
        overrides = [
            f"video.frames={frames}", f"video.height_px={size}", f"video.width_px={size}",
            f"imaging.dose_rate_e_per_A2_s={dose:.4g}",
            f"liquid.thickness_nm={rng.uniform(50.0, 600.0):.4g}",
            f"detector.model={rng.choice(['ideal', 'counting', 'integrating'])}",
            f"particles.size_nm={base.particles.size_nm * rng.uniform(0.6, 1.6):.4g}",
            f"particles.count={count}",
        ]
        if rng.random() < 0.15:
            overrides.append("imaging.mode=haadf")
        cfg = load_config(preset, overrides=overrides)
        video = simulate_video(cfg, seed=int(rng.integers(2**31)))
        return Clip(video.frames, video.labels, video.meta.particles_bright)


def make_samples(clip: Clip, context: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(input (context, Y, X) float32, target (2, Y, X) float32) for each centre frame of ``clip``."""
    x = normalize_frames(clip.frames, particles_bright=clip.particles_bright)
    half = context // 2
    for t in range(half, x.shape[0] - half):
        fg, bd = targets_from_labels(clip.labels[t])
        yield x[t - half:t + half + 1], np.stack([fg, bd])


class StreamingFrames(IterableDataset):
    """Endless stream of (input, target) tensors from fresh clips.

    Parameters
    ----------
    source : ClipSource
        Where clips come from (:class:`SimulatedClips`, or a synthetic generator in tests).
    seed : int
        Root seed; worker ``w`` uses ``SeedSequence([seed, w])``.
    context : int
        Frames per input (odd).
    size : int
        Crop size (px), square.
    centres_per_clip : int
        Centre frames per simulated clip (the clip has ``centres_per_clip + context - 1`` frames).
    """

    def __init__(self, source: ClipSource, *, seed: int, context: int = 3, size: int = 128,
                 centres_per_clip: int = 2) -> None:
        super().__init__()
        if context % 2 != 1:
            raise ValueError(f"context={context}: expected an odd number of frames")
        self.source, self.seed, self.context, self.size = source, seed, context, size
        self.centres_per_clip = centres_per_clip

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker = 0 if info is None else info.id
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, worker]))
        while True:
            clip = self.source(rng, self.centres_per_clip + self.context - 1, self.size)
            for x, y in make_samples(clip, self.context):
                k = int(rng.integers(4))  # random rotation / flip: the physics is isotropic
                x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k, axes=(1, 2))
                if rng.random() < 0.5:
                    x, y = x[:, :, ::-1], y[:, :, ::-1]
                yield torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
