"""Parameter specifications: the allowed values of a method's keyword-only parameters.

A project method carries ``__nanoaq_params__``, a dict ``name -> Param``; the registry's
``validate_params`` reads it to name a bad parameter and its allowed values in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Param"]


@dataclass(frozen=True)
class Param:
    """One keyword-only parameter: default, type and allowed values.

    Attributes
    ----------
    default : the value used when the parameter is not given
    kind : ``bool``, ``int``, ``float`` or ``str``
    choices : the allowed values of a ``str`` parameter (empty: any)
    low, high : inclusive bounds of a number (None: unbounded)
    odd : an ``int`` that must be odd (window sizes)
    help : one line, with units
    """

    default: Any
    kind: type
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    odd: bool = False

    def allowed(self) -> str:
        """The allowed values, in words (for error messages)."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        what = {int: "an odd integer" if self.odd else "an integer", float: "a number"}.get(self.kind, self.kind.__name__)
        if self.low is not None and self.high is not None:
            return f"{what} in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{what} >= {self.low:g}"
        if self.high is not None:
            return f"{what} <= {self.high:g}"
        return what

    def check(self, value: Any) -> Any | None:
        """``value`` converted to the parameter's type, or None when it is not allowed."""
        if self.kind is bool:
            return value if isinstance(value, bool) else None
        if isinstance(value, bool):
            return None
        if self.kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or (self.odd and value % 2 == 0):
                return None
        elif self.kind is float:
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return None
            value = float(value)
        elif self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                return None
        if self.low is not None and value < self.low:
            return None
        if self.high is not None and value > self.high:
            return None
        return value
