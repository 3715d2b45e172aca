"""docs/unet/detection_limit.py: the Hotelling d' against Monte-Carlo Poisson frames, its scaling
with dose, and the sum over a window of frames."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "docs" / "unet" / "detection_limit.py"
_spec = importlib.util.spec_from_file_location("detection_limit", _PATH)
assert _spec is not None and _spec.loader is not None
dl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dl)


def test_hotelling_d2_is_the_separation_of_the_linear_statistic_on_poisson_frames() -> None:
    """Frames drawn with and without a 10 %-contrast disc: the Hotelling template's statistic
    separates them by d' = sqrt(d'^2) of the formula (within the Monte-Carlo error)."""
    yy, xx = np.mgrid[:32, :32]
    disc = ((yy - 16) ** 2 + (xx - 16) ** 2 < 6**2).astype(int)
    background = np.full((32, 32), 50.0)
    expected = background * (1 - 0.1 * disc)
    d2 = dl.hotelling_d2(expected, background, disc)
    assert d2[0] == 0.0 and d2[1] == pytest.approx(disc.sum() * 5.0**2 / 47.5)
    template = (expected - background) / ((expected + background) / 2)
    rng = np.random.default_rng(0)
    with_disc = np.einsum("nij,ij->n", rng.poisson(expected, (4000, 32, 32)), template)
    without = np.einsum("nij,ij->n", rng.poisson(background, (4000, 32, 32)), template)
    separation = abs(with_disc.mean() - without.mean()) / np.sqrt((with_disc.var() + without.var()) / 2)
    assert separation == pytest.approx(np.sqrt(d2[1]), rel=0.05)


def test_d2_grows_in_proportion_to_the_dose() -> None:
    """The same scene at 4× the dose: 4× the electrons in every pixel, so 4× every d'^2 (Poisson)."""
    base = ["video.frames=2", "video.height_px=96", "video.width_px=96", "particles.count=2"]
    low, high = (dl.detectability("low-contrast-polymer", [*base, f"imaging.dose_rate_e_per_A2_s={d}"],
                                  seed=3, grow_px=4) for d in (10.0, 40.0))
    assert all(low) and [f.keys() for f in low] == [f.keys() for f in high]  # particles in every frame
    for lo, hi in zip(low, high):
        for track in lo:
            assert hi[track] ** 2 == pytest.approx(4 * lo[track] ** 2, rel=1e-9)


def test_over_context_adds_d2_over_the_window() -> None:
    per_frame = [{1: 3.0}, {1: 4.0, 2: 1.0}, {2: 2.0}]
    single, multi = dl.over_context(per_frame, 3)
    np.testing.assert_allclose(single, [3.0, 4.0, 1.0, 2.0])
    np.testing.assert_allclose(multi, [5.0, 5.0, np.sqrt(5.0), np.sqrt(5.0)])
