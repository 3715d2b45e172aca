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
        # NaN and infinity passed every bound and crashed the rendering (inf was written as null)
        (["dynamics.flow_nm_s=[nan, 0.0]"], ["dynamics.flow_nm_s.0 = NaN", "finite number"]),
        (["detector.saturation_counts_per_frame=inf"], ["saturation_counts_per_frame = Infinity", "finite"]),
        (["particles.size_nm=nan"], ["particles.size_nm = NaN", "finite number"]),
        # a prism rounded by more than its inradius (0.289 of the edge) is empty
        (["particles.corner_rounding=0.29"], ["particles.corner_rounding = 0.29", "less than or equal to 0.28"]),
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


# --------------------------------------------------------------------------- count or density


def test_density_sets_the_count_in_proportion_to_the_field_area():
    # 610 /um^2: 0.065536 um^2 at 256 px of 1 nm -> 39.98 -> 40; 128 px -> 9.99 -> 10; 96 px -> 5.62 -> 6
    for size, n in [(256, 40), (128, 10), (96, 6), (16, 1)]:  # 16 px: 0.16 -> at least 1
        cfg = load_config("assembly-cubes", overrides=[f"video.height_px={size}", f"video.width_px={size}"])
        assert cfg.particles.density_per_um2 == 610.0 and cfg.particles_in_view() == n
    # the pixel size counts too: 2 nm pixels quadruple the area
    cfg = load_config("assembly-cubes", overrides=["video.height_px=128", "video.width_px=128", "imaging.pixel_size_nm=2"])
    assert cfg.particles_in_view() == 40
    assert cfg.particles.count_in(100, 50, 2.0) == round(610 * 0.02)
    # a count preset is unchanged by the field size
    cfg = load_config("brownian-prisms", overrides=["video.height_px=64", "video.width_px=64"])
    assert cfg.particles.density_per_um2 is None and cfg.particles_in_view() == cfg.particles.count


def test_an_override_of_count_or_density_replaces_the_other():
    cfg = load_config("assembly-cubes", overrides=["particles.count=60"])
    assert cfg.particles.density_per_um2 is None and cfg.particles_in_view() == 60
    cfg = load_config("brownian-prisms", overrides=["particles.density_per_um2=100"])
    assert cfg.particles.density_per_um2 == 100 and cfg.particles_in_view() == round(100 * 0.256**2)
    # the dump keeps only the key in use, so it validates again to the same config
    assert "count" not in json.loads(cfg.to_json())["particles"]
    assert validate_config(json.loads(cfg.to_json())) == cfg
    assert "density_per_um2" not in json.loads(load_config("brownian-prisms").to_json())["particles"]


@pytest.mark.parametrize("source", ["overrides", "file"])
def test_count_and_density_both_set_is_one_line_error(source, tmp_path):
    if source == "overrides":
        call = lambda: load_config("assembly-cubes", overrides=["particles.count=5", "particles.density_per_um2=50"])  # noqa: E731
    else:
        path = tmp_path / "both.toml"
        path.write_text("[particles]\ncount = 5\ndensity_per_um2 = 50\n")
        call = lambda: load_config(file=path)  # noqa: E731
    with pytest.raises(ConfigError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg
    assert "particles.count = 5 and particles.density_per_um2 = 50 are both set" in msg, msg


@pytest.mark.parametrize("value,expected", [("0", "greater than 0"), ("-3", "greater than 0"),
                                            ("many", "valid number"), ("1e9", "less than or equal")])
def test_bad_density_names_the_key(value, expected):
    with pytest.raises(ConfigError) as info:
        load_config("assembly-cubes", overrides=[f"particles.density_per_um2={value}"])
    msg = str(info.value)
    assert "\n" not in msg and "particles.density_per_um2 = " in msg and expected in msg, msg


def test_the_largest_corner_rounding_allowed_still_makes_every_shape():
    from simulator.shapes import SHAPES, make_shape

    for name in SHAPES:
        assert make_shape(name, 20.0, corner_rounding=0.28).outline.area > 0, name



def test_a_scene_that_would_need_millions_of_steps_a_frame_is_refused():
    """Interacting particles at bulk-water mobility (slowdown 1) need a step of a few ns to move
    less than dynamics.max_step_nm: ~3e7 steps a frame, whose noise was drawn ahead for the whole
    video.  Refused at once, naming what to change."""
    from simulator.simulate import Simulation

    cfg = load_config("assembly-cubes", overrides=["dynamics.slowdown=1", "video.frames=1", "video.height_px=64",
                                                   "video.width_px=64"])
    with pytest.raises(ConfigError, match=r"integration steps per frame .* lower dynamics.slowdown \(1\)"):
        Simulation(cfg, seed=0)
