"""The ``unet`` segmentation method: ``segment(video, meta) -> labels`` (DESIGN.md contract)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np

from simulator.errors import UserError
from simulator.video import VideoMeta
from unet.infer import check_device, predict_logits
from unet.io import load_config, load_model
from unet.model import UNet
from unet.postprocess import instances_from_probabilities

__all__ = ["segment", "check_params"]


@lru_cache(maxsize=4)
def _cached(path: str | None, device: str) -> tuple[UNet, dict[str, Any]]:
    return load_model(path, device=device)


def segment(
    video: np.ndarray,
    meta: VideoMeta,
    *,
    model: UNet | str | os.PathLike[str] | None = None,
    device: str = "cpu",
    tile: int = 576,
    overlap: int = 32,
    batch: int = 4,
    margin: int | None = None,
    tta: bool = False,
) -> np.ndarray:
    """Segment every frame of a video with a U-Net.

    Parameters
    ----------
    video : (T, Y, X) array, uint8, uint16 or float
        Frames as recorded.
    meta : VideoMeta
        Only ``meta.particles_bright`` (imaging polarity) is used.
    model : UNet, str, path or None
        A model, a MODELDIR / ``.safetensors`` path, or None for the shipped default
        (``unet/weights/default.safetensors``).  A saved model's JSON gives the normalisation
        percentiles, the post-processing and the trained margin (a model object: the defaults).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (half precision autocast on GPU).
    tile, overlap, batch : int
        Tiling (px; tile >= 1, overlap >= 0) and tiles per forward pass (>= 1) (see
        :func:`unet.infer.predict_logits`).
    margin : int or None
        Mirrored margin (px, >= 0) around each frame (:func:`unet.infer.predict_logits`); None: the one
        the model was trained with (its JSON's ``training.margin``; 0 for a model object or a
        model saved without one).
    tta : bool
        Test-time augmentation: average the logits of each frame's 8 rotations and mirror images
        (:mod:`unet.infer`); eight times slower.  For the shipped model on the benchmark's standard
        tier a gain of 0.004 on average (mean f1@0.5 0.661 with it, 0.657 without, within a cell's
        noise), +0.15 over the best tuned baseline in 6 instead of 7 of the 10 low-dose cells
        (``unet/weights/README.md``).

    Returns
    -------
    (T, Y, X) int32 labels, 0 = background; labels are per frame (not linked over time).

    Notes
    -----
    The first call sets glibc's malloc to keep freed buffers for the rest of the process
    (:func:`unet.malloc.retain_freed_memory`: 10–12 instead of 7–9 frames/s of 512×512 on 2 CPU
    cores, and a resident size that stays at its peak).

    Raises
    ------
    UserError
        One line naming a parameter out of range, or a device torch cannot use, or a model file or
        field of its JSON that is not valid (:func:`unet.io.load_config`).
    """
    check_params({"device": device, "tile": tile, "overlap": overlap, "batch": batch, "margin": margin, "tta": tta})
    post: dict[str, Any] = {}
    trained_margin = 0
    norm: dict[str, Any] = {}
    if isinstance(model, UNet):
        net = model.to(device).eval()
    else:
        net, cfg = _cached(None if model is None else str(model), device)  # its JSON checked by load_model
        post = dict(cfg.get("postprocess", {}))
        trained_margin = cfg.get("training", {}).get("margin", 0)
        if "percentiles" in cfg.get("normalization", {}):
            norm["percentiles"] = tuple(cfg["normalization"]["percentiles"])
    video = np.asarray(video)
    out = np.zeros(video.shape if video.ndim == 3 else (1, *video.shape), np.int32)
    for t, logits in enumerate(predict_logits(video, net, particles_bright=meta.particles_bright, device=device,
                                              tile=tile, overlap=overlap, batch=batch,
                                              margin=trained_margin if margin is None else margin, tta=tta,
                                              **norm)):
        prob = 1.0 / (1.0 + np.exp(-logits))
        out[t] = instances_from_probabilities(prob[0], prob[1], **post)
    return out


def check_params(params: dict[str, Any]) -> None:
    """Range checks of :func:`segment`'s parameters ``params`` (those not given are not checked).

    Also its ``__nanoaq_check__``, which :func:`baselines.registry.validate_params` runs, so that
    ``nanoaq bench --methods unet --params ...`` refuses a bad value before generating the suite.
    A ``model`` path is resolved and its JSON checked (:func:`unet.io.load_config`; the weights
    are not read).

    Raises
    ------
    UserError
        One line naming a parameter out of range, a device torch cannot use, or a model that is
        missing or whose JSON is not valid.
    """
    for name, low in (("tile", 1), ("overlap", 0), ("batch", 1), ("margin", 0)):
        value = params.get(name, low)
        if value is None and name == "margin":  # the trained model's own
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise UserError(f"method unet: parameter {name!r} = {value!r} is not allowed; expected an integer >= {low}")
    if not isinstance(params.get("tta", False), bool):  # the string "false" would switch it on
        raise UserError(f"method unet: parameter 'tta' = {params['tta']!r} is not allowed; expected true or false")
    if "device" in params:
        check_device(params["device"], what=f"method unet: parameter 'device' = {params['device']!r}")
    model = params.get("model")
    if "model" in params and not isinstance(model, UNet):
        if model is not None and not isinstance(model, (str, os.PathLike)):
            raise UserError(f"method unet: parameter 'model' = {model!r} is not allowed; expected a MODELDIR or "
                            ".safetensors path")
        try:
            load_config(model)
        except UserError as exc:
            raise UserError(f"method unet: parameter 'model': {exc}") from None


segment.__nanoaq_check__ = check_params  # type: ignore[attr-defined]
