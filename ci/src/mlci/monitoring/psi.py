"""The one drift rule: the population stability index (PSI) of a column, and when a column counts as drifted.

The review (base against head) and `mlci drift` (training data against logged requests) both judge by it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
