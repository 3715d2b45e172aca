"""Finding segmentation methods by name.

A method is any callable ``segment(video, meta, **params) -> labels``.  It is named

- by a project name (``otsu``, ``sauvola``, … and ``unet`` when the U-Net package is present),
- by a third-party name registered in the entry-point group ``nanoaquarium.methods``
  (in the third party's ``pyproject.toml``: ``[project.entry-points."nanoaquarium.methods"]
  mymethod = "mypkg.mymod:segment"``),
- or as ``package.module:function``, which imports and runs that code: **name only code you
  trust**.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
from collections.abc import Callable
from typing import Any

from simulator.errors import UserError

from .threshold import GLOBAL_THRESHOLDS, LOCAL_THRESHOLDS, make_method, threshold_video

__all__ = ["ENTRY_POINT_GROUP", "list_methods", "get_method", "method_parameters", "validate_params"]

ENTRY_POINT_GROUP = "nanoaquarium.methods"

_DESCRIPTIONS = {
    "otsu": "global Otsu threshold (between-class variance)",
    "li": "global Li threshold (minimum cross-entropy)",
    "triangle": "global triangle threshold (histogram shape)",
    "yen": "global Yen threshold (maximum correlation)",
    "isodata": "global ISODATA threshold (iterative intermeans)",
    "mean": "global mean-intensity threshold",
    "minimum": "global minimum threshold (valley of the smoothed histogram)",
    "sauvola": "local Sauvola threshold (window mean and std)",
    "niblack": "local Niblack threshold (window mean and std)",
    "local": "local Gaussian-weighted mean threshold",
}

Method = Callable[..., Any]


def _project_methods() -> dict[str, str]:
    out = dict(_DESCRIPTIONS)
    if importlib.util.find_spec("unet") is not None and importlib.util.find_spec("unet.method") is not None:
        out["unet"] = "U-Net trained on the simulator (shipped weights; --params '{\"model\": DIR}')"
    return out


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def list_methods() -> dict[str, str]:
    """Every known method name with a one-line description (project first, then third-party)."""
    out = _project_methods()
    for name, ep in sorted(_entry_points().items()):
        if name not in out:
            out[name] = f"third-party: {ep.value}"
    return out


def _import_target(spec: str) -> Method:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"method {spec!r}: cannot import module {module_name!r} ({exc})") from None
    func = module
    for part in attr.split("."):
        func = getattr(func, part, None)
        if func is None:
            raise UserError(f"method {spec!r}: module {module_name!r} has no {attr!r}")
    if not callable(func):
        raise UserError(f"method {spec!r}: {attr!r} is not callable")
    return func


def get_method(name: str) -> Method:
    """The segmentation function for a project name, an entry-point name or ``module:function``."""
    if name in GLOBAL_THRESHOLDS or name in LOCAL_THRESHOLDS:
        return make_method(name)
    if name == "unet" and "unet" in _project_methods():
        return _import_target("unet.method:segment")
    eps = _entry_points()
    if name in eps:
        try:
            func = eps[name].load()
        except Exception as exc:
            raise UserError(f"method {name!r}: its entry point {eps[name].value!r} fails to load ({exc})") from None
        return func
    if ":" in name:
        return _import_target(name)
    raise UserError(
        f"method {name!r} is unknown; valid methods: {', '.join(list_methods())}, "
        "or package.module:function"
    )


def method_parameters(func: Method) -> dict[str, Any]:
    """Keyword parameters a method accepts, with their defaults."""
    target = threshold_video if getattr(func, "__module__", "") == "baselines.threshold" else func
    params = {}
    for p in inspect.signature(target).parameters.values():
        if p.kind == p.KEYWORD_ONLY and p.name != "method":
            params[p.name] = None if p.default is p.empty else p.default
    return params


def validate_params(name: str, func: Method, params: dict[str, Any]) -> None:
    """A one-line error naming an unknown parameter and the allowed ones."""
    if not isinstance(params, dict):
        raise UserError(f"--params for {name}: expected a JSON object, got {type(params).__name__}")
    sig = inspect.signature(func)
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()) and getattr(func, "__module__", "") != "baselines.threshold":
        return
    allowed = method_parameters(func)
    for key in params:
        if key not in allowed:
            raise UserError(f"parameter {key!r} is unknown for method {name}; allowed: {', '.join(allowed)}")
