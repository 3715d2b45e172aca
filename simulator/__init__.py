"""nanoaquarium simulator: physics-based liquid-phase TEM videos with exact ground truth."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
