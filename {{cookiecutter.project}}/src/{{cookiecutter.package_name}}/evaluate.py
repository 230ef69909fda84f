"""The `evaluate` stage: metrics and plot data of the model on the test set, and a baseline.

A classifier is measured by accuracy, macro F1 and one-vs-rest ROC AUC; a regressor by RMSE, MAE
and R². Each metric is written twice: the model's, and `baseline_<metric>` of a dummy model that
answers the training set's prior (class shares, or the mean) whatever the features, so that a gate
can ask whether the model learned anything at all.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    precision_recall_curve,
    r2_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, read_csv
from {{ cookiecutter.package_name }}.paths import (
    METRICS,
    MODEL,
    PLOTS,
    TEST,
    TRAIN,
)
from {{ cookiecutter.package_name }}.schema import TARGET, TASK


def roc_auc(actual: pd.Series, scores: np.ndarray, classes: list[str]) -> float:
    """One-vs-rest ROC AUC, averaged over the classes that the data holds and lacks in some rows."""
    areas = [
        roc_auc_score(actual == label, scores[:, index])
        for index, label in enumerate(classes)
        if 0 < (actual == label).sum() < len(actual)
    ]
    return float(np.mean(areas)) if areas else float("nan")


def label_metrics(actual: pd.Series, predicted: np.ndarray | pd.Series) -> dict[str, float]:
    """Accuracy and macro F1: what the predicted classes alone decide."""
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "f1_macro": float(f1_score(actual, predicted, average="macro", zero_division=0)),
    }


def class_metrics(
    actual: pd.Series, predicted: np.ndarray, scores: np.ndarray, classes: list[str]
) -> dict[str, float]:
    """Accuracy, macro F1 and one-vs-rest ROC AUC."""
    return label_metrics(actual, predicted) | {"roc_auc_ovr": roc_auc(actual, scores, classes)}


def value_metrics(actual: pd.Series, predicted: np.ndarray | pd.Series) -> dict[str, float]:
    """Root mean squared error, mean absolute error and R²."""
    return {
        "rmse": float(root_mean_squared_error(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
    }


@dataclass(frozen=True)
class Answers:
    """A model's answers on a data set, computed once: predictions, and a classifier's scores."""

    actual: pd.Series
    predicted: np.ndarray
    scores: np.ndarray  # one column per class, in the order of `classes`; empty for a regressor
    classes: list[str]


def answers(model: Any, frame: pd.DataFrame) -> Answers:
    """What any fitted model answers for `frame`'s features."""
    features = frame[FEATURE_NAMES]
    if TASK == "regression":
        return Answers(frame[TARGET.name], model.predict(features), np.empty((0, 0)), [])
    classes = [str(label) for label in model.classes_]
    scores = model.predict_proba(features)
    return Answers(frame[TARGET.name], model.predict(features), scores, classes)


def measured(found: Answers) -> dict[str, float]:
    """The task's metrics of a model's answers."""
    if TASK == "regression":
        return value_metrics(found.actual, found.predicted)
    return class_metrics(found.actual, found.predicted, found.scores, found.classes)


def curves(
    actual: pd.Series, scores: np.ndarray, classes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-vs-rest ROC and precision-recall points of every class the test set has."""
    roc, pr = [], []
    for index, label in enumerate(classes):
        if not 0 < (actual == label).sum() < len(actual):
            continue
        fpr, tpr, _ = roc_curve(actual == label, scores[:, index])
        precision, recall, _ = precision_recall_curve(actual == label, scores[:, index])
        roc.append(pd.DataFrame({"class": label, "fpr": fpr.round(4), "tpr": tpr.round(4)}))
        pr.append(
            pd.DataFrame(
                {"class": label, "recall": recall.round(4), "precision": precision.round(4)}
            )
        )
    return pd.concat(roc), pd.concat(pr)


def plots(found: Answers) -> dict[str, pd.DataFrame]:
    """The plot data DVC draws: a confusion matrix, ROC and PR curves; or predictions, residuals."""
    actual, predicted = found.actual, found.predicted
    if TASK == "regression":
        points = pd.DataFrame({"actual": actual, "predicted": np.round(predicted, 6)})
        residuals = pd.DataFrame(
            {"predicted": points["predicted"], "residual": np.round(actual - predicted, 6)}
        )
        return {"predictions": points, "residuals": residuals}
    roc, pr = curves(actual, found.scores, found.classes)
    return {
        "confusion": pd.DataFrame({"actual": actual, "predicted": predicted}),
        "roc": roc,
        "pr": pr,
    }


@dataclass(frozen=True)
class Evaluation:
    """Metrics, the dummy baseline's, and the data of the plots DVC draws."""

    metrics: dict[str, float]
    plots: dict[str, pd.DataFrame]


def baseline(train: pd.DataFrame) -> Any:
    """A model that ignores the features: the training set's class prior, or its mean."""
    dummy = DummyClassifier(strategy="prior") if TASK == "classification" else DummyRegressor()
    return dummy.fit(train[FEATURE_NAMES], train[TARGET.name])


def rounded(metrics: dict[str, float]) -> dict[str, float]:
    """Figures rounded so that reports stay readable."""
    return {name: round(value, 4) for name, value in metrics.items()}


def evaluate(model: Any, test: pd.DataFrame, train: pd.DataFrame) -> Evaluation:
    """Metrics and plot data of `model` on `test`, with the baseline fitted on `train`."""
    found = answers(model, test)
    dummy = measured(answers(baseline(train), test))
    figures = measured(found) | {f"baseline_{name}": value for name, value in dummy.items()}
    return Evaluation(rounded(figures), plots(found))


def score(model_file: Path, data_file: Path) -> dict[str, float]:
    """Metrics of a stored model on a data file: how promotion compares champion and challenger."""
    model = pickle.loads(model_file.read_bytes())
    return rounded(measured(answers(model, read_csv(data_file))))


def outcome_metrics(actual: pd.Series, predicted: pd.Series) -> dict[str, float]:
    """The task's metrics of logged answers against outcomes known later (true targets, as text or
    numbers): those the answers alone decide, as `mlci kpi` and `mlci shadow` report them."""
    if TASK == "regression":
        return rounded(value_metrics(pd.to_numeric(actual), pd.to_numeric(predicted)))
    return rounded(label_metrics(actual.astype(str), predicted.astype(str)))


def main() -> None:
    model = pickle.loads(MODEL.read_bytes())
    result = evaluate(model, read_csv(TEST), read_csv(TRAIN))
    PLOTS.mkdir(parents=True, exist_ok=True)
    METRICS.write_text(json.dumps(result.metrics, indent=2) + "\n", encoding="utf-8")
    for name, points in result.plots.items():
        points.to_csv(PLOTS / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
