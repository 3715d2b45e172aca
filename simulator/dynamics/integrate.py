"""Overdamped Langevin integration with noise models, flow, pair forces and a hard core.

One step of length dt (Euler–Maruyama, Ermak & McCammon, *J. Chem. Phys.* 69, 1352 (1978)):

1. forces and torques from the pair interactions at the start of the step
   (:mod:`.interactions`), turned into displacements through the body-frame mobility D/kT, plus
   the flow ``v dt`` (:func:`.motion.drift_step`);
2. the random body-frame displacement ``sqrt(2 D dt) ξ`` with ξ from a :class:`.motion.NoiseStream`
   (``brownian``, ``fbm`` or ``ctrw``), reflected at the walls (:func:`simulator.brownian.step_numba`;
   the boundary rule is documented there);
3. the hard core: a particle whose new position puts one of its sites inside another particle's
   core goes back to where it was, and so does, in turn, every particle it then overlaps
   (rejection of the move, as in hard-sphere Brownian dynamics, Cichocki & Hinsen, *Physica A*
   166, 473 (1990)), so no configuration with overlaps is ever produced.
"""

from __future__ import annotations

import numpy as np

from ..brownian import step_numba, step_numpy
from .interactions import InteractionParams, overlapping, site_forces_numba, site_forces_numpy
from .motion import NoiseStream, drift_step

__all__ = ["Sites", "overdamped_steps"]


class Sites:
    """Interaction sites of N particles, flattened: body positions (M, 2) nm, owner (M,), radii (M,) nm."""

    def __init__(self, bodies: list[np.ndarray], radii: list[np.ndarray]) -> None:
        self.n = len(bodies)
        self.body = np.concatenate(bodies).astype(float) if bodies else np.zeros((0, 2))
        self.owner = np.concatenate([np.full(len(b), i, np.int64) for i, b in enumerate(bodies)]) if bodies \
            else np.zeros(0, np.int64)
        self.radius = np.concatenate(radii).astype(float) if radii else np.zeros(0)

    def keep(self, mask: np.ndarray) -> None:
        """Keep the sites of the particles where ``mask`` (N,) is true, renumbering owners."""
        new_index = np.cumsum(mask) - 1
        sel = mask[self.owner]
        self.body, self.radius, self.owner = self.body[sel], self.radius[sel], new_index[self.owner[sel]]
        self.n = int(np.count_nonzero(mask))

    def add(self, body: np.ndarray, radius: np.ndarray) -> None:
        """Append the sites (K, 2), radii (K,) of one new particle."""
        self.body = np.concatenate([self.body, body])
        self.radius = np.concatenate([self.radius, radius])
        self.owner = np.concatenate([self.owner, np.full(len(body), self.n, np.int64)])
        self.n += 1

    def replace(self, i: int, body: np.ndarray, radius: np.ndarray) -> None:
        """Give particle ``i`` new sites (K, 2) and radii (K,) (its outline changed)."""
        keep = self.owner != i
        at = int(np.searchsorted(self.owner, i))  # owners are sorted: insert where i's sites were
        self.body = np.concatenate([self.body[:at], body, self.body[keep][at:]])
        self.radius = np.concatenate([self.radius[:at], radius, self.radius[keep][at:]])
        self.owner = np.concatenate([self.owner[:at], np.full(len(body), i, np.int64), self.owner[keep][at:]])

    def forces(self, pos: np.ndarray, angle: np.ndarray, prm: InteractionParams, *,
               engine: str = "numba") -> tuple[np.ndarray, np.ndarray, float]:
        """Forces (N, 2) kT/nm, torques (N,) kT and the total energy (kT)."""
        force, torque = np.zeros((self.n, 2)), np.zeros(self.n)
        fn = site_forces_numba if engine == "numba" else site_forces_numpy
        energy = fn(pos, angle, self.body, self.owner, self.radius, prm.as_array(), force, torque)
        return force, torque, float(energy)

    def overlapping(self, pos: np.ndarray, angle: np.ndarray, core_nm: float) -> np.ndarray:
        """(N,) bool: particles inside another's hard core."""
        return overlapping(pos, angle, self.body, self.owner, self.radius, core_nm, self.n)


def overdamped_steps(pos: np.ndarray, angle: np.ndarray, d_par: np.ndarray, d_perp: np.ndarray,
                     d_rot: np.ndarray, *, dt: float, steps: int, lo: np.ndarray, hi: np.ndarray,
                     noise: NoiseStream, velocity_nm_s: np.ndarray | None = None, sites: Sites | None = None,
                     params: InteractionParams | None = None, engine: str = "numba",
                     record: list | None = None) -> int:
    """Advance ``steps`` steps of ``dt`` (s) in place; returns the number of rejected moves.

    Parameters
    ----------
    pos : (N, 2) centres (nm); angle : (N,) (rad)
    d_par, d_perp, d_rot : (N,) body-frame diffusion coefficients (nm²/s, rad²/s)
    lo, hi : (N, 2) reflecting walls for each centre (nm)
    noise : the noise model's stream
    velocity_nm_s : optional (2,) or (N, 2) flow
    sites, params : interaction sites and constants; both or neither
    engine : ``"numba"`` or ``"numpy"`` (the reference kernels)
    record : if a list, a copy of (pos, angle) is appended after every step
    """
    step = step_numba if engine == "numba" else step_numpy
    rejected = 0
    for _ in range(steps):
        old_pos, old_ang = pos.copy(), angle.copy()
        force = torque = None
        if sites is not None and params is not None:
            force, torque, _ = sites.forces(pos, angle, params, engine=engine)
        if force is not None or velocity_nm_s is not None:
            drift_step(pos, angle, d_par, d_perp, d_rot, dt, velocity_nm_s=velocity_nm_s, force_kT_nm=force,
                       torque_kT=torque)
        step(pos, angle, d_par, d_perp, d_rot, float(dt), noise.next(dt), lo, hi)
        if sites is not None and params is not None:
            reverted = np.zeros(len(pos), bool)
            while True:
                bad = sites.overlapping(pos, angle, params.core_nm) & ~reverted
                if not bad.any():
                    break
                pos[bad], angle[bad] = old_pos[bad], old_ang[bad]
                reverted |= bad
            rejected += int(reverted.sum())
        if record is not None:
            record.append((pos.copy(), angle.copy()))
    return rejected
