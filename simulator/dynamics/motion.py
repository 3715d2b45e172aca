"""Noise models for overdamped Langevin motion: ``brownian``, ``fbm`` and ``ctrw``.

Every model produces, step by step, the body-frame noise ``ξ`` (N, 3) that the Brownian kernel
:func:`simulator.brownian.step_numba` turns into displacements ``sqrt(2 D dt) ξ``:

- ``brownian``: ξ standard normal, independent between steps (MSD = 4 D t).
- ``fbm``: fractional Brownian motion of Hurst exponent H (Mandelbrot & Van Ness, *SIAM Rev.* 10,
  422 (1968)).  The increments are fractional Gaussian noise drawn exactly on a uniform grid by
  circulant embedding (Davies & Harte, *Biometrika* 74, 95 (1987); Dietrich & Newsam, *SIAM J.
  Sci. Comput.* 18, 1088 (1997)).  Scaled so that the MSD equals the Brownian one at the reference
  time τ (the frame interval): ``MSD(t) = 4 D τ (t/τ)^{2H}``; ξ_k = g_k (dt/τ)^{H-½} with g unit
  fGn.  H < ½ is subdiffusive, as reported for LPEM motion at low dose rate (Jamali et al., *PNAS*
  118, e2017616118 (2021)).  A step whose dt differs from the grid's (the few sub-steps that place
  states inside the exposure) uses the next grid value scaled by (dt/τ)^{H-½}: exact on the grid.
- ``ctrw``: continuous-time random walk by pinning (Jamali et al. 2021, high dose rate): a particle
  alternates between mobile spells, exponential with mean ``mobile_s``, in which it diffuses
  freely, and pinned spells whose duration has the power-law tail P(τ > t) = (t/t0)^{-α}
  (Pareto, 0 < α; α < 1 gives ageing and MSD ∝ t^α; Metzler & Klafter, *Phys. Rep.* 339, 1 (2000)).
  While pinned, ξ = 0 (no translation, no rotation).

Drift: :func:`drift_step` adds a uniform flow ``v dt`` and the deterministic displacement of a
force and torque through the body-frame mobility D/kT (Einstein relation).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["fgn", "NoiseStream", "drift_step", "pareto_waits"]

Model = Literal["brownian", "fbm", "ctrw"]


def fgn(n: int, hurst: float, *, size: tuple[int, ...] = (), rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Unit-variance fractional Gaussian noise, exactly, by circulant embedding (Davies–Harte).

    Parameters
    ----------
    n : number of increments
    hurst : Hurst exponent H in (0, 1); H = ½ is white noise
    size : leading shape; the result has shape ``(*size, n)``
    rng : generator or seed

    Returns
    -------
    (*size, n) float array with covariance γ(k) = ½(|k+1|^{2H} − 2|k|^{2H} + |k−1|^{2H}).
    """
    rng = np.random.default_rng(rng)
    k = np.arange(n + 1, dtype=float)
    gamma = 0.5 * (np.abs(k + 1) ** (2 * hurst) - 2 * k ** (2 * hurst) + np.abs(k - 1) ** (2 * hurst))
    row = np.concatenate([gamma, gamma[-2:0:-1]])  # circulant of size m = 2n
    m = row.size
    lam = np.maximum(np.fft.fft(row).real, 0.0)  # non-negative for fGn (Craigmile 2003); clip rounding
    count = int(np.prod(size)) if size else 1
    half = (count + 1) // 2  # real and imaginary parts are two independent samples
    z = rng.standard_normal((half, m)) + 1j * rng.standard_normal((half, m))
    w = np.fft.fft(np.sqrt(lam / m) * z, axis=-1)[:, :n]
    out = np.concatenate([w.real, w.imag])[:count]
    return out.reshape(*size, n)


def pareto_waits(size: int | tuple[int, ...], alpha: float, t0: float, *, rng: np.random.Generator) -> np.ndarray:
    """Waiting times with survival P(τ > t) = (t/t0)^{-α} for t ≥ t0 (inverse-CDF sampling)."""
    return t0 * (1.0 - rng.random(size)) ** (-1.0 / alpha)


class NoiseStream:
    """Body-frame noise ξ (N, 3) for successive steps of an overdamped Langevin integration.

    Parameters
    ----------
    model : ``"brownian"``, ``"fbm"`` or ``"ctrw"``
    n : number of particles
    rng : generator or seed (the stream owns one spawned generator)
    tau_s : reference time τ (s) at which fBm's MSD equals the Brownian 4 D τ (the frame interval)
    steps : number of grid steps to pre-draw for fBm (the whole video; more are drawn, independent,
        if the stream is used past it)
    hurst : Hurst exponent for ``fbm``
    alpha, t0_s, mobile_s : CTRW pinning tail exponent, minimum pinned time (s) and mean mobile
        spell (s)
    """

    def __init__(self, model: Model, n: int, *, rng: np.random.Generator | int | None = None,
                 tau_s: float = 0.1, steps: int = 1024, hurst: float = 0.5,
                 alpha: float = 0.6, t0_s: float = 0.05, mobile_s: float = 0.2) -> None:
        self.model, self.n = model, int(n)
        self.rng = np.random.default_rng(rng)
        self.tau_s, self.hurst = float(tau_s), float(hurst)
        self.alpha, self.t0_s, self.mobile_s = float(alpha), float(t0_s), float(mobile_s)
        self._steps = max(int(steps), 1)
        self._k = 0
        self._fgn = None
        if model == "fbm":
            self._fgn = fgn(self._steps, self.hurst, size=(self.n, 3), rng=self.rng)
        if model == "ctrw":
            # Each particle begins with a mobile spell.
            self.pinned = np.zeros(self.n, bool)
            self.remaining = self.rng.exponential(self.mobile_s, self.n)

    def next(self, dt_s: float) -> np.ndarray:
        """The noise ξ (N, 3) of the next step of length ``dt_s`` (s)."""
        if self.model == "fbm":
            if self._k >= self._steps:
                self._fgn = fgn(self._steps, self.hurst, size=(self.n, 3), rng=self.rng)
                self._k = 0
            g = self._fgn[:, :, self._k]
            self._k += 1
            return g * (dt_s / self.tau_s) ** (self.hurst - 0.5)
        xi = self.rng.standard_normal((self.n, 3))
        if self.model == "ctrw":
            return xi * self._mobile_fraction(dt_s)[:, None]
        return xi

    def keep(self, mask: np.ndarray) -> None:
        """Keep the streams of the particles where ``mask`` (N,) is true (others dissolved)."""
        self.n = int(np.count_nonzero(mask))
        if self._fgn is not None:
            self._fgn = self._fgn[mask]
        if self.model == "ctrw":
            self.pinned, self.remaining = self.pinned[mask], self.remaining[mask]

    def add(self, count: int) -> None:
        """Append streams for ``count`` new particles (nucleated or merged)."""
        if count <= 0:
            return
        self.n += int(count)
        if self._fgn is not None:
            self._fgn = np.concatenate([self._fgn, fgn(self._steps, self.hurst, size=(count, 3), rng=self.rng)])
        if self.model == "ctrw":
            self.pinned = np.concatenate([self.pinned, np.zeros(count, bool)])
            self.remaining = np.concatenate([self.remaining, self.rng.exponential(self.mobile_s, count)])

    def _mobile_fraction(self, dt_s: float) -> np.ndarray:
        """Advance the pinning states by ``dt_s``; sqrt of the mobile fraction of the step (N,)."""
        mobile_time = np.zeros(self.n)
        left = np.full(self.n, float(dt_s))
        while True:
            active = left > 0
            if not active.any():
                break
            use = np.minimum(left, self.remaining)
            mobile_time += np.where(active & ~self.pinned, use, 0.0)
            left = np.where(active, left - use, left)
            self.remaining = np.where(active, self.remaining - use, self.remaining)
            switch = active & (self.remaining <= 0)
            if switch.any():
                idx = np.flatnonzero(switch)
                self.pinned[idx] = ~self.pinned[idx]
                to_pin = idx[self.pinned[idx]]
                to_move = idx[~self.pinned[idx]]
                self.remaining[to_pin] = pareto_waits(to_pin.size, self.alpha, self.t0_s, rng=self.rng)
                self.remaining[to_move] = self.rng.exponential(self.mobile_s, to_move.size)
        return np.sqrt(mobile_time / dt_s)


def drift_step(pos: np.ndarray, angle: np.ndarray, d_par: np.ndarray, d_perp: np.ndarray, d_rot: np.ndarray,
               dt_s: float, *, velocity_nm_s: np.ndarray | None = None, force_kT_nm: np.ndarray | None = None,
               torque_kT: np.ndarray | None = None) -> None:
    """Deterministic part of one overdamped step, in place.

    ``Δr = v dt + R(θ) diag(D∥, D⊥) R(θ)ᵀ F dt / kT`` and ``Δθ = Dr T dt / kT`` (Einstein relation
    mobility = D/kT; forces in kT/nm, torques in kT, so kT cancels).

    Parameters
    ----------
    pos : (N, 2) centres (nm), angle : (N,) (rad), d_par, d_perp : (N,) nm²/s, d_rot : (N,) rad²/s
    velocity_nm_s : (2,) or (N, 2) flow velocity
    force_kT_nm : (N, 2) lab-frame forces, torque_kT : (N,) torques
    """
    if velocity_nm_s is not None:
        pos += np.asarray(velocity_nm_s, float) * dt_s
    if force_kT_nm is not None:
        c, s = np.cos(angle), np.sin(angle)
        fb_par = c * force_kT_nm[:, 0] + s * force_kT_nm[:, 1]
        fb_perp = -s * force_kT_nm[:, 0] + c * force_kT_nm[:, 1]
        bx, by = d_par * fb_par * dt_s, d_perp * fb_perp * dt_s
        pos[:, 0] += c * bx - s * by
        pos[:, 1] += s * bx + c * by
    if torque_kT is not None:
        angle += d_rot * torque_kT * dt_s
