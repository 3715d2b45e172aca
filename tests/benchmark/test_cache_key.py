"""The bench cache's key follows every module the scoring reaches, so that a bench resumed after a
change of any of them computes afresh instead of mixing stale scores in."""

from __future__ import annotations

import importlib

import pytest

from benchmark import cache


def test_the_scoring_modules_are_derived_from_the_imports():
    names = cache._scoring_modules()
    # the modules the key used to hash, and those it left out (a change there reused stale scores)
    assert {"baselines.matching", "benchmark.metrics", "benchmark.tracking", "benchmark.score", "benchmark.peakmem",
            "benchmark.overlap", "benchmark.shape", "benchmark.boundary", "benchmark.physics",
            "benchmark.results", "simulator.ctc"} <= set(names)
    assert names == sorted(names) and not any(n.startswith(("numpy", "unet", "tests")) for n in names)


@pytest.mark.parametrize("edited", ["benchmark.physics", "benchmark.overlap", "benchmark.shape",
                                    "benchmark.boundary", "benchmark.results"])
def test_editing_a_scoring_module_changes_the_key(edited, tmp_path, monkeypatch):
    key = dict(suite_checksum="abc", method="otsu", params={}, version="1", func=len)
    before = cache.BenchCache(tmp_path, **key).path
    assert cache.BenchCache(tmp_path, **key).path == before  # stable from run to run
    module, digest = importlib.import_module(edited), cache._source_digest
    monkeypatch.setattr(cache, "_source_digest", lambda obj: "edited" if obj is module else digest(obj))
    assert cache.BenchCache(tmp_path, **key).path != before
