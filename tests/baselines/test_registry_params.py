"""The method registry: names, entry points, module:function, and parameter checks."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from baselines import registry
from baselines.registry import get_method, list_methods, parse_params, validate_params
from simulator.errors import UserError
from simulator.video import VideoMeta

PROJECT = ["otsu", "li", "triangle", "yen", "isodata", "mean", "minimum", "sauvola", "niblack", "local"]


@pytest.fixture
def thirdparty(tmp_path, monkeypatch):
    """A package ``nanoaq_thirdparty`` with a method, importable and registered by a dist-info."""
    pkg = tmp_path / "nanoaq_thirdparty"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('__version__ = "9.9"\n')
    (pkg / "mod.py").write_text(textwrap.dedent('''
        import numpy as np

        def segment(video, meta, *, level=0.5):
            """Everything above a level, as one object per frame."""
            return (np.asarray(video) > level).astype(np.int32)
    '''))
    dist = tmp_path / "nanoaq_thirdparty-9.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nanoaq-thirdparty\nVersion: 9.9\n")
    (dist / "entry_points.txt").write_text("[nanoaquarium.methods]\nabove = nanoaq_thirdparty.mod:segment\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "nanoaq_thirdparty.mod:segment"
    for name in [m for m in sys.modules if m.startswith("nanoaq_thirdparty")]:
        del sys.modules[name]


def test_project_methods_listed_with_one_line():
    methods = list_methods()
    assert list(methods)[: len(PROJECT)] == PROJECT
    assert all(desc and "\n" not in desc for desc in methods.values())


def test_importing_baselines_imports_no_unet():
    code = "import sys, baselines; baselines.list_methods(); print(any(m == 'unet.method' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unet_listed_only_when_its_module_exists(monkeypatch):
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec",
                        lambda name: None if name == "unet.method" else real(name))
    assert "unet" not in list_methods()
    with pytest.raises(UserError, match="unknown method 'unet'"):
        get_method("unet")


@pytest.mark.parametrize("name", PROJECT)
def test_project_names_resolve_to_plain_functions(name):
    func = get_method(name)
    assert func.__name__ == name
    labels = func(np.full((2, 16, 16), 10, np.uint16), VideoMeta("v", (2, 16, 16), 1.0, 1.0))
    assert labels.shape == (2, 16, 16) and labels.dtype == np.int32


def test_unknown_name_lists_the_valid_methods():
    with pytest.raises(UserError) as err:
        get_method("nope")
    msg = str(err.value)
    assert "'nope'" in msg and all(n in msg for n in PROJECT) and "\n" not in msg


def test_module_function_resolves(thirdparty):
    func = get_method(thirdparty)
    assert func(np.array([[[0.0, 1.0]]]), None).tolist() == [[[0, 1]]]
    assert registry.method_version(func) == "9.9"


@pytest.mark.parametrize("target, match", [
    ("no_such_pkg_xyz.mod:segment", "cannot import module 'no_such_pkg_xyz.mod'"),
    ("nanoaq_thirdparty.mod:missing", "has no 'missing'"),
    ("nanoaq_thirdparty.mod:np.pi", "is not callable"),
])
def test_module_function_errors_are_one_line(thirdparty, target, match):
    with pytest.raises(UserError, match=match):
        get_method(target)


def test_entry_point_from_a_dist_info(thirdparty):
    assert "above" in list_methods()
    assert list_methods()["above"].startswith("Everything above a level")
    assert get_method("above")(np.array([[[0.0, 1.0]]]), None).tolist() == [[[0, 1]]]


def test_entry_point_cannot_shadow_a_project_method(monkeypatch):
    ep = importlib.metadata.EntryPoint("otsu", "os:getcwd", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.importlib.metadata, "entry_points", lambda group: [ep])
    assert get_method("otsu").__module__ == "baselines.threshold"


def test_broken_entry_point_is_listed_but_not_fatal(monkeypatch):
    ep = importlib.metadata.EntryPoint("broken", "no_such_pkg_xyz:segment", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.importlib.metadata, "entry_points", lambda group: [ep])
    assert "cannot be loaded" in list_methods()["broken"]
    with pytest.raises(UserError, match="method broken: entry point no_such_pkg_xyz:segment cannot be loaded"):
        get_method("broken")


@pytest.mark.parametrize("params, match", [
    ({"window_sise": 31}, "unknown parameter 'window_sise'; allowed parameters: window_size, k, polarity"),
    ({"window_size": 30}, "parameter 'window_size' = 30 is not allowed; expected an odd integer in \\[3, 1001\\]"),
    ({"polarity": "up"}, "parameter 'polarity' = \"up\" is not allowed; expected one of 'auto', 'dark', 'bright'"),
    ({"denoise": "wiener"}, "expected one of 'none', 'gaussian', 'median', 'nlmeans'"),
    ({"watershed": 1}, "parameter 'watershed' = 1 is not allowed; expected true or false"),
    ({"min_area_nm2": -1}, "parameter 'min_area_nm2' = -1 is not allowed; expected a number >= 0"),
])
def test_bad_parameters_name_the_parameter_and_allowed_values(params, match):
    with pytest.raises(UserError, match=match) as err:
        validate_params(get_method("sauvola"), params, method="sauvola")
    assert str(err.value).startswith("method sauvola: ") and "\n" not in str(err.value)


def test_calling_a_method_with_a_bad_parameter_raises_user_error():
    with pytest.raises(UserError, match="method otsu: parameter 'nbins' = 1"):
        get_method("otsu")(np.zeros((1, 8, 8)), VideoMeta("v", (1, 8, 8), 1.0, 1.0), nbins=1)


def test_good_parameters_are_converted():
    out = validate_params(get_method("sauvola"), {"window_size": 31.0, "k": 1, "watershed": False})
    assert out == {"window_size": 31, "k": 1.0, "watershed": False}
    assert isinstance(out["window_size"], int) and isinstance(out["k"], float)


def test_third_party_parameters_checked_by_signature(thirdparty):
    func = get_method(thirdparty)
    assert validate_params(func, {"level": 2}) == {"level": 2}
    with pytest.raises(UserError, match="unknown parameter 'lvl'; allowed parameters: level"):
        validate_params(func, {"lvl": 2})
    with pytest.raises(UserError, match="parameter 'level' = \"high\" is not allowed; expected float"):
        validate_params(func, {"level": "high"})


def test_parse_params_json_and_file(tmp_path):
    assert parse_params(None) == {} and parse_params('{"k": 0.1}') == {"k": 0.1}
    path = tmp_path / "p.json"
    path.write_text('{"window_size": 31}')
    assert parse_params(f"@{path}") == {"window_size": 31}
    with pytest.raises(UserError, match="not valid JSON"):
        parse_params("{k: 1}")
    with pytest.raises(UserError, match="expected a JSON object"):
        parse_params("[1, 2]")
    with pytest.raises(UserError, match="cannot read"):
        parse_params(f"@{tmp_path / 'missing.json'}")
