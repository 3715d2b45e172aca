"""nanoaquarium baselines: the thresholding family and the method registry.

>>> from baselines import get_method
>>> segment = get_method("otsu")          # doctest: +SKIP
>>> labels = segment(frames, meta, sigma_px=1.5)   # doctest: +SKIP
"""

from __future__ import annotations

from simulator import __version__

from .registry import get_method, list_methods, parse_params, validate_params

__all__ = ["__version__", "get_method", "list_methods", "parse_params", "validate_params"]
