"""``benchmarks/compare.py``'s table: rows kept from an earlier run by ``--only`` name when they were measured."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from _scripts import load_script

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _compare(monkeypatch: pytest.MonkeyPatch):
    for var in _THREAD_VARS:  # the script pins them to 1 at import: restore them after the test
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    return load_script("benchmarks/compare.py", "nanoaq_bench_compare")


def test_kept_rows_name_their_measurement(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          renamed: list[Path]) -> None:
    compare = _compare(monkeypatch)
    new = {"id": "unet_cpu", "what": "U-Net", "compared_with": "-", "value": 5.4, "unit": "frames/s",
           "target": "report", "met": None}
    kept = {"id": "render_floor", "what": "render", "compared_with": "floor", "value": 1.72, "unit": "x the floor",
            "target": "<= 2.0", "met": True, "note": "cold 1.9",
            "measured": {"utc": "2026-11-25T01:16:55+00:00", "commit": "1cde7c2"}}
    table = compare.markdown_table([kept, new])
    assert "1.72 x the floor (cold 1.9; measured 2026-11-25T01:16 at 1cde7c2)" in table
    assert "| 5.4 frames/s |" in table
    env = {"utc": "2026-11-25T06:31", "commit": "abc1234", "cpu": "cpu", "cores": 2,
           "load_average_1min_start": 0.7, "load_average_1min_end": 0.8}
    doc = tmp_path / "PERFORMANCE.md"
    compare.update_doc(doc, table, env, kept=True)
    assert "rows that name a date were kept from an earlier run" in doc.read_text()
    compare.update_doc(doc, compare.markdown_table([new]), env)
    text = doc.read_text()
    assert "kept from an earlier run" not in text and text.count(compare.MARK_START) == 1
    assert renamed == [doc, doc]  # written whole, twice


def test_the_json_and_the_doc_are_written_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                renamed: list[Path]) -> None:
    compare = _compare(monkeypatch)
    env = {"utc": "2026-11-25T06:31", "commit": "abc1234", "cpu": "cpu", "cores": 2,
           "load_average_1min_start": 0.7}
    monkeypatch.setattr(compare, "environment", lambda: dict(env))
    monkeypatch.setattr("numba.set_num_threads", lambda n: None)  # leave this process's threads as they are
    out, doc = tmp_path / "performance.json", tmp_path / "PERFORMANCE.md"
    assert compare.main(["--only", "none", "--out", str(out), "--doc", str(doc)]) == 0  # measures nothing
    assert json.loads(out.read_text())["rows"] == [] and compare.MARK_END in doc.read_text()
    assert renamed == [out, doc]


@pytest.mark.parametrize("option", ["--out", "--doc"])
@pytest.mark.parametrize("where", ["a folder", "in a missing folder"])
def test_a_bad_out_or_doc_is_refused_before_measuring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str], option: str,
                                                      where: str) -> None:
    """One line naming the option and exit status 2, at once: nothing measured, nothing written."""
    compare = _compare(monkeypatch)

    def measured(*args, **kwargs):
        raise AssertionError("measured before the output files were checked")

    for name in ("environment", "row_render", "row_dynamics", "row_metrics", "row_unet"):
        monkeypatch.setattr(compare, name, measured)
    paths = {"--out": tmp_path / "performance.json", "--doc": tmp_path / "PERFORMANCE.md"}
    bad = paths[option] = tmp_path if where == "a folder" else tmp_path / "no" / paths[option].name
    argv = [part for opt, path in paths.items() for part in (opt, str(path))]
    assert compare.main(argv) == 2
    err = capsys.readouterr().err
    if where == "a folder":
        example = "performance.json" if option == "--out" else "PERFORMANCE.md"
        expected = "a JSON file" if option == "--out" else "a Markdown file"
        message = f"{option} {bad}: is a folder; expected {expected}, e.g. {bad / example}"
    else:
        message = f"{option} {bad}: folder {bad.parent} does not exist"
    assert err == f"compare.py: error: {message}\n"
    assert list(tmp_path.iterdir()) == []
