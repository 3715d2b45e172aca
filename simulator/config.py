"""Simulation configuration: validated pydantic models, TOML presets and ``key=value`` overrides.

A configuration is a :class:`SimulationConfig`.  It comes from a preset shipped in
``simulator/presets/<name>.toml`` (or a user's TOML file), with overrides such as
``imaging.dose_rate_e_per_A2_s=20`` applied on top.  Every unknown key, wrong type and
out-of-range value is a :class:`~simulator.errors.ConfigError` whose one-line message names the
key, the value given and what is allowed.

Units follow ``../shared/DESIGN.md``: nm, s, e⁻/Å², e⁻/Å²/s, radians, K.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

__all__ = [
    "VideoConfig",
    "ImagingConfig",
    "DetectorConfig",
    "LiquidConfig",
    "ParticlesConfig",
    "DynamicsConfig",
    "SimulationConfig",
    "list_presets",
    "load_config",
    "config_schema",
    "apply_overrides",
]


class _Strict(BaseModel):
    """Base for every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class VideoConfig(_Strict):
    """How many videos, frames and pixels."""

    count: int = Field(1, ge=1, le=100_000, description="number of videos in the dataset")
    frames: int = Field(20, ge=1, le=1_000_000, description="frames per video")
    height_px: int = Field(256, ge=16, le=8192, description="frame height in pixels")
    width_px: int = Field(256, ge=16, le=8192, description="frame width in pixels")


class ImagingConfig(_Strict):
    """Electron-optical conditions."""

    mode: Literal["bright-field", "haadf"] = Field(
        "bright-field", description="bright-field TEM (dark particles) or HAADF-STEM (bright)"
    )
    pixel_size_nm: float = Field(1.0, gt=0.01, le=100.0, description="pixel size at the sample (nm)")
    exposure_s: float = Field(0.05, gt=0.0, le=60.0, description="exposure time of one frame (s)")
    frame_interval_s: float = Field(0.1, gt=0.0, le=3600.0, description="time between frames (s)")
    dose_rate_e_per_A2_s: float = Field(
        100.0, gt=0.0, le=1e6, description="electron dose rate at the sample (e-/A^2/s)"
    )

    @model_validator(mode="after")
    def _exposure_fits_interval(self) -> "ImagingConfig":
        if self.exposure_s > self.frame_interval_s:
            raise ValueError(
                f"exposure_s ({self.exposure_s}) must not exceed frame_interval_s "
                f"({self.frame_interval_s})"
            )
        return self


class DetectorConfig(_Strict):
    """Camera model."""

    model: Literal["ideal", "counting", "integrating"] = Field(
        "integrating",
        description="ideal: exact Poisson counts; counting: + MTF and coincidence loss; "
        "integrating: + deposit spread, gain, read noise, offset, defects, saturation",
    )


class LiquidConfig(_Strict):
    """The liquid cell: two windows and the liquid between them."""

    thickness_nm: float = Field(
        150.0, gt=0.0, le=10_000.0, description="liquid thickness at the cell centre (nm)"
    )


class ParticlesConfig(_Strict):
    """The particle population."""

    count: int = Field(20, ge=0, le=1_000_000, description="particles per video at the start")


class DynamicsConfig(_Strict):
    """Motion of the particles."""

    model: Literal["static"] = Field("static", description="motion model")
    interactions: bool = Field(False, description="pair interactions between particles")


class SimulationConfig(_Strict):
    """The whole configuration of one simulated dataset."""

    preset: str = Field("custom", description="name of the preset this configuration came from")
    description: str = Field("", description="one line saying what the preset simulates")
    video: VideoConfig = VideoConfig()
    imaging: ImagingConfig = ImagingConfig()
    detector: DetectorConfig = DetectorConfig()
    liquid: LiquidConfig = LiquidConfig()
    particles: ParticlesConfig = ParticlesConfig()
    dynamics: DynamicsConfig = DynamicsConfig()

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, so equal configs give equal bytes."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2)


# --------------------------------------------------------------------------- presets


def _preset_files() -> dict[str, Any]:
    folder = resources.files("simulator") / "presets"
    return {p.name[: -len(".toml")]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def list_presets() -> dict[str, str]:
    """Names of the shipped presets with their one-line descriptions, sorted by name."""
    out = {}
    for name, path in sorted(_preset_files().items()):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out[name] = str(data.get("description", ""))
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot read it as UTF-8 text ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None


def _parse_value(text: str) -> Any:
    """A command-line value: a TOML value if it parses as one, else the plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides to a nested dict (a new dict is returned).

    Values are parsed as TOML (``3``, ``2.5``, ``true``, ``"Au"``, ``[1, 2]``) and fall back to
    a plain string.  Whether the key exists is checked by validation afterwards.
    """
    out = json.loads(json.dumps(data))
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. particles.count=30")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is a value, not a section")
            node = child
        node[parts[-1]] = _parse_value(raw.strip())
    return out


def _format_validation_error(exc: ValidationError, data: dict[str, Any], origin: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        section = err["loc"][:-1]
        model: Any = SimulationConfig
        for part in section:
            field = model.model_fields.get(str(part))
            model = field.annotation if field is not None else None
            if model is None:
                break
        allowed = ", ".join(sorted(model.model_fields)) if model is not None else "?"
        return f"{origin}: unknown key {loc!r}; allowed keys here: {allowed}"
    value = err.get("input")
    if isinstance(value, dict):
        return f"{origin}: {loc}: {msg}"
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    where = f"{loc} = {shown}" if loc else "config"
    return f"{origin}: {where}: {msg}"


def validate_config(data: dict[str, Any], *, origin: str = "config") -> SimulationConfig:
    """Validate a nested dict into a :class:`SimulationConfig` (one-line ConfigError if invalid)."""
    try:
        return SimulationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, data, origin)) from None


def load_config(
    preset: str | None = None,
    *,
    file: str | Path | None = None,
    overrides: list[str] | None = None,
) -> SimulationConfig:
    """Load a preset (or a TOML file), apply overrides and validate.

    Examples
    --------
    >>> cfg = load_config("brownian-prisms", overrides=["particles.count=3"])
    >>> cfg.particles.count
    3
    """
    if preset is not None and file is not None:
        raise ConfigError("give either a preset or a config file, not both")
    if file is not None:
        data = _read_toml(Path(file))
        origin = str(file)
        data.setdefault("preset", Path(file).stem)
    else:
        name = preset or "brownian-prisms"
        files = _preset_files()
        if name not in files:
            raise ConfigError(
                f"preset {name!r} does not exist; valid presets: {', '.join(sorted(files))}"
            )
        data = tomllib.loads(files[name].read_text(encoding="utf-8"))
        data["preset"] = name
        origin = f"preset {name}"
    data = apply_overrides(data, list(overrides or []))
    return validate_config(data, origin=origin)


def config_schema() -> dict[str, Any]:
    """JSON schema of :class:`SimulationConfig` (what ``nanoaq schema`` prints)."""
    return SimulationConfig.model_json_schema()
