"""The settings of a training run (:class:`TrainConfig`), kept apart from :mod:`unet.train` so that
the command line can show their defaults without importing PyTorch."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the model's JSON)."""

    steps: int = 2000
    batch_size: int = 8
    #: peak learning rate of AdamW (Loshchilov & Hutter, ICLR 2019): the project's choice, not swept
    #: (three times Adam's customary 1e-3, Kingma & Ba 2015, with the warm-up below); the shipped
    #: model trained with it (unet/weights/README.md)
    lr: float = 3e-3
    #: AdamW's decoupled weight decay: the project's choice, not swept; light (PyTorch's default is
    #: 1e-2), so over a few thousand steps at lr <= 3e-3 it shrinks the weights by well under 1 %
    weight_decay: float = 1e-4
    #: share of the steps over which the learning rate rises linearly before the cosine decay
    #: (:func:`unet.train._lr_factor`): gradual warm-up as in Goyal et al. 2017, whose 5 of 90
    #: epochs this 5 % follows
    warmup: float = 0.05
    seed: int = 0
    crop: int = 128
    context: int = 3
    depth: int = 3
    base_width: int = 16
    norm: str = "batch"
    dropout: float = 0.0
    presets: list[str] = field(default_factory=list)
    val_clips: int = 12
    val_every: int = 200
    workers: int = 0
    data: list[str] = field(default_factory=list)
    val_data: list[str] = field(default_factory=list)
    tune_postprocess: bool = True
    #: mirrored margin (px) around every frame, in training crops and at inference
    #: (:func:`unet.infer.predict_logits`); models saved without it used 0
    margin: int = 32
    #: share of the training crops forced to hold a particle (:class:`unet.data.DiskFrames`; data on disk)
    foreground_fraction: float = 0.0
    #: forward pass under bfloat16 autocast (weights, optimizer and loss stay float32): on a CPU with
    #: AMX or AVX512-BF16 a step is ~2x faster; on CUDA it replaces the float16 autocast
    bf16: bool = False
    #: hand every encoder stage the input frames average-pooled to its scale (:class:`unet.model.UNet`)
    input_pyramid: bool = False
