"""safetensors + JSON round trip, and clear errors for bad model folders."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from simulator.errors import UserError
from unet.io import CONFIG_NAME, WEIGHTS_NAME, load_model, save_model
from unet.model import UNet


def _model() -> UNet:
    torch.manual_seed(0)
    return UNet(in_channels=3, depth=2, base_width=4).eval()


def test_round_trip(tmp_path: Path) -> None:
    model = _model()
    save_model(tmp_path / "m", model, {"validation": {"val_f1": 0.5}})
    loaded, cfg = load_model(tmp_path / "m")
    assert cfg["architecture"] == model.hparams and cfg["validation"]["val_f1"] == 0.5
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(loaded(x), model(x))
    save_model(tmp_path / "x.safetensors", model, {})
    assert load_model(tmp_path / "x.safetensors")[1]["architecture"]["base_width"] == 4
    # the weights and config, and no temporary file left beside them
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "x.json", "x.safetensors"]
    pyramid = UNet(in_channels=3, depth=2, base_width=4, input_pyramid=True).eval()
    save_model(tmp_path / "p", pyramid, {})
    loaded, cfg = load_model(tmp_path / "p")
    assert loaded.input_pyramid and cfg["architecture"]["input_pyramid"] is True
    torch.testing.assert_close(loaded(x), pyramid(x))


def test_bad_model_folders(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_model(tmp_path / "nope")
    save_model(tmp_path / "m", _model(), {})
    (tmp_path / "m" / CONFIG_NAME).rename(tmp_path / "cfg.json")
    with pytest.raises(UserError, match="config model.json missing"):
        load_model(tmp_path / "m")
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg["architecture"]["base_width"] = 8
    (tmp_path / "m" / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="do not match the architecture"):
        load_model(tmp_path / "m")
    cfg["architecture"]["base_width"] = 4
    cfg["architecture"]["input_pyramid"] = "false"  # a string, which Python would take as true
    (tmp_path / "m" / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="bad architecture.*input_pyramid='false': expected true or false"):
        load_model(tmp_path / "m")
    del cfg["architecture"]["input_pyramid"]
    cfg["architecture"]["colour"] = 1
    (tmp_path / "m" / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="unknown architecture keys"):
        load_model(tmp_path / "m")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UserError, match="pickle"):
        load_model(tmp_path / "evil.pt")
    # a pickle renamed to .safetensors is not unpickled either
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / WEIGHTS_NAME).write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "p" / CONFIG_NAME).write_text(json.dumps(cfg | {"architecture": _model().hparams}))
    with pytest.raises(UserError, match="not a safetensors file"):
        load_model(tmp_path / "p")


@pytest.mark.parametrize(("change", "message"), [
    ({"postprocess": {"threshold": 0.5, "foo": 1}}, "unknown postprocess key 'foo'; expected some of threshold"),
    ({"postprocess": {"threshold": "0.5"}}, 'postprocess.threshold = "0.5"; expected a number'),
    ({"postprocess": {"threshold": True}}, "postprocess.threshold = true; expected a number"),
    ({"postprocess": {"min_area_px": 4.5}}, "postprocess.min_area_px = 4.5; expected an integer >= 0"),
    ({"postprocess": {"seed_threshold": "high"}}, 'postprocess.seed_threshold = "high"; expected a number or null'),
    ({"postprocess": [0.5]}, "postprocess = [0.5]; expected an object"),
    ({"training": {"margin": None}}, "training.margin = null; expected an integer >= 0"),
    ({"training": {"margin": -1}}, "training.margin = -1; expected an integer >= 0"),
    ({"training": {"margin": 8.0}}, "training.margin = 8.0; expected an integer >= 0"),
    ({"training": "yes"}, 'training = "yes"; expected an object'),
    ({"normalization": {"percentiles": [99.8, 1.0]}}, "normalization.percentiles = [99.8, 1.0]; expected [low, high]"),
    ({"normalization": {"percentiles": "1,99"}}, 'normalization.percentiles = "1,99"; expected [low, high]'),
    ({"normalization": {"invert_bright_field": False}}, "normalization.invert_bright_field = false; expected true"),
    ({"normalization": {"gamma": 2}}, "unknown normalization keys ['gamma']"),
])
def test_bad_config_fields_are_refused_when_the_model_is_loaded(tmp_path: Path, change: dict, message: str) -> None:
    """Fields that inference uses (post-processing, trained margin, normalisation) are checked at
    load, with the file and the field named: once a TypeError or NumPy traceback after the network
    had run on the first frame."""
    save_model(tmp_path / "m", _model(), change)
    with pytest.raises(UserError) as err:
        load_model(tmp_path / "m")
    assert str(err.value).startswith(f"model config {tmp_path / 'm' / CONFIG_NAME}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_valid_config_fields_load(tmp_path: Path) -> None:
    save_model(tmp_path / "m", _model(), {"postprocess": {"threshold": 1, "seed_threshold": None, "min_area_px": 0},
                                          "training": {"margin": 0},
                                          "normalization": {"percentiles": [0, 100], "invert_bright_field": True}})
    assert load_model(tmp_path / "m")[1]["postprocess"]["seed_threshold"] is None
    load_model(None)  # the shipped model's config
