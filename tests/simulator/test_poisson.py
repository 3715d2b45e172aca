"""The Poisson sampler (algorithm PD, numba) and its reference (NumPy's Generator.poisson)
against the Poisson law itself (scipy.stats.poisson)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.poisson import _STEP_I_OFFSET, _step_f, _step_p, poisson

ENGINES = ["numba", "numpy"]


def _chi2_pvalue(counts: np.ndarray, mu: float) -> float:
    """Pearson χ² of the counts' histogram against Poisson(mu), bins with ≥ 5 expected counts
    (the two tails pooled into the end bins)."""
    ks = np.arange(int(mu + 12 * np.sqrt(mu) + 30))
    expected = stats.poisson.pmf(ks, mu) * counts.size
    keep = np.flatnonzero(expected >= 5)
    lo, hi = keep[0], keep[-1]
    observed = np.bincount(np.clip(counts, lo, hi) - lo, minlength=hi - lo + 1).astype(float)
    exp = expected[lo:hi + 1].copy()
    exp[0] += stats.poisson.cdf(lo - 1, mu) * counts.size
    exp[-1] += stats.poisson.sf(hi, mu) * counts.size
    chi2 = ((observed - exp) ** 2 / exp).sum()
    return float(stats.chi2.sf(chi2, exp.size - 1))


# The means cover inversion (< 10), the switch to PD at 10, the region where PD's rare steps
# (Q, E, H with factorials for k < 10) are taken most often (μ just above 10, 5 % of draws),
# the rendered frames' typical 150 e⁻/px, and a bright 40,000 (k far beyond the float factorial table).
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mu", [0.05, 2.5, 9.999, 10.0, 10.7, 33.3, 150.0, 40000.0])
def test_counts_follow_the_poisson_law(engine, mu):
    counts = poisson(np.full((600, 500), mu), rng=11, engine=engine)
    assert counts.dtype == np.int64 and counts.shape == (600, 500) and counts.min() >= 0
    assert _chi2_pvalue(counts.ravel(), mu) > 1e-3
    # mean and variance of a Poisson law are both mu (their standard errors: sqrt(mu/n), ~mu sqrt(2/n))
    n = counts.size
    assert abs(counts.mean() - mu) < 5 * np.sqrt(mu / n)
    assert abs(counts.var() - mu) < 6 * mu * np.sqrt(2 / n) + 6 * np.sqrt(mu / n)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_pixel_has_its_own_mean(engine):
    """Means that change from pixel to pixel (as in a frame): standardised residuals are N(0, 1)."""
    rng = np.random.default_rng(2)
    lam = np.concatenate([rng.uniform(0, 12, 100_000), rng.uniform(12, 3000, 100_000), np.zeros(100)])
    counts = poisson(lam, rng=5, engine=engine)
    assert (counts[lam == 0] == 0).all()
    z = (counts[lam > 50] - lam[lam > 50]) / np.sqrt(lam[lam > 50])
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    # the probability integral transform of discrete counts, randomised, is uniform
    u = stats.poisson.cdf(counts - 1, lam) + rng.random(lam.size) * stats.poisson.pmf(counts, lam)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_same_counts(engine):
    lam = np.linspace(0, 500, 4000).reshape(40, 100)
    a, b, c = (poisson(lam, rng=s, engine=engine) for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


# The rare steps of PD (Q, E, H: 1 % of draws at μ = 150) are too rare for a histogram to see a
# small error in them; their ingredients are checked against their definitions instead.
MEANS = [10.0, 10.7, 33.3, 150.0, 2000.0]


def _f(mu: float, k: int) -> tuple[float, float, float, float]:
    s = np.sqrt(mu)
    return _step_f(mu, k, s, *_step_p(mu))


@pytest.mark.parametrize("mu", MEANS)
def test_step_f_gives_the_poisson_probability(mu):
    ks = np.arange(max(0, int(mu - 6 * np.sqrt(mu))), int(mu + 6 * np.sqrt(mu)))
    p = [py * np.exp(px) for px, py, _, _ in (_f(mu, int(k)) for k in ks)]
    np.testing.assert_allclose(p, stats.poisson.pmf(ks, mu), rtol=3e-6)


@pytest.mark.parametrize("mu", MEANS)
def test_step_f_gives_the_discretised_normal(mu):
    """f_k: the normal sample's probability to fall in [k, k + 1), P(k ≤ μ + √μ·z < k + 1)."""
    s = np.sqrt(mu)
    ks = np.arange(max(0, int(mu - 6 * s)), int(mu + 6 * s))
    f = [fy * np.exp(fx) for _, _, fx, fy in (_f(mu, int(k)) for k in ks)]
    np.testing.assert_allclose(f, stats.norm.cdf((ks + 1 - mu) / s) - stats.norm.cdf((ks - mu) / s), rtol=1e-6)


@pytest.mark.parametrize("mu", [10.0, 10.3, 12.9, 20.0, 33.3, 150.0, 2000.0])
def test_immediate_acceptance_only_where_poisson_exceeds_the_normal(mu):
    """Step I accepts ⌊μ + √μ·z⌋ = k outright for k ≥ ⌊μ − 1.1484⌋: exact only if p_k ≥ f_k there
    (the paper's bound m(μ)); a lower bound than 1.1484's would break it below μ ≈ 40."""
    s = np.sqrt(mu)
    ks = np.arange(np.floor(mu - _STEP_I_OFFSET), mu + 12 * s)
    f = stats.norm.cdf((ks + 1 - mu) / s) - stats.norm.cdf((ks - mu) / s)
    assert (stats.poisson.pmf(ks, mu) >= f - 1e-15).all()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bad", [[-1.0], [np.nan], [np.inf], [1e16]])
def test_bad_means_are_refused(engine, bad):
    with pytest.raises(ValueError, match="lam"):
        poisson(np.array(bad), engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_scalar_mean_gives_a_0d_int64_array(engine):
    out = poisson(5.0, rng=1, engine=engine)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.int64


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        poisson(np.ones(3), engine="cuda")


def test_empty_input():
    assert poisson(np.zeros((0, 4))).shape == (0, 4)
