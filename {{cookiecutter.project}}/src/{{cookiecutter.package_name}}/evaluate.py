"""The `evaluate` stage: metrics and plot data of the model on the held-out test set."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.data import TEST, read_csv
from {{ cookiecutter.package_name }}.schema import TARGET
from {{ cookiecutter.package_name }}.train import FEATURE_NAMES, MODEL

METRICS = Path("reports/metrics.json")
PLOTS = Path("reports/plots")


def metrics(
    actual: pd.Series, predicted: np.ndarray, scores: np.ndarray, classes: list[str]
) -> dict[str, float]:
    """Accuracy, macro F1 and one-vs-rest ROC AUC, rounded so that reports stay readable."""
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), 4),
        "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 4),
        "roc_auc_ovr": round(
            float(roc_auc_score(actual, scores, multi_class="ovr", labels=classes)), 4
        ),
    }


def curves(
    actual: pd.Series, scores: np.ndarray, classes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-vs-rest ROC and precision-recall points of every class."""
    roc, pr = [], []
    for index, label in enumerate(classes):
        fpr, tpr, _ = roc_curve(actual == label, scores[:, index])
        precision, recall, _ = precision_recall_curve(actual == label, scores[:, index])
        roc.append(pd.DataFrame({"class": label, "fpr": fpr.round(4), "tpr": tpr.round(4)}))
        pr.append(
            pd.DataFrame(
                {"class": label, "recall": recall.round(4), "precision": precision.round(4)}
            )
        )
    return pd.concat(roc), pd.concat(pr)


@dataclass(frozen=True)
class Evaluation:
    """Metrics, and the data of the plots DVC draws: confusion matrix, ROC and PR curves."""

    metrics: dict[str, float]
    plots: dict[str, pd.DataFrame]


def evaluate(model: Pipeline, frame: pd.DataFrame) -> Evaluation:
    """Metrics and plot data of `model` on `frame`."""
    actual = frame[TARGET.name]
    predicted = model.predict(frame[FEATURE_NAMES])
    scores = model.predict_proba(frame[FEATURE_NAMES])  # columns in the order of model.classes_
    classes = [str(label) for label in model.classes_]
    roc, pr = curves(actual, scores, classes)
    confusion = pd.DataFrame({"actual": actual, "predicted": predicted})
    plots = {"confusion": confusion, "roc": roc, "pr": pr}
    return Evaluation(metrics(actual, predicted, scores, classes), plots)


def score(model_file: Path, data_file: Path) -> dict[str, float]:
    """Metrics of a stored model on a data file: how promotion compares champion and challenger."""
    model: Pipeline = pickle.loads(model_file.read_bytes())
    return evaluate(model, read_csv(data_file)).metrics


def main() -> None:
    model: Pipeline = pickle.loads(MODEL.read_bytes())
    result = evaluate(model, read_csv(TEST))
    PLOTS.mkdir(parents=True, exist_ok=True)
    METRICS.write_text(json.dumps(result.metrics, indent=2) + "\n", encoding="utf-8")
    for name, points in result.plots.items():
        points.to_csv(PLOTS / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
