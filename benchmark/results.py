"""``results.json`` (schema version 1): what the report and the regression gate read.

The file holds ``{"schema_version": 1, "runs": [...]}``, one :class:`Results` per method.

Metrics that are undefined for a video (no anisotropic particle for the orientation error, say)
are ``null``.  Aggregates are means over videos: per task (scenario), per difficulty level and
overall.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.errors import DatasetError
from simulator.outfile import check_out_file, write_atomic

__all__ = ["SCHEMA_VERSION", "SuiteInfo", "MethodInfo", "VideoResult", "Results", "environment",
           "aggregate", "check_results_out", "load_results", "save_results"]

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteInfo(_Model):
    name: str
    version: str
    tier: str
    checksum: str
    path: str | None = None


class MethodInfo(_Model):
    name: str
    params: dict[str, Any] = {}
    version: str = ""


class VideoResult(_Model):
    task: str
    video_id: str
    scenario: str
    level: str
    dose_rate_e_per_A2_s: float | None = None
    metrics: dict[str, float | None]
    frame_f1: list[float] = []
    seconds_per_frame: float | None = None
    peak_memory_mb: float | None = None
    tracks_linked: bool = False


class Results(_Model):
    schema_version: int = SCHEMA_VERSION
    suite: SuiteInfo
    method: MethodInfo
    environment: dict[str, Any]
    videos: list[VideoResult]
    aggregates: dict[str, dict[str, float | None]]
    predictions: str | None = None


def environment() -> dict[str, Any]:
    """Package versions and hardware, for the record."""
    from importlib.metadata import PackageNotFoundError, version

    pkgs = {}
    for name in ("nanoaquarium", "numpy", "numba", "scipy", "scikit-image", "torch", "py-ctcmetrics"):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": platform.processor()
            or platform.machine(), "cpu_count": os.cpu_count(), "gpu": gpu, "packages": pkgs}


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else None


def aggregate(videos: list[VideoResult]) -> dict[str, dict[str, float | None]]:
    """Means of every metric per scenario, per level and overall."""
    groups: dict[str, dict[str, list[VideoResult]]] = {"scenario": defaultdict(list), "level": defaultdict(list),
                                                       "overall": defaultdict(list)}
    for v in videos:
        groups["scenario"][v.scenario].append(v)
        groups["level"][v.level].append(v)
        groups["overall"]["all"].append(v)
    out: dict[str, dict[str, float | None]] = {}
    for kind, by in groups.items():
        for key, vs in by.items():
            names = sorted({m for v in vs for m in v.metrics})
            row = {m: _mean([v.metrics.get(m) for v in vs]) for m in names}
            row["seconds_per_frame"] = _mean([v.seconds_per_frame for v in vs])
            row["peak_memory_mb"] = _mean([v.peak_memory_mb for v in vs])
            out[f"{kind}:{key}"] = row
    return out


def clean(value: float | None) -> float | None:
    """JSON-safe: NaN and infinities become null."""
    return None if value is None or not math.isfinite(value) else float(value)


def check_results_out(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line UserError when it cannot take a results file (call it
    before the work)."""
    return check_out_file(path, expected="a results file", example="results.json")


def save_results(runs: list[Results], path: str | Path) -> Path:
    """Write the runs atomically (a temporary file renamed into place, removed if that fails)."""
    path = check_results_out(path)
    data = {"schema_version": SCHEMA_VERSION, "runs": [r.model_dump(mode="json") for r in runs]}
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def load_results(path: str | Path) -> list[Results]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not a JSON results file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(f"{path}: schema_version must be {SCHEMA_VERSION}")
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise DatasetError(f"{path}: 'runs' must be a non-empty list of method results")
    try:
        return [Results.model_validate(r) for r in runs]
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DatasetError(f"{path}: runs.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
