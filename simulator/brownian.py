"""Overdamped Langevin (Brownian) motion of anisotropic particles, translation and rotation.

One step of length ``dt`` for particle i with body-frame diffusion coefficients D∥ (along its
long axis, the body x axis), D⊥ and rotational Dr::

    Δx_body = sqrt(2 D∥ dt) ξ₁,   Δy_body = sqrt(2 D⊥ dt) ξ₂,   Δθ = sqrt(2 Dr dt) ξ₃

with ξ standard normal, the body displacement rotated into the lab frame by the particle's angle
θ at the start of the step (Itô; the anisotropic random walk of Han et al., *Science* 314, 626
(2006)).  The lab-frame MSD is then 2(D∥ + D⊥)t = 4Dt with D = (D∥ + D⊥)/2, and the rotational
MSD 2 Dr t.

Boundary rule: a centre that crosses a wall (``lo``/``hi``) is mirrored back inside.  The
simulation puts the walls at the edges of its box: the field of view itself
(``dynamics.boundary = "reflect"``), or a box wider than the field by a margin (``"open"``, the
default), so that particles leave and enter the field (:func:`simulator.simulate.simulation_box`).

``step_numba`` is the kernel (numba, writes in place); ``step_numpy`` the NumPy reference; both
take the same pre-drawn normal numbers, so they agree to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["brownian_steps", "step_numba", "step_numpy"]


@njit(cache=True, nogil=True)
def _reflect(v, lo, hi):
    w = hi - lo
    if w <= 0.0:
        return lo
    u = (v - lo) % (2.0 * w)
    return lo + (u if u <= w else 2.0 * w - u)


@njit(cache=True, nogil=True)
def step_numba(pos, angle, d_par, d_perp, d_rot, dt, noise, lo, hi):
    """Advance ``pos`` (N, 2) and ``angle`` (N,) in place by one step; ``noise`` (N, 3)."""
    for i in range(pos.shape[0]):
        c, s = np.cos(angle[i]), np.sin(angle[i])
        bx = np.sqrt(2.0 * d_par[i] * dt) * noise[i, 0]
        by = np.sqrt(2.0 * d_perp[i] * dt) * noise[i, 1]
        pos[i, 0] = _reflect(pos[i, 0] + c * bx - s * by, lo[i, 0], hi[i, 0])
        pos[i, 1] = _reflect(pos[i, 1] + s * bx + c * by, lo[i, 1], hi[i, 1])
        angle[i] += np.sqrt(2.0 * d_rot[i] * dt) * noise[i, 2]


def step_numpy(pos, angle, d_par, d_perp, d_rot, dt, noise, lo, hi):
    """NumPy reference of :func:`step_numba` (same arguments, in place)."""
    c, s = np.cos(angle), np.sin(angle)
    bx = np.sqrt(2.0 * d_par * dt) * noise[:, 0]
    by = np.sqrt(2.0 * d_perp * dt) * noise[:, 1]
    new = pos + np.stack([c * bx - s * by, s * bx + c * by], axis=1)
    w = np.maximum(hi - lo, 0.0)
    u = np.mod(new - lo, np.where(w > 0, 2 * w, 1.0))
    pos[:] = np.where(w > 0, lo + np.where(u <= w, u, 2 * w - u), lo)
    angle += np.sqrt(2.0 * d_rot * dt) * noise[:, 2]


def brownian_steps(pos, angle, d_par, d_perp, d_rot, *, dt, steps, lo, hi, rng, engine="numba",
                   record=None):
    """Advance ``steps`` steps of length ``dt`` (s) in place; with ``record``, a list, append a copy
    of (pos, angle) after every step.  ``lo``/``hi`` (N, 2): the walls for each centre (nm)."""
    fn = step_numba if engine == "numba" else step_numpy
    for _ in range(steps):
        noise = rng.standard_normal((pos.shape[0], 3))
        fn(pos, angle, d_par, d_perp, d_rot, float(dt), noise, lo, hi)
        if record is not None:
            record.append((pos.copy(), angle.copy()))
