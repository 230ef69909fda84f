"""Metrics computed by hand, to check the toolkit's figures against (scikit-learn lives in generated repositories,
not in the tests' environment)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(actual: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(a == p for a, p in zip(actual, predicted, strict=True)) / len(actual)


def f1_macro(actual: Sequence[str], predicted: Sequence[str]) -> float:
    """The mean over every label either side names of 2TP / (2TP + FP + FN)."""
    scores = []
    for label in sorted(set(actual) | set(predicted)):
        hits = sum(a == p == label for a, p in zip(actual, predicted, strict=True))
        false_alarms = sum(p == label != a for a, p in zip(actual, predicted, strict=True))
        misses = sum(a == label != p for a, p in zip(actual, predicted, strict=True))
        scores.append(2 * hits / (2 * hits + false_alarms + misses))
    return float(np.mean(scores))


def value_metrics(actual: Sequence[float], predicted: Sequence[float]) -> tuple[float, float, float]:
    """RMSE, MAE and R²."""
    truth, guess = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    errors = truth - guess
    r2 = 1 - float(np.sum(errors**2)) / float(np.sum((truth - truth.mean()) ** 2))
    return float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors))), r2
