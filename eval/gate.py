"""The regression gate: bounds on metrics (``--fail-under``/``--fail-over``) and their check."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from chatbot.errors import ConfigurationError
from eval.metrics import METRICS

BoundKind = Literal["under", "over"]


class GateError(ConfigurationError):
    """A bound names an unknown metric, has no number, or points the wrong way."""

    message_de = "Die Schwellenwerte der Auswertung sind ungültig."


@dataclass(frozen=True)
class Bound:
    """Fail when ``metric`` is below (``under``) or above (``over``) ``value``."""

    metric: str
    value: float
    kind: BoundKind

    def __str__(self) -> str:
        return f"--fail-{self.kind} {self.metric}={self.value:g}"


def parse_bounds(specs: Iterable[str], kind: BoundKind) -> list[Bound]:
    """Parse ``METRIC=VALUE`` items; higher-is-better metrics take ``under``, the rest ``over``."""
    bounds: list[Bound] = []
    for spec in specs:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise GateError(f"--fail-{kind} expects METRIC=VALUE, got {spec!r}")
        info = METRICS.get(name)
        if info is None:
            raise GateError(
                f"--fail-{kind}: unknown metric {name!r}; known metrics: {', '.join(METRICS)}"
            )
        try:
            value = float(raw)
        except ValueError:
            raise GateError(f"--fail-{kind} {name}: {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise GateError(f"--fail-{kind} {name}: the bound must be a finite number")
        if kind == "under" and not info.higher_is_better:
            raise GateError(
                f"--fail-under {name}: lower is better for this metric; "
                f"give an upper bound with --fail-over {name}={raw.strip()}"
            )
        if kind == "over" and info.higher_is_better:
            raise GateError(
                f"--fail-over {name}: higher is better for this metric; "
                f"give a lower bound with --fail-under {name}={raw.strip()}"
            )
        if not info.unit and not 0.0 <= value <= 1.0:
            raise GateError(f"--fail-{kind} {name}: a rate bound must lie in [0, 1], got {value}")
        bounds.append(Bound(name, value, kind))
    return bounds


def violations(metrics: Mapping[str, float | None], bounds: Iterable[Bound]) -> list[str]:
    """One readable line per violated bound; an unmeasured metric violates its bound."""
    problems: list[str] = []
    for bound in bounds:
        value = metrics.get(bound.metric)
        if value is None:
            problems.append(f"{bound.metric} was not measured (no question counts towards it)")
        elif bound.kind == "under" and value < bound.value:
            problems.append(f"{bound.metric} = {value:g} is below {bound.value:g}")
        elif bound.kind == "over" and value > bound.value:
            problems.append(f"{bound.metric} = {value:g} is above {bound.value:g}")
    return problems
