from __future__ import annotations

import json

import pytest

from simulator.config import (
    SimulationConfig,
    apply_overrides,
    config_schema,
    list_presets,
    load_config,
    validate_config,
)
from simulator.errors import ConfigError

REQUIRED_KEYS = [
    ("imaging", "dose_rate_e_per_A2_s"),
    ("imaging", "exposure_s"),
    ("imaging", "pixel_size_nm"),
    ("liquid", "thickness_nm"),
    ("detector", "model"),
    ("particles", "count"),
    ("dynamics", "model"),
    ("dynamics", "interactions"),
]


@pytest.mark.parametrize("section,key", REQUIRED_KEYS)
def test_public_key_names_exist(section, key):
    assert key in SimulationConfig.model_fields[section].annotation.model_fields


def test_detector_models_and_static_dynamics_are_allowed():
    for model in ("ideal", "counting", "integrating"):
        assert validate_config({"detector": {"model": model}}).detector.model == model
    assert validate_config({"dynamics": {"model": "static"}}).dynamics.model == "static"


def test_every_preset_loads_and_round_trips_through_json():
    presets = list_presets()
    assert set(presets) >= {"brownian-prisms", "etching-rods", "assembly-cubes",
                            "growth-coalescence", "low-contrast-polymer"}
    for name, desc in presets.items():
        cfg = load_config(name)
        assert cfg.preset == name and desc
        again = validate_config(json.loads(cfg.to_json()))
        assert again == cfg


def test_overrides_parse_toml_values():
    data = apply_overrides({}, ["particles.count=3", "detector.model=ideal", "dynamics.interactions=true",
                                "imaging.dose_rate_e_per_A2_s=2.5"])
    assert data == {"particles": {"count": 3}, "detector": {"model": "ideal"},
                    "dynamics": {"interactions": True}, "imaging": {"dose_rate_e_per_A2_s": 2.5}}


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["imaging.dose_rate=5"], ["unknown key 'imaging.dose_rate'", "dose_rate_e_per_A2_s"]),
        (["nonsense.x=1"], ["unknown key 'nonsense'"]),
        (["imaging.dose_rate_e_per_A2_s=-1"], ["imaging.dose_rate_e_per_A2_s = -1", "greater than 0"]),
        (["particles.count=many"], ["particles.count = 'many'", "integer"]),
        (["detector.model=ccd"], ["detector.model = 'ccd'", "ideal", "counting", "integrating"]),
        (["dynamics.interactions=maybe"], ["dynamics.interactions = 'maybe'", "boolean"]),
        (["imaging.exposure_s=10", "imaging.frame_interval_s=1"], ["exposure_s (10.0) must not exceed"]),
        (["particles.count"], ["expected KEY=VALUE"]),
        (["particles.count.x=1"], ["count is a value, not a section"]),
    ],
)
def test_config_errors_name_key_value_and_allowed(overrides, expected):
    with pytest.raises(ConfigError) as info:
        load_config("brownian-prisms", overrides=overrides)
    msg = str(info.value)
    assert "\n" not in msg
    for part in expected:
        assert part in msg, msg


def test_unknown_preset_names_valid_ones():
    with pytest.raises(ConfigError, match=r"preset 'nope' does not exist; valid presets: .*brownian-prisms"):
        load_config("nope")


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[imaging\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(file=bad)
    good = tmp_path / "mine.toml"
    good.write_text("[particles]\ncount = 4\n")
    cfg = load_config(file=good)
    assert cfg.particles.count == 4 and cfg.preset == "mine"


def test_schema_lists_sections():
    schema = config_schema()
    assert {"imaging", "detector", "liquid", "particles", "dynamics", "video"} <= set(schema["properties"])
