"""The regression gate: did any metric fall by more than a tolerance against a reference?

Compares the overall and per-scenario aggregates of two results files scored on the same suite
(same checksum).  A metric "falls" when it moves in its bad direction (lower for scores, higher
for errors and costs, see :func:`benchmark.metrics.higher_is_better`) by more than
``tolerance`` (absolute).  Costs (seconds per frame, memory) are machine-dependent and are not
gated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.errors import UserError

from .metrics import higher_is_better
from .results import Results

__all__ = ["Regression", "check_tolerance", "compare", "format_table"]

_NOT_GATED = {"seconds_per_frame", "peak_memory_mb"}


@dataclass(frozen=True)
class Regression:
    group: str
    metric: str
    reference: float
    current: float

    @property
    def change(self) -> float:
        return self.current - self.reference


def check_tolerance(tolerance: float) -> None:
    """Refuse a tolerance under which the gate means nothing: NaN or infinite (every metric passes)
    or negative (the reference fails against itself)."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise UserError(f"--tolerance {tolerance}: expected a finite number >= 0 (how far a metric may fall)")


def compare(current: Results, reference: Results, *, tolerance: float = 0.01) -> list[Regression]:
    """Every (group, metric) whose value got worse by more than ``tolerance``."""
    check_tolerance(tolerance)
    if current.suite.checksum != reference.suite.checksum:
        raise UserError(f"the reference was scored on suite checksum {reference.suite.checksum[:12]}, these "
                        f"results on {current.suite.checksum[:12]}: they are not comparable")
    out = []
    for group, ref_row in sorted(reference.aggregates.items()):
        if group.startswith("level:"):
            continue
        cur_row = current.aggregates.get(group, {})
        for metric, ref in sorted(ref_row.items()):
            if metric in _NOT_GATED or ref is None:
                continue
            cur = cur_row.get(metric)
            if cur is None:
                out.append(Regression(group, metric, ref, float("nan")))
                continue
            worse = (ref - cur) if higher_is_better(metric) else (cur - ref)
            if worse > tolerance:
                out.append(Regression(group, metric, ref, cur))
    return out


def format_table(regressions: list[Regression]) -> str:
    lines = [f"{'group':<34} {'metric':<24} {'reference':>10} {'current':>10} {'change':>9}"]
    for r in regressions:
        lines.append(f"{r.group:<34} {r.metric:<24} {r.reference:>10.4f} {r.current:>10.4f} {r.change:>+9.4f}")
    return "\n".join(lines)
