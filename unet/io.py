"""Saving and loading models: weights as safetensors plus a JSON config; never unpickles.

A model folder (MODELDIR) holds ``model.safetensors`` and ``model.json``.  A ``.safetensors``
file may also be named directly, with its config beside it under the same stem
(``default.safetensors`` + ``default.json``, the shipped model in ``unet/weights/``).
The JSON config records the architecture, the normalisation, the post-processing, the training
command, the code version and the validation scores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from simulator.errors import UserError
from simulator.outfile import write_atomic
from unet.model import UNet

__all__ = ["save_model", "load_model", "resolve_model_path", "DEFAULT_MODEL", "FORMAT", "WEIGHTS_NAME", "CONFIG_NAME"]

FORMAT = "nanoaquarium-unet-1"
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "model.json"
DEFAULT_MODEL = Path(__file__).resolve().parent / "weights" / "default.safetensors"
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
_ARCH_KEYS = ("in_channels", "depth", "base_width", "norm", "dropout", "out_channels", "input_pyramid")


def resolve_model_path(path: str | os.PathLike[str] | None) -> tuple[Path, Path]:
    """(weights, config) paths of a model folder or ``.safetensors`` file; None = shipped default."""
    p = DEFAULT_MODEL if path is None else Path(path)
    if p.suffix.lower() in _PICKLE_SUFFIXES:
        raise UserError(f"model {p}: pickle/torch files are refused (they can run code); expected a MODELDIR "
                        f"with {WEIGHTS_NAME} and {CONFIG_NAME}")
    if p.is_dir():
        weights, config = p / WEIGHTS_NAME, p / CONFIG_NAME
    elif p.suffix == ".safetensors":
        weights, config = p, p.with_suffix(".json")
    else:
        raise UserError(f"model {p}: not found; expected a MODELDIR with {WEIGHTS_NAME} and {CONFIG_NAME}")
    if not weights.is_file():
        raise UserError(f"model {p}: weights {weights.name} missing")
    if not config.is_file():
        raise UserError(f"model {p}: config {config.name} missing (needed to rebuild the architecture)")
    return weights, config


def save_model(path: str | os.PathLike[str], model: UNet, config: dict[str, Any]) -> Path:
    """Write ``model`` and ``config`` (its ``architecture`` key is filled from ``model``).

    ``path`` is a folder (``model.safetensors`` + ``model.json`` inside) or a ``.safetensors`` file.
    Each file is written to a temporary name and renamed, so nothing half-written is left.
    Returns the weights path.
    """
    p = Path(path)
    weights, cfg_path = (p, p.with_suffix(".json")) if p.suffix == ".safetensors" else (p / WEIGHTS_NAME, p / CONFIG_NAME)
    cfg = dict(config)
    cfg["format"] = FORMAT
    cfg["architecture"] = architecture_of(model)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": FORMAT}))
    write_atomic(cfg_path, json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    return weights


def architecture_of(model: UNet) -> dict[str, Any]:
    """The constructor arguments of ``model`` (stored on it by :class:`UNet`)."""
    return dict(model.hparams)


def load_model(path: str | os.PathLike[str] | None = None, *, device: str | torch.device = "cpu") -> tuple[UNet, dict[str, Any]]:
    """Rebuild a model from its folder/file; None = the shipped default. Returns (model in eval mode, config)."""
    weights, cfg_path = resolve_model_path(path)
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"model config {cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT or not isinstance(cfg.get("architecture"), dict):
        raise UserError(f"model config {cfg_path}: expected format {FORMAT!r} with an 'architecture' object")
    arch = cfg["architecture"]
    unknown = set(arch) - set(_ARCH_KEYS)
    if unknown:
        raise UserError(f"model config {cfg_path}: unknown architecture keys {sorted(unknown)}")
    try:
        model = UNet(**arch)
    except (TypeError, ValueError) as exc:
        raise UserError(f"model config {cfg_path}: bad architecture ({exc})") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise UserError(f"model weights {weights}: not a safetensors file ({exc})") from None
    expected = model.state_dict()
    missing, extra = set(expected) - set(state), set(state) - set(expected)
    bad_shape = [k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape)]
    if missing or extra or bad_shape:
        detail = (f"missing {sorted(missing)[:3]}" if missing else f"unexpected {sorted(extra)[:3]}" if extra
                  else f"shape of {sorted(bad_shape)[:3]}")
        raise UserError(f"model {weights}: weights do not match the architecture in {cfg_path.name} ({detail})")
    model.load_state_dict(state)
    model.to(device).eval()
    return model, cfg
