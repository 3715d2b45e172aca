"""Untrusted files never run code: no unpickling, no eval of configs, safetensors only; and the one
way that does run code by design (a method named ``module:function``) says so in its help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.cli import main

REPO = Path(__file__).resolve().parents[2]
_SKIP = {"tests", "build", "dist"}  # tests write evil files on purpose (pickles, links)


def _sources() -> list[Path]:
    """Every Python file of the project outside ``tests/`` (and hidden or build folders)."""
    return sorted(p for p in REPO.rglob("*.py")
                  if not any(part in _SKIP or part.startswith(".") for part in p.relative_to(REPO).parts[:-1]))

#: pattern -> why it is refused.  Each is searched in every source line of the packages.
FORBIDDEN = {
    r"\bimport\s+(c?pickle|dill|shelve|marshal)\b|\bfrom\s+(c?pickle|dill|shelve|marshal)\s+import\b":
        "unpickling runs code from the file",
    r"\bpickle\.loads?\(": "unpickling runs code from the file",
    r"(?<![.\w])eval\(": "eval of text runs code",
    r"(?<![.\w])exec\(": "exec of text runs code",
    r"\byaml\.(unsafe_)?load\(": "yaml.load can build arbitrary objects",
    r"allow_pickle\s*=\s*True": "numpy's allow_pickle unpickles",
}


def _source_lines():
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("#"):
                yield path.relative_to(REPO), number, line


def _calls(name: str, text: str) -> list[str]:
    """The full argument text of every call ``name(...)`` in ``text`` (parentheses balanced)."""
    out = []
    for m in re.finditer(re.escape(name) + r"\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        out.append(text[m.end():i - 1])
    return out


def test_the_scan_finds_what_it_forbids():
    bad = 'state = pickle.load(fh)\nx = eval(text)\nnet.eval()\nm = torch.load(p)\nok = torch.load(p, weights_only=True)'
    hits = [pat for pat in FORBIDDEN if re.search(pat, bad)]
    assert r"\bpickle\.loads?\(" in hits and r"(?<![.\w])eval\(" in hits
    assert not re.search(r"(?<![.\w])eval\(", "net.eval()")
    assert [("weights_only=True" in c) for c in _calls("torch.load", bad)] == [False, True]


@pytest.mark.parametrize("pattern", list(FORBIDDEN))
def test_no_code_runs_from_data(pattern):
    hits = [f"{p}:{n}: {line.strip()}" for p, n, line in _source_lines() if re.search(pattern, line)]
    assert not hits, f"{FORBIDDEN[pattern]}:\n" + "\n".join(hits)


def test_torch_load_only_with_weights_only_and_numpy_load_without_pickle():
    bad = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        bad += [f"{path}: torch.load({a})" for a in _calls("torch.load", text) if "weights_only=True" not in a]
        bad += [f"{path}: np.load({a})" for a in _calls("np.load", text) if "allow_pickle=False" not in a]
    assert not bad, "\n".join(bad)


def test_the_scan_covers_every_package():
    tops = {p.relative_to(REPO).parts[0] for p in _sources()}
    assert {"simulator", "baselines", "unet", "benchmark"} <= tops and "tests" not in tops


@pytest.mark.parametrize("command", ["segment", "bench"])
def test_help_says_module_function_runs_code(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "module:function" in text and re.search(r"runs? (arbitrary code|its code)", text), text
