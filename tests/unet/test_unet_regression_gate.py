"""CI regression of model accuracy: the shipped U-Net on the `quick` suite, through the gate.

`tests/data/unet_quick_reference.json` was recorded with
`nanoaq bench --suite quick --methods unet --out tests/data/unet_quick_reference.json`
for the shipped weights; re-record it in the same commit whenever the weights change.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.cli import main
from benchmark.results import load_results

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "unet_quick_reference.json"


def test_shipped_unet_passes_the_gate_against_its_recorded_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NANOAQ_CACHE", str(tmp_path / "cache"))
    code = main(["bench", "--suite", "quick", "--methods", "unet", "--out", str(tmp_path / "r.json"),
                 "--gate", str(REFERENCE), "--tolerance", "0.01", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "gate passed: unet" in out
    # The gate is not vacuous: the reference holds every aggregate the gate compares.
    ref = load_results(REFERENCE)[0]
    assert ref.method.name == "unet" and ref.aggregates["overall:all"]["f1@0.5"] > 0.3
