"""Training data: batches of (frames, targets) drawn from simulated clips or from datasets on disk.

Every sample is a stack of ``context`` neighbouring frames (normalised by
:func:`unet.normalize.normalize_frames`, edges repeated as at inference,
:func:`unet.infer.context_stack`) with the foreground and boundary targets of its centre frame.

Two samplers, one interface (``sampler(rng, n, context, crop) -> (x, y, labels)``):

- :class:`ClipSampler` over a :data:`ClipSource` such as :class:`SimulatedClips`, which simulates
  fresh clips with randomised conditions (domain randomisation: preset, dose rate, liquid
  thickness, detector model, particle size and count, imaging mode);
- :class:`DiskFrames`, random crops of the videos of one or more datasets on disk (for example the
  benchmark's training split, ``benchmark.suite.generate_suite(tier, split="train")``).

Batches are a pure function of ``(seed, step)`` (:class:`StepBatches`: batch ``s`` is drawn from
``SeedSequence([seed, s])``), so the data do not depend on the number of DataLoader workers, and a
run resumed at step ``s`` sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from skimage.measure import label
from torch.utils.data import IterableDataset, get_worker_info

from simulator.config import list_presets, load_config
from simulator.errors import DatasetError, UserError
from simulator.simulate import simulate_video
from unet.infer import context_stack
from unet.normalize import normalize_frames
from unet.postprocess import targets_from_labels

__all__ = ["Clip", "ClipSource", "SimulatedClips", "Sampler", "ClipSampler", "DiskFrames", "StepBatches", "mirrored_crop",
           "make_samples", "augment"]

log = logging.getLogger(__name__)

#: Attempts at drawing a feasible random clip (rejection sampling of the randomised conditions).
_MAX_DRAWS = 20

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Clip:
    """A short video: frames (T, Y, X) as recorded, labels (T, Y, X), and whether particles are bright."""

    frames: np.ndarray
    labels: np.ndarray
    particles_bright: bool


#: A source of clips: called with a Generator, a frame count and a frame size (px).
ClipSource = Callable[[np.random.Generator, int, int], Clip]


class Sampler(Protocol):
    """Draws ``n`` samples: x (n, context, crop, crop) float32, y (n, 2, crop, crop) float32, labels (n, crop, crop) int32."""

    def __call__(self, rng: np.random.Generator, n: int, context: int, crop: int) -> Sample: ...


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
        count = max(1, int(round(base.particles_in_view() * area_scale * rng.uniform(0.5, 2.5))))
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


def _centre_stacks(clip: Clip, context: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(input (context, Y, X) float32, labels (Y, X)) per centre frame: those with a full context
    (``context // 2`` frames cut at each end)."""
    x = normalize_frames(clip.frames, particles_bright=clip.particles_bright)
    half = context // 2
    for t in range(half, x.shape[0] - half):
        yield x[t - half:t + half + 1], clip.labels[t]


def make_samples(clip: Clip, context: int) -> Iterator[Sample]:
    """(input (context, Y, X) float32, target (2, Y, X) float32, labels (Y, X) int32) per centre frame
    (see :func:`_centre_stacks`)."""
    for x, labels in _centre_stacks(clip, context):
        fg, bd = targets_from_labels(labels)
        yield x, np.stack([fg, bd]), labels.astype(np.int32)


def augment(x: np.ndarray, y: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Sample:
    """Random rotation by k·90° and flip of (C, Y, X) ``x``, ``y`` and (Y, X) ``labels`` (the physics is isotropic)."""
    k = int(rng.integers(4))
    flip = bool(rng.random() < 0.5)
    out = []
    for a in (x, y, labels[None]):
        a = np.rot90(a, k, axes=(1, 2))
        out.append(np.ascontiguousarray(a[:, :, ::-1] if flip else a))
    return out[0], out[1], out[2][0]


def _stack(samples: Sequence[Sample]) -> Sample:
    return tuple(np.stack([s[i] for s in samples]) for i in range(3))  # type: ignore[return-value]


def mirrored_crop(stack: np.ndarray, labels: np.ndarray, *, crop: int, margin: int,
                  rng: np.random.Generator, foreground: bool = False) -> Sample:
    """A random ``crop``×``crop`` window of (C, Y, X) ``stack`` and (Y, X) ``labels`` extended by their
    mirror image: ``margin`` px on each side (at most the size − 1, as at inference,
    :func:`unet.infer.predict_logits`), and further when the frame is smaller than the crop.
    With ``foreground``, the window holds a particle pixel drawn at random (if the frame has any).

    Both are mirrored: a particle cut by the frame's edge continues into its mirror image, in the
    input and in the target alike.  Returns (input, target (2, crop, crop), labels).
    """
    my, mx = min(margin, labels.shape[0] - 1), min(margin, labels.shape[1] - 1)
    py, px = max(0, crop - labels.shape[0] - 2 * my), max(0, crop - labels.shape[1] - 2 * mx)
    # where each row and column of the mirror-extended frame comes from: np.pad of the indices is
    # np.pad of the frame, and only the crop's pixels are gathered (not the whole extended stack)
    rows = np.pad(np.arange(labels.shape[0]), (my, my + py), mode="reflect")
    cols = np.pad(np.arange(labels.shape[1]), (mx, mx + px), mode="reflect")
    if foreground and (particle_px := np.flatnonzero(labels[np.ix_(rows, cols)])).size:
        cy, cx = np.unravel_index(rng.choice(particle_px), (rows.size, cols.size))
        i = int(rng.integers(max(0, cy - crop + 1), min(cy, rows.size - crop) + 1))
        j = int(rng.integers(max(0, cx - crop + 1), min(cx, cols.size - crop) + 1))
    else:
        i = int(rng.integers(rows.size - crop + 1))
        j = int(rng.integers(cols.size - crop + 1))
    r, c = rows[i:i + crop], cols[j:j + crop]
    lab = labels.take(r, axis=0).take(c, axis=1).astype(np.int32)
    fg, bd = targets_from_labels(lab)
    # A particle near (not on) the edge and its mirror copy share an id: as instances (validation
    # F1) they are two.  Pieces of one id that do not touch get their own ids; the targets above,
    # which only see where ids differ between neighbours, are the same either way.
    return (stack.take(r, axis=1).take(c, axis=2), np.stack([fg, bd]),
            label(lab, background=0, connectivity=2).astype(np.int32))


class ClipSampler:
    """Samples from fresh clips of a :data:`ClipSource`, ``centres_per_clip`` centre frames per clip, augmented.

    With a ``margin``, each clip frame is extended by its mirror image and a random crop of the
    clip's size taken from it (:func:`mirrored_crop`).
    """

    def __init__(self, source: ClipSource, *, centres_per_clip: int = 2, margin: int = 0) -> None:
        self.source, self.centres_per_clip, self.margin = source, centres_per_clip, margin

    def __call__(self, rng: np.random.Generator, n: int, context: int, crop: int) -> Sample:
        samples: list[Sample] = []
        while len(samples) < n:
            clip = self.source(rng, self.centres_per_clip + context - 1, crop)
            if self.margin:  # the targets of the mirrored crop, not of the whole frame
                for x, labels in _centre_stacks(clip, context):
                    samples.append(augment(*mirrored_crop(x, labels, crop=crop, margin=self.margin, rng=rng), rng))
            else:
                samples.extend(augment(x, y, lab, rng) for x, y, lab in make_samples(clip, context))
        return _stack(samples[:n])


def _dataset_folders(path: Path) -> list[Path]:
    """``path`` if it is a dataset, else its sub-folders that are datasets (a generated suite)."""
    if (path / "dataset.json").is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if (p / "dataset.json").is_file())
        if found:
            return found
    raise DatasetError(f"--data {path}: not a dataset (no dataset.json) nor a folder of datasets")


class DiskFrames:
    """Random crops of the videos of datasets on disk (every frame normalised once, whole, as at inference).

    Each sample picks a video uniformly, a centre frame uniformly (context edges repeated, as
    :func:`unet.infer.context_stack` does at inference), a random ``crop``×``crop`` window of the
    frame extended by ``margin`` px of its mirror image (:func:`mirrored_crop`; further when the
    frame is smaller than the crop), a random rotation and flip.

    Parameters
    ----------
    paths : sequence of path
        Dataset folders, or folders of datasets (a generated benchmark suite split).
    margin : int
        Mirrored margin (px), as at inference.
    foreground_fraction : float
        Share of the crops forced to hold a particle pixel (nnU-Net's foreground oversampling,
        Isensee et al., Nat. Methods 18, 203 (2021), uses 1/3): a sparse scenario's random crop
        is mostly background, so its particles would take a small part of the gradient.
    """

    def __init__(self, paths: Sequence[str | Path], *, margin: int = 0, foreground_fraction: float = 0.0) -> None:
        from simulator.dataset import open_dataset

        self.margin, self.foreground_fraction = margin, foreground_fraction
        self.videos: list[tuple[np.ndarray, np.ndarray]] = []
        self.names: list[str] = []
        for p in paths:
            for folder in _dataset_folders(Path(p)):
                ds = open_dataset(folder)
                for vid in ds.video_ids:
                    video = ds.read_video(vid)
                    x = normalize_frames(video.frames, particles_bright=video.meta.particles_bright)
                    self.videos.append((x, np.asarray(video.labels)))
                    self.names.append(f"{folder.name}/{vid}")
        if not self.videos:
            raise DatasetError(f"--data {', '.join(map(str, paths))}: no videos")
        log.info("loaded %d videos for training", len(self.videos))

    def __call__(self, rng: np.random.Generator, n: int, context: int, crop: int) -> Sample:
        samples = []
        for _ in range(n):
            x, labels = self.videos[int(rng.integers(len(self.videos)))]
            t = int(rng.integers(x.shape[0]))
            # no draw without oversampling: the batches of earlier runs stay the same
            fg = self.foreground_fraction > 0 and rng.random() < self.foreground_fraction
            sample = mirrored_crop(context_stack(x, t, context), labels[t], crop=crop, margin=self.margin, rng=rng,
                                   foreground=fg)
            samples.append(augment(*sample, rng))
        return _stack(samples)


class StepBatches(IterableDataset):
    """Endless stream of training batches; batch ``s`` is drawn from ``SeedSequence([seed, s])``.

    Worker ``w`` of ``W`` yields steps ``start + w``, ``start + w + W``, ...; the DataLoader
    (``batch_size=None``) takes them round-robin, so the stream is the same for any ``W``.

    Parameters
    ----------
    sampler : Sampler
        :class:`ClipSampler` or :class:`DiskFrames`.
    seed : int
        Root seed.
    start : int
        First step (a resumed run starts where the checkpoint stopped).
    batch_size, context, crop : int
        Samples per batch, frames per input (odd), crop size (px).
    """

    def __init__(self, sampler: Sampler, *, seed: int, start: int = 0, batch_size: int = 8, context: int = 3,
                 crop: int = 128) -> None:
        super().__init__()
        if context % 2 != 1:
            raise ValueError(f"context={context}: expected an odd number of frames")
        self.sampler, self.seed, self.start = sampler, seed, start
        self.batch_size, self.context, self.crop = batch_size, context, crop

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of ``step``: x (B, context, crop, crop), y (B, 2, crop, crop) float32 tensors."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, step]))
        x, y, _ = self.sampler(rng, self.batch_size, self.context, self.crop)
        return torch.from_numpy(x), torch.from_numpy(y)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        step = self.start + worker
        while True:
            yield self.batch(step)
            step += workers
