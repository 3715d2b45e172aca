"""Particle dynamics beyond free Brownian motion: anomalous noise (fBm, CTRW) and pair interactions.

Free Brownian motion and the hydrodynamic coefficients live in :mod:`simulator.brownian` and
:mod:`simulator.hydrodynamics`; this package adds :mod:`.motion` (noise models, drift, force
drift), :mod:`.interactions` (screened electrostatics, van der Waals, depletion, hard core, cell
lists, pair potential), :mod:`.integrate` (the overdamped step with all of them) and
:mod:`.reactions` (etching/growth, dissolution, nucleation, coalescence, lineage).
"""

from __future__ import annotations

__all__ = ["motion", "interactions", "integrate", "reactions"]
