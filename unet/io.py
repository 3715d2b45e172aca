"""Saving and loading models: weights as safetensors plus a JSON config; never unpickles.

A model folder (MODELDIR) holds ``model.safetensors`` and ``model.json``.  A ``.safetensors``
file may also be named directly, with its config beside it under the same stem
(``default.safetensors`` + ``default.json``, the shipped model in ``unet/weights/``).
The JSON config records the architecture, the normalisation, the post-processing, the training
command, the code version and the validation scores.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from simulator.errors import UserError
from simulator.outfile import write_atomic
from unet.model import UNet
from unet.normalize import DEFAULT_PERCENTILES
from unet.postprocess import instances_from_probabilities

__all__ = ["save_model", "load_model", "load_config", "resolve_model_path", "DEFAULT_MODEL", "FORMAT", "WEIGHTS_NAME",
           "CONFIG_NAME"]

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_config(cfg: dict[str, Any], cfg_path: Path) -> None:
    """The fields of a model config that inference uses besides the architecture: ``postprocess``
    (keyword arguments of :func:`unet.postprocess.instances_from_probabilities`), ``training.margin``
    and ``normalization``; a bad one is a UserError naming the file and the field."""
    def bad(field: str, value: Any, expected: str) -> UserError:
        return UserError(f"model config {cfg_path}: {field} = {json.dumps(value)}; expected {expected}")

    post = cfg.get("postprocess", {})
    if not isinstance(post, dict):
        raise bad("postprocess", post, "an object of post-processing parameters")
    params = {name: p.default for name, p in inspect.signature(instances_from_probabilities).parameters.items()
              if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for key, value in post.items():
        if key not in params:
            raise UserError(f"model config {cfg_path}: unknown postprocess key {key!r}; expected some of "
                            f"{', '.join(params)}")
        default = params[key]
        if type(default) is int:
            ok, expected = _is_number(value) and isinstance(value, int) and value >= 0, "an integer >= 0"
        else:
            ok = _is_number(value) or (default is None and value is None)
            expected = "a number" + (" or null" if default is None else "")
        if not ok:
            raise bad(f"postprocess.{key}", value, expected)
    training = cfg.get("training", {})
    if not isinstance(training, dict):
        raise bad("training", training, "an object")
    margin = training.get("margin", 0)
    if not (_is_number(margin) and isinstance(margin, int) and margin >= 0):
        raise bad("training.margin", margin, "an integer >= 0 (px)")
    norm = cfg.get("normalization", {})
    if not isinstance(norm, dict):
        raise bad("normalization", norm, "an object")
    unknown = set(norm) - {"percentiles", "invert_bright_field"}
    if unknown:
        raise UserError(f"model config {cfg_path}: unknown normalization keys {sorted(unknown)}; expected "
                        "percentiles, invert_bright_field")
    pct = norm.get("percentiles", list(DEFAULT_PERCENTILES))
    if not (isinstance(pct, list) and len(pct) == 2 and all(map(_is_number, pct)) and 0 <= pct[0] < pct[1] <= 100):
        raise bad("normalization.percentiles", pct, "[low, high] with 0 <= low < high <= 100")
    if norm.get("invert_bright_field", True) is not True:  # what unet.normalize (training and inference) does
        raise bad("normalization.invert_bright_field", norm["invert_bright_field"],
                  "true (bright-field frames are always inverted)")


def load_config(path: str | os.PathLike[str] | None = None) -> tuple[Path, Path, dict[str, Any]]:
    """The weights path, config path and checked config of a model folder/file (None = the shipped
    default), without loading the weights: what :func:`load_model` checks before it builds the model.

    Raises
    ------
    UserError
        One line naming the file and the field: a missing file, JSON that is not a model config, an
        unknown architecture or postprocess key, a value of the wrong type or range.
    """
    weights, cfg_path = resolve_model_path(path)
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"model config {cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT or not isinstance(cfg.get("architecture"), dict):
        raise UserError(f"model config {cfg_path}: expected format {FORMAT!r} with an 'architecture' object")
    unknown = set(cfg["architecture"]) - set(_ARCH_KEYS)
    if unknown:
        raise UserError(f"model config {cfg_path}: unknown architecture keys {sorted(unknown)}")
    _check_config(cfg, cfg_path)
    return weights, cfg_path, cfg


def load_model(path: str | os.PathLike[str] | None = None, *, device: str | torch.device = "cpu") -> tuple[UNet, dict[str, Any]]:
    """Rebuild a model from its folder/file; None = the shipped default. Returns (model in eval mode, config).

    The config is checked first (:func:`load_config`)."""
    weights, cfg_path, cfg = load_config(path)
    arch = cfg["architecture"]
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
