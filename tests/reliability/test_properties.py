"""Invariants checked on generated inputs (hypothesis): configs round-trip through TOML and JSON;
metrics are perfect on a perfect prediction and blind to label values; rasterised area converges
to the polygon's area on both engines; any seed gives a dataset that ``nanoaq verify`` accepts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.cli import main
from benchmark.metrics import FRAME_METRICS, HIGHER_IS_BETTER, frame_metrics
from simulator._raster import pack_particles, rasterize
from simulator.config import SimulationConfig, load_config, validate_config
from simulator.shapes import SHAPES, make_shape

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- configs


def _finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def config_dicts(draw) -> dict[str, Any]:
    """Valid nested config dicts touching every section, with values across their allowed ranges."""
    interval = draw(_finite(0.001, 100.0))
    shapes = draw(st.dictionaries(st.sampled_from(list(SHAPES)), _finite(0.01, 10.0), min_size=1, max_size=4))
    return {
        "preset": draw(st.text(min_size=1, max_size=12)),
        "description": draw(st.text(max_size=30)),
        "video": {"count": draw(st.integers(1, 100)), "frames": draw(st.integers(1, 10_000)),
                  "height_px": draw(st.integers(16, 8192)), "width_px": draw(st.integers(16, 8192))},
        "imaging": {"mode": draw(st.sampled_from(["bright-field", "haadf"])),
                    "pixel_size_nm": draw(_finite(0.02, 100.0)), "frame_interval_s": interval,
                    "exposure_s": min(interval * draw(_finite(0.01, 1.0)), 60.0),
                    "dose_rate_e_per_A2_s": draw(_finite(1e-6, 1e6))},
        "detector": {"model": draw(st.sampled_from(["ideal", "counting", "integrating"])),
                     "read_noise": draw(_finite(0.0, 1000.0)),
                     **({"mtf_file": draw(st.text(min_size=1, max_size=20))} if draw(st.booleans()) else {})},
        "liquid": {"thickness_nm": draw(_finite(0.1, 10_000.0))},
        "particles": {"count": draw(st.integers(0, 1000)), "shapes": shapes,
                      "material": draw(st.sampled_from(["Au", "Ag", "Pt", "Pd", "polystyrene", "protein"])),
                      "size_nm": draw(_finite(0.6, 10_000.0))},
        "dynamics": {"model": draw(st.sampled_from(["static", "brownian", "fbm", "ctrw"])),
                     "interactions": draw(st.booleans()), "blur_steps": 2 * draw(st.integers(0, 50)) + 1,
                     "flow_nm_s": [draw(_finite(-1e3, 1e3)), draw(_finite(-1e3, 1e3))],
                     "hamaker_J": draw(_finite(0.0, 1e-17))},
        "reactions": {"etch_rate_nm_s": draw(_finite(-100.0, 100.0)), "merge": draw(st.booleans())},
    }


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):  # a TOML basic string: escape quotes, backslashes and control characters
        return '"' + "".join(f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else "\\" + c if c in '"\\' else c
                             for c in v) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def _to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A minimal TOML writer for config dicts (tables of scalars and lists; None is left out)."""
    lines = [f"{_toml_value(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict) and v is not None]
    for k, v in data.items():
        if isinstance(v, dict):
            name = f"{prefix}{_toml_value(k)}"
            lines += ["", f"[{name}]", _to_toml(v, name + ".")]
    return "\n".join(lines)


@SETTINGS
@given(data=config_dicts())
def test_config_round_trips_through_json_and_toml(data, tmp_path):
    cfg = validate_config(data)
    assert SimulationConfig.model_validate_json(cfg.to_json()) == cfg
    assert validate_config(json.loads(cfg.to_json())) == cfg
    path = tmp_path / "c.toml"
    path.write_text(_to_toml(cfg.model_dump(mode="json")), encoding="utf-8")
    assert load_config(file=path) == cfg


# --------------------------------------------------------------------------- metrics


@st.composite
def label_images(draw, min_objects: int = 0) -> np.ndarray:
    """(24, 28) labels: up to six rectangles of ids 1..n, later ones drawn over earlier ones."""
    img = np.zeros((24, 28), np.int64)
    for k in range(1, draw(st.integers(min_objects, 6)) + 1):
        y, x = draw(st.integers(0, 20)), draw(st.integers(0, 24))
        h, w = draw(st.integers(2, 10)), draw(st.integers(2, 10))
        img[y:y + h, x:x + w] = k
    return img


def _shuffle_ids(labels: np.ndarray, seed: int) -> np.ndarray:
    """The same objects under other (large, unordered) positive ids."""
    ids = np.unique(labels[labels > 0])
    new = np.random.default_rng(seed).choice(2**31 - 1, size=len(ids), replace=False) + 1
    lut = dict(zip(ids.tolist(), new.tolist()))
    return np.vectorize(lambda v: lut.get(v, 0), otypes=[np.int64])(labels)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@SETTINGS
@given(true=label_images(min_objects=1), seed=st.integers(0, 2**32 - 1), engine=st.sampled_from(["numba", "numpy"]))
def test_perfect_prediction_is_perfect_under_any_labels(true, seed, engine):
    m = frame_metrics(true, _shuffle_ids(true, seed), engine=engine)
    for name in FRAME_METRICS:
        if name == "orientation_error_rad" and math.isnan(m[name]):
            continue  # undefined without an anisotropic object
        assert m[name] == (1.0 if HIGHER_IS_BETTER[name] else 0.0), (name, m[name])


@SETTINGS
@given(true=label_images(), pred=label_images(), seed=st.integers(0, 2**32 - 1),
       engine=st.sampled_from(["numba", "numpy"]))
def test_metrics_do_not_depend_on_label_values(true, pred, seed, engine):
    a = frame_metrics(true, pred, engine=engine)
    b = frame_metrics(_shuffle_ids(true, seed), _shuffle_ids(pred, seed + 1), engine=engine)
    assert all(_same(a[k], b[k]) for k in FRAME_METRICS), {k: (a[k], b[k]) for k in FRAME_METRICS if not _same(a[k], b[k])}


# --------------------------------------------------------------------------- rasteriser


def _labelled_area(spec, angle: float, offset: tuple[float, float], pixel_nm: float, engine: str) -> float:
    n = int(2 * spec.radius_nm / pixel_nm) + 6
    packed = pack_particles([spec.vertices], [n / 2 + offset[0]], [n / 2 + offset[1]], np.array([angle]),
                            [spec.height_nm], [spec.rounding_nm], [spec.profile], np.full(1, 0.02), np.ones(1),
                            np.array([1]))
    labels = rasterize(packed, [spec.radius_nm], (n, n), pixel_size_nm=pixel_nm, supersample=4, engine=engine)[3]
    return float((labels == 1).sum()) * pixel_nm**2


@settings(max_examples=10, deadline=None)
@given(name=st.sampled_from(list(SHAPES)), size=_finite(8.0, 16.0), angle=_finite(0.0, 2 * math.pi),
       dx=_finite(0.0, 1.0), dy=_finite(0.0, 1.0), engine=st.sampled_from(["numba", "numpy"]))
def test_rasterised_area_converges_to_polygon_area(name, size, angle, dx, dy, engine):
    """Anywhere on the pixel grid the labelled area is within half a pixel band of the outline
    (perimeter × pixel / 2), a bound that shrinks with the pixel: the area converges."""
    spec = make_shape(name, size)
    for pixel_nm in (1.0, 0.5) if engine == "numpy" else (1.0, 0.5, 0.25):  # the reference is slow
        error = abs(_labelled_area(spec, angle, (dx, dy), pixel_nm, engine) - spec.outline.area)
        assert error <= spec.outline.length * pixel_nm / 2, (pixel_nm, error)


# --------------------------------------------------------------------------- datasets


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**63 - 1), preset=st.sampled_from(["brownian-prisms", "assembly-cubes", "etching-rods"]))
def test_any_seed_gives_a_dataset_that_verify_accepts(seed, preset, tmp_path_factory, capsys):
    out = Path(tmp_path_factory.mktemp("seed")) / "ds"
    assert main(["simulate", "--preset", preset, "--frames", "2", "--size", "192", "--videos", "1", "--seed",
                 str(seed), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()
