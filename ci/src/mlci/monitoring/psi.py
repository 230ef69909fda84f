"""The one drift rule: the population stability index (PSI) of a column, when a column counts as drifted, and
each column's change between two tables judged by it.

The review (base against head) and `mlci drift` (training data against logged requests) both judge by it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlci_serving.dates import is_date_column, moments

PSI_BINS = 10
PSI_FLOOR = 1e-4  # a bin empty on one side would make the logarithm infinite


def drifted(psi: float, new_categories: Sequence[str], threshold: float) -> bool:
    """A column drifted when its PSI is above the threshold, or when it holds a category the reference lacks."""
    return psi > threshold or bool(new_categories)  # a PSI of NaN (no values on a side) is never above


def psi_numeric(base: pd.Series, head: pd.Series) -> float:
    """Population stability index over base's deciles (missing values left out)."""
    base, head = base.dropna().astype(float), head.dropna().astype(float)
    if base.empty or head.empty:
        return math.nan
    edges = np.unique(np.quantile(base, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    expected = np.histogram(base, bins)[0] / len(base)
    actual = np.histogram(head, bins)[0] / len(head)
    return stability(expected, actual)


def psi_categorical(base: pd.Series, head: pd.Series) -> float:
    """Population stability index over the categories of both sides (missing counted as its own category)."""
    base, head = base.astype("string").fillna("<missing>"), head.astype("string").fillna("<missing>")
    categories = sorted(set(base) | set(head))
    expected = base.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
    actual = head.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
    return stability(expected, actual)


def stability(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.clip(expected, PSI_FLOOR, None), np.clip(actual, PSI_FLOOR, None)
    return round(float(np.sum((actual - expected) * np.log(actual / expected))), 4)


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
    novel: str = ""  # head's values base never showed, said in words: past its range, outside its period

    def drifted(self, threshold: float) -> bool:
        """Whether head moved away from base past the threshold, by the one drift rule."""
        return drifted(self.psi, self.new_categories, threshold)


def date_change(name: str, old: pd.Series, new: pd.Series, missing: str) -> FeatureChange:
    """A date column: each side's period, and how many of head's dates fall outside base's. Not judged by PSI:
    time moves on, and a week of requests is always a narrow slice of a training period."""
    before, after = moments(old).dropna(), moments(new).dropna()

    def period(when: pd.Series) -> str:
        return f"{when.min():%Y-%m-%d} to {when.max():%Y-%m-%d}" if len(when) else "no dates"

    later = int((after > before.max()).sum()) if len(before) else 0
    earlier = int((after < before.min()).sum()) if len(before) else 0
    novel = "; ".join(
        f"{count / len(after):.0%} {side} the period"
        for count, side in ((later, "after"), (earlier, "before"))
        if count
    )
    return FeatureChange(name, "date", period(before), period(after), missing, math.nan, [], novel=novel)


def outside_range(old: pd.Series, new: pd.Series) -> str:
    """Head's numbers past base's range, said as a share."""
    present = new.dropna()
    if present.empty or old.dropna().empty:
        return ""
    share = float(((present < old.min()) | (present > old.max())).mean())
    return f"{share:.0%} past the range" if share else ""


def feature_changes(base: pd.DataFrame, head: pd.DataFrame) -> list[FeatureChange]:
    """Every column of either frame: numeric ones by mean and spread, dates by period, others by their top
    value."""
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
                    novel=outside_range(old, new),
                )
            )
        elif is_date_column(old.astype("string").astype(object).where(old.notna())):
            changes.append(date_change(name, old, new, missing))
        else:
            added = sorted(set(new.dropna().astype(str)) - set(old.dropna().astype(str)))
            novel = f"{new.dropna().astype(str).isin(added).mean():.0%} unseen" if added else ""
            changes.append(
                FeatureChange(
                    name, "category", top(old), top(new), missing, psi_categorical(old, new), added, novel=novel
                )
            )
    return changes


def top(column: pd.Series) -> str:
    """The most frequent value and its share, and how many distinct values there are."""
    counts = column.value_counts(normalize=True)
    if counts.empty:
        return "no values"
    return f"{counts.index[0]} {counts.iloc[0]:.0%} of {len(counts)}"
