"""Finding segmentation methods by name, and checking their parameters.

A method is named in one of three ways:

1. a project name (``otsu``, ``sauvola``, ..., and ``unet`` when the ``unet`` package is
   present), resolved lazily from ``"module:function"`` strings, so importing :mod:`baselines`
   imports no other method's package;
2. a third-party name registered in the entry-point group ``nanoaquarium.methods``
   (``[project.entry-points."nanoaquarium.methods"] mine = "mypkg.mymod:segment"``);
3. ``package.module:function`` — which imports that module and so runs its code, by design.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.errors import UserError

from ._params import Param

__all__ = ["ENTRY_POINT_GROUP", "list_methods", "get_method", "validate_params", "parse_params", "method_version"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "nanoaquarium.methods"

#: The project's methods: name -> ("module:function", one-line description).
_PROJECT_METHODS: dict[str, tuple[str, str]] = {
    "otsu": ("baselines.threshold:otsu", "global Otsu threshold + watershed split (scikit-image)"),
    "li": ("baselines.threshold:li", "global Li minimum cross-entropy threshold (scikit-image)"),
    "triangle": ("baselines.threshold:triangle", "global triangle threshold (scikit-image)"),
    "yen": ("baselines.threshold:yen", "global Yen threshold (scikit-image)"),
    "isodata": ("baselines.threshold:isodata", "global ISODATA threshold (scikit-image)"),
    "mean": ("baselines.threshold:mean", "global threshold at the mean intensity (scikit-image)"),
    "minimum": ("baselines.threshold:minimum", "global threshold between two histogram peaks (scikit-image)"),
    "sauvola": ("baselines.threshold:sauvola", "local Sauvola threshold in a sliding window (scikit-image)"),
    "niblack": ("baselines.threshold:niblack", "local Niblack threshold in a sliding window (scikit-image)"),
    "local": ("baselines.threshold:local", "local Gaussian-weighted mean threshold (scikit-image)"),
    "unet": ("unet.method:segment", "U-Net trained on simulated videos (unet package)"),
}


def _project_methods() -> dict[str, tuple[str, str]]:
    """The project table, without methods whose module is not installed."""
    out = {}
    for name, (target, desc) in _PROJECT_METHODS.items():
        module = target.split(":")[0]
        try:
            present = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            present = False
        if present:
            out[name] = (target, desc)
    return out


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for name in set(eps) & set(_PROJECT_METHODS):
        log.warning("entry point %r (%s) is shadowed by the project's method of that name", name, eps[name].value)
        del eps[name]
    return eps


def _first_line(func: Any) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else "(no description)"


def list_methods() -> dict[str, str]:
    """Every method name (project and third-party) with a one-line description."""
    out = {name: desc for name, (_, desc) in _project_methods().items()}
    for name, ep in sorted(_entry_points().items()):
        try:
            desc = _first_line(ep.load())
        except Exception as exc:  # a broken third-party package must not hide the others
            desc = f"(cannot be loaded: {type(exc).__name__}: {exc})"
        dist = f" [{ep.dist.name}]" if getattr(ep, "dist", None) is not None else ""
        out[name] = f"{desc}{dist}"
    return out


def _resolve_target(target: str, *, what: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (the function may be dotted: ``Class.method``)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"method {what}: expected 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UserError(f"method {what}: cannot import module {module_name!r} ({exc})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UserError(f"method {what}: module {module_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise UserError(f"method {what}: {target} is not callable")
    return obj


def get_method(name: str) -> Callable[..., Any]:
    """The segmentation function ``segment(video, meta, **params) -> labels`` named ``name``.

    Parameters
    ----------
    name : a project method, an entry point of group ``nanoaquarium.methods``, or
        ``package.module:function`` (imports that module: it runs its code, by design)

    Raises
    ------
    UserError
        Unknown name (the message lists the valid ones) or a target that cannot be imported.
    """
    project = _project_methods()
    if name in project:
        return _resolve_target(project[name][0], what=name)
    eps = _entry_points()
    if name in eps:
        try:
            func = eps[name].load()
        except Exception as exc:
            raise UserError(f"method {name}: entry point {eps[name].value} cannot be loaded "
                            f"({type(exc).__name__}: {exc})") from None
        if not callable(func):
            raise UserError(f"method {name}: entry point {eps[name].value} is not callable")
        return func
    if ":" in name:
        return _resolve_target(name, what=name)
    valid = ", ".join([*project, *sorted(eps)])
    raise UserError(f"unknown method {name!r}; valid methods: {valid} (or package.module:function)")


def validate_params(func: Callable[..., Any], params: Any, *, method: str | None = None) -> dict[str, Any]:
    """Check ``params`` against ``func``'s keyword parameters; return them converted.

    A project method's parameters carry their allowed values (``__nanoaq_params__``); for any
    other function a value must have the type of the parameter's default (when it has one).  A
    method may also carry ``__nanoaq_check__(params)``, run last on the checked parameters, for
    checks that one parameter's allowed values cannot say (ranges of the U-Net's tiling, a device
    that must exist); it raises UserError.

    Raises
    ------
    UserError
        One line naming the method, the bad parameter and what is allowed.
    """
    method = method or getattr(func, "__name__", repr(func))
    if not isinstance(params, dict):
        raise UserError(f"method {method}: parameters must be a JSON object of name: value, got {type(params).__name__}")
    specs: dict[str, Param] | None = getattr(func, "__nanoaq_params__", None)
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return dict(params)
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = [p for p in list(sig.parameters.values())[2:] if p.kind in kinds]
    allowed = {p.name: p for p in named}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    out = {}
    for key, value in params.items():
        if specs is not None and key in specs:
            converted = specs[key].check(value)
            if converted is None:
                raise UserError(f"method {method}: parameter {key!r} = {json.dumps(value)} is not allowed; "
                                f"expected {specs[key].allowed()}")
            out[key] = converted
        elif key in allowed:
            default = allowed[key].default
            if default is not inspect.Parameter.empty and default is not None and not _same_kind(value, default):
                raise UserError(f"method {method}: parameter {key!r} = {json.dumps(value)} is not allowed; "
                                f"expected {type(default).__name__} like its default {default!r}")
            out[key] = value
        elif open_ended and specs is None:
            out[key] = value
        else:
            names = ", ".join(specs or allowed) or "(none)"
            raise UserError(f"method {method}: unknown parameter {key!r}; allowed parameters: {names}")
    check = getattr(func, "__nanoaq_check__", None)
    if check is not None:
        check(out)
    return out


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def parse_params(spec: str | None) -> dict[str, Any]:
    """Parameters from a JSON object string, or ``@file.json`` (the tuner's output).

    Raises
    ------
    UserError
        An unreadable file, invalid JSON, or JSON that is not an object.
    """
    if spec is None or not spec.strip():
        return {}
    source = "--params"
    text = spec
    if spec.startswith("@"):
        path = Path(spec[1:])
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--params {spec}: cannot read {path} ({exc.strerror or exc})") from None
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(params, dict):
        raise UserError(f"{source}: expected a JSON object of name: value, got {type(params).__name__}")
    return params


def method_version(func: Callable[..., Any]) -> str:
    """Version of the package that provides ``func`` (its ``__version__`` or its distribution)."""
    top = (getattr(func, "__module__", None) or "").split(".")[0]
    if not top:
        return "unknown"
    module = importlib.import_module(top)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    for dist in importlib.metadata.packages_distributions().get(top, []):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"
