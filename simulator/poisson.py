"""Poisson deviates for a whole image, faster than ``numpy.random.Generator.poisson``.

Every pixel of every frame needs one Poisson draw (the electrons that reach it), so this draw is
the floor of rendering.  NumPy's ``Generator.poisson`` uses the transformed rejection of Hörmann
(PTRS, *Insurance Math. Econom.* 12, 39 (1993)) for means ≥ 10: its accept/reject branch is taken
about a third of the time at random, and the mispredicted branches, not the arithmetic, are most
of its ~28 ns per draw (our reading: the fast accept path alone, in numba, costs ~3 ns per draw).

:func:`poisson` draws instead with algorithm PD of Ahrens & Dieter, "Computer generation of
Poisson deviates from modified normal distributions", *ACM Trans. Math. Softw.* 8, 163 (1982),
the algorithm of R's ``rpois``, which is exact (not a normal approximation):

* means below 10: inversion, one uniform, sequential search from k = 0 (the paper's case B
  inverts with a table of cumulative probabilities; the search here gives the same counts);
* means of 10 or more (case A): one standard normal ``z`` and one uniform ``u`` per pixel;
  ``k = ⌊μ + √μ·z⌋`` is accepted at once if ``k ≥ ⌊μ − 1.1484⌋`` (step I; the Poisson
  probabilities exceed the discretised normal's there) or if ``6μ²·u ≥ (μ − k)³`` (the squeeze,
  step S).  The uniform is drawn for every pixel, whether step S needs it or not, so that the
  acceptance is computed without a branch; only the rare rest (1 % of pixels at μ = 150, 5 % at
  μ = 10) goes on to the quotient acceptance (step Q, with the same ``u``) and, if that rejects,
  to the double-exponential hat (steps E and H).

The normals, uniforms and exponentials come from the ``Generator`` passed in (numba compiles its
methods), so a seed gives the same counts; they are not the counts of ``Generator.poisson`` with
that seed (another algorithm), but they follow the same law: ``engine="numpy"`` is the reference,
``Generator.poisson`` itself, and the tests compare both with ``scipy.stats.poisson``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["poisson"]

_INV_SQRT_2PI = 0.3989422804014327
_FACTORIALS = np.array([math.factorial(k) for k in range(10)], dtype=np.float64)
# Ahrens & Dieter (1982), step F: the coefficients a0…a7 of the polynomial approximation of
# (1 + v)·log(1 + v) − v over v², for |v| ≤ 1/4.
_A0, _A1, _A2, _A3 = -0.5, 0.3333333, -0.2500068, 0.2000118
_A4, _A5, _A6, _A7 = -0.1661269, 0.1421878, -0.1384794, 0.1250060
# Step I accepts k = ⌊μ + √μ·z⌋ outright for k ≥ ⌊μ − 1.1484⌋: there the Poisson probabilities
# exceed the discretised normal's, for every μ ≥ 10 (Ahrens & Dieter 1982, the bound m(μ)).
_STEP_I_OFFSET = 1.1484
_MAX_MEAN = 1e15  # far above any 16-bit count, far below int64's overflow in floor(μ + √μ·z)
_MAX_SMALL = 200  # inversion for μ < 10 stops searching here (P(k > 200) < 1e-180) and redraws


@njit(cache=True, nogil=True, inline="always")
def _small(rng, mu):
    """Case B (μ < 10): inversion by sequential search, one uniform per attempt."""
    while True:
        u = rng.random()
        p = math.exp(-mu)
        cumulative, k = p, 0
        while u > cumulative and k < _MAX_SMALL:
            k += 1
            p *= mu / k
            cumulative += p
        if k < _MAX_SMALL:  # else rounding left the sum below u: draw again
            return k


@njit(cache=True, nogil=True)
def _step_p(mu):
    """Step P of PD: ``omega = 1/√(2πμ)`` and the coefficients c0…c3 of the Hermite
    approximation of the discretised normal probabilities f_k."""
    b1 = 1.0 / (24.0 * mu)
    b2 = 0.3 * b1 * b1
    c3 = b1 * b2 / 7.0
    c2 = b2 - 15.0 * c3
    c1 = b1 - 6.0 * b2 + 45.0 * c3
    c0 = 1.0 - b1 + 3.0 * b2 - 15.0 * c3
    return _INV_SQRT_2PI / math.sqrt(mu), c0, c1, c2, c3


@njit(cache=True, nogil=True)
def _step_f(mu, k, s, omega, c0, c1, c2, c3):
    """Step F of PD: ``(px, py, fx, fy)`` with the Poisson probability ``p_k = py·exp(px)`` and the
    discretised normal's ``f_k = fy·exp(fx)`` (``s = √μ``, ``omega = 1/√(2πμ)``, ``c0…c3`` the
    Hermite coefficients of step P)."""
    dk = mu - k
    if k < 10:
        px = -mu
        py = mu**k / _FACTORIALS[k]
    else:
        de = 1.0 / (12.0 * k)
        de = de * (1.0 - 4.8 * de * de)
        v = dk / k
        if abs(v) <= 0.25:
            px = k * v * v * (((((((_A7 * v + _A6) * v + _A5) * v + _A4) * v + _A3) * v + _A2) * v + _A1) * v
                              + _A0) - de
        else:
            px = k * math.log(1.0 + v) - dk - de
        py = _INV_SQRT_2PI / math.sqrt(k)
    x = (0.5 - dk) / s
    x *= x
    return px, py, -0.5 * x, omega * (((c3 * x + c2) * x + c1) * x + c0)


@njit(cache=True, nogil=True)
def _tail(rng, mu, g, u):
    """Case A after a failed step I/S: steps P, Q (for ``g``'s k, with the same ``u``), then E/H."""
    s = math.sqrt(mu)
    omega, c0, c1, c2, c3 = _step_p(mu)
    c = 0.1069 / mu  # majorisation of the hat (the paper's constant)
    quotient = g >= 0.0  # a normal sample below 0 goes straight to the hat
    k = math.floor(g) if quotient else 0
    e = 0.0
    while True:
        if not quotient:  # step E: a sample t of the double-exponential hat
            e = rng.standard_exponential()
            u = 2.0 * rng.random() - 1.0
            t = 1.8 + (e if u >= 0.0 else -e)
            if t <= -0.6744:  # there p_k < f_k for every μ ≥ 10: reject
                continue
            k = math.floor(mu + s * t)
        px, py, fx, fy = _step_f(mu, k, s, omega, c0, c1, c2, c3)
        if quotient:  # step Q
            if fy - u * fy <= py * math.exp(px - fx):
                return k
            quotient = False
        elif c * abs(u) <= py * math.exp(px + e) - fy * math.exp(fx + e):  # step H
            return k


@njit(cache=True, nogil=True)
def _poisson_numba(rng, lam, out):
    """``out[i] ~ Poisson(lam[i])`` (C order), ``lam >= 0`` finite; see the module docstring."""
    lf, of = lam.ravel(), out.ravel()
    for i in range(lf.size):
        mu = lf[i]
        if mu >= 10.0:
            g = mu + math.sqrt(mu) * rng.standard_normal()
            u = rng.random()
            k = math.floor(max(g, 0.0))
            dk = mu - k
            # steps I and S with bitwise operators: no branch to mispredict
            if (g >= 0.0) & ((k >= math.floor(mu - _STEP_I_OFFSET)) | (6.0 * mu * mu * u >= dk * dk * dk)):
                of[i] = k
            else:
                of[i] = _tail(rng, mu, g, u)
        elif mu > 0.0:
            of[i] = _small(rng, mu)
        else:
            of[i] = 0


def poisson(lam: np.ndarray, *, rng: np.random.Generator | int | None = None, engine: str = "numba") -> np.ndarray:
    """Poisson counts of given means.

    Parameters
    ----------
    lam : array_like, any shape, float
        The means (e.g. expected electrons per pixel), finite and in [0, 1e15].
    rng : Generator, int or None
        The random stream (``np.random.default_rng(rng)``).
    engine : ``"numba"`` or ``"numpy"``
        ``"numba"``: algorithm PD (module docstring), ~3× faster than NumPy's at a mean of ~150;
        ``"numpy"``: ``Generator.poisson``, the reference (the same law, other counts).

    Returns
    -------
    int64 array of ``lam``'s shape.
    """
    if engine not in ("numba", "numpy"):
        raise ValueError(f"engine = {engine!r}: expected 'numba' or 'numpy'")
    rng = np.random.default_rng(rng)
    lam = np.asarray(lam, dtype=np.float64)
    if lam.size and not (lam.min() >= 0.0 and lam.max() <= _MAX_MEAN):  # NaN fails both
        raise ValueError(f"lam: expected means in [0, {_MAX_MEAN:g}]")
    if engine == "numpy":
        return np.asarray(rng.poisson(lam), dtype=np.int64)
    out = np.empty(lam.shape, np.int64)
    _poisson_numba(rng, np.ascontiguousarray(lam), out)
    return out
