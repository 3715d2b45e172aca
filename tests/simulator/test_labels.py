"""Label bookkeeping kernels (:mod:`simulator._labels`) on both engines against NumPy's own
``np.unique`` and fancy indexing."""

from __future__ import annotations

import numpy as np
import pytest

from simulator._labels import relabel, visible_ids

ENGINES = ["numba", "numpy"]


def _labels(seed, dtype=np.uint32):
    rng = np.random.default_rng(seed)
    lab = np.zeros((37, 53), dtype)
    lab[rng.integers(0, 37, 300), rng.integers(0, 53, 300)] = rng.integers(1, 40, 300)
    return lab


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", [0, 1])
def test_visible_ids_are_the_unique_positive_labels(engine, seed):
    lab = _labels(seed)
    expect = np.unique(lab)
    assert visible_ids(lab, 45, engine=engine).tolist() == expect[expect > 0].tolist()
    assert visible_ids(np.zeros((4, 4), np.uint32), 0, engine=engine).size == 0
    assert visible_ids(np.full((2, 3), 7, np.uint16), 7, engine=engine).tolist() == [7]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.uint16, np.uint32])
def test_relabel_in_place_is_fancy_indexing(engine, dtype):
    lab = _labels(2, dtype)
    lut = np.random.default_rng(3).permutation(40).astype(dtype)
    expect = lut[lab]
    out = relabel(lab, lut, engine=engine)
    assert out is lab and np.array_equal(lab, expect)
    with pytest.raises(ValueError):
        relabel(lab[:, ::2], lut, engine=engine)


def test_unknown_engine_is_a_value_error() -> None:
    labels = np.zeros((4, 4), np.uint32)
    with pytest.raises(ValueError, match="engine"):
        visible_ids(labels, 3, engine="cuda")
    with pytest.raises(ValueError, match="engine"):
        relabel(labels, np.arange(4, dtype=np.uint32), engine="cuda")
