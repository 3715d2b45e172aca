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
