"""The figures of a model review: metric deltas and gates, changed params, and how the data moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlci.core.config import Config
from mlci.promotion.gates import TOLERANCE, champion_checks, committed_checks, gain, gate_verdict


@dataclass(frozen=True)
class MetricRow:
    """One metric across the revisions, with head's change from base and its gate verdict."""

    name: str
    direction: str  # "higher" or "lower" is better; "" when [metrics] does not say
    base: float | None
    head: float | None
    champion: float | None
    gate: str

    @property
    def delta(self) -> float | None:
        return None if self.base is None or self.head is None else round(self.head - self.base, 6)


def metric_rows(
    base: dict[str, float] | None,
    head: dict[str, float] | None,
    champion: dict[str, float] | None,
    config: Config,
    champion_name: str = "the champion",
) -> list[MetricRow]:
    """Every metric any revision has, with the gate verdict of head: its own gates, and against the champion."""
    names = sorted(set(base or {}) | set(head or {}) | set(champion or {}))
    checks = committed_checks(head or {}, config.gates, config.metrics)
    checks += champion_checks(head or {}, champion or {}, config.gates, config.metrics, champion_name)
    return [
        MetricRow(
            name,
            config.metrics.get(name, ""),
            (base or {}).get(name),
            (head or {}).get(name),
            (champion or {}).get(name),
            gate_verdict([check for check in checks if check.metric == name]),
        )
        for name in names
    ]


def verdict(rows: list[MetricRow]) -> str:
    """How head compares with base on the metrics whose direction is known: better, worse, mixed or unchanged."""
    gains = [
        gain(row.direction, row.head, row.base)
        for row in rows
        if row.direction and row.head is not None and row.base is not None
    ]
    if not gains:
        return "not comparable with base (no metric with a known direction on both sides)"
    if all(abs(value) < TOLERANCE for value in gains):
        return "unchanged from base"
    if all(value >= -TOLERANCE for value in gains):
        return "better than base"
    if all(value <= TOLERANCE for value in gains):
        return "worse than base"
    return "mixed against base"


def param_changes(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """Each param whose value differs, with its base and head values (`-` where absent)."""
    if base is None or head is None:
        return []
    keys = sorted(set(base) | set(head))
    return [(key, show(base.get(key, "-")), show(head.get(key, "-"))) for key in keys if base.get(key) != head.get(key)]


def show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
