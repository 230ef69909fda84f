"""The figures of a model review: metric deltas and gates, changed params, and how the data moved."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlci.core.config import Config
from mlci.promotion.gates import TOLERANCE, champion_checks, committed_checks, gain, gate_verdict
from mlci.monitoring.psi import drifted, psi_categorical, psi_numeric


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


@dataclass(frozen=True)
class FeatureChange:
    """How one column moved from base to head: a summary of each side and the population stability index."""

    name: str
    kind: str
    base: str
    head: str
    missing: str
    psi: float
    new_categories: list[str]
    only_in: str = ""  # "base" or "head" for a column the other side lacks

    def drifted(self, threshold: float) -> bool:
        """Whether head moved away from base past the threshold, by the one drift rule."""
        return drifted(self.psi, self.new_categories, threshold)


def feature_changes(base: pd.DataFrame, head: pd.DataFrame) -> list[FeatureChange]:
    """Every column of either frame: numeric ones by mean and spread, others by their top value."""
    changes = []
    for name in [*head.columns, *(column for column in base.columns if column not in head.columns)]:
        if name not in base.columns or name not in head.columns:
            side = "head" if name in head.columns else "base"
            changes.append(FeatureChange(name, "-", "-", "-", "-", math.nan, [], only_in=side))
            continue
        old, new = base[name], head[name]
        missing = f"{old.isna().mean():.1%} → {new.isna().mean():.1%}"
        if pd.api.types.is_numeric_dtype(old) and pd.api.types.is_numeric_dtype(new):
            summary = "mean {:.4g}, sd {:.4g}"
            changes.append(
                FeatureChange(
                    name,
                    "numeric",
                    summary.format(old.mean(), old.std()),
                    summary.format(new.mean(), new.std()),
                    missing,
                    psi_numeric(old, new),
                    [],
                )
            )
        else:
            added = sorted(set(new.dropna().astype(str)) - set(old.dropna().astype(str)))
            changes.append(
                FeatureChange(name, "category", top(old), top(new), missing, psi_categorical(old, new), added)
            )
    return changes


def top(column: pd.Series) -> str:
    """The most frequent value and its share, and how many distinct values there are."""
    counts = column.value_counts(normalize=True)
    if counts.empty:
        return "no values"
    return f"{counts.index[0]} {counts.iloc[0]:.0%} of {len(counts)}"
