"""The review's plots, twice: Mermaid charts that GitHub draws inline, and PNG files for the HTML report.

Curves (ROC, precision-recall) are the pipeline's plot data, one curve per class, averaged over classes on a
grid of GRID points for Mermaid; the PNGs draw every class. The confusion matrix becomes per-class recall.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GRID = np.linspace(0, 1, 11)


@dataclass(frozen=True)
class PlotSpec:
    """One plot of `dvc.yaml`: its file, the columns on each axis, and whether it is a confusion matrix."""

    path: str
    x: str
    y: str
    confusion: bool


def average_curve(points: pd.DataFrame, x: str, y: str) -> list[float]:
    """The curve y(x) on GRID, averaged over the `class` column when there is one."""
    groups = [group for _, group in points.groupby("class")] if "class" in points.columns else [points]
    curves = []
    for group in groups:
        ordered = group.sort_values([x, y])
        curves.append(np.interp(GRID, ordered[x].to_numpy(float), ordered[y].to_numpy(float)))
    return [round(float(value), 3) for value in np.mean(curves, axis=0)]


def square(points: pd.DataFrame, spec: PlotSpec) -> pd.DataFrame:
    """The confusion matrix, actual by predicted, over every label either side uses."""
    labels = sorted({str(label) for label in points[spec.x]} | {str(label) for label in points[spec.y]})
    matrix = pd.crosstab(points[spec.x].astype(str), points[spec.y].astype(str))
    return matrix.reindex(index=labels, columns=labels, fill_value=0)


def recall_by_class(points: pd.DataFrame, spec: PlotSpec) -> pd.Series:
    """The share of each actual class predicted right: the confusion matrix's diagonal over its rows."""
    matrix = square(points, spec)
    correct = pd.Series([matrix.at[label, label] for label in matrix.index], index=matrix.index)
    return (correct / matrix.sum(axis=1).replace(0, 1)).round(3)


def xychart(title: str, x_axis: str, y_axis: str, series: list[str]) -> str:
    """Mermaid's xychart: a title, two axes, then one `line [...]` or `bar [...]` per series."""
    return "\n".join(["xychart-beta", f'    title "{title}"', f"    x-axis {x_axis}", f"    y-axis {y_axis}", *series])


def numbers(values: list[float]) -> str:
    return "[" + ", ".join(f"{value:g}" for value in values) + "]"


def mermaid_curve(spec: PlotSpec, sides: dict[str, pd.DataFrame]) -> str:
    """A Mermaid line chart of the averaged curve, one line per side, in the order of `sides`."""
    series = [f"    line {numbers(average_curve(frame, spec.x, spec.y))}" for frame in sides.values()]
    title = f"{spec.y} against {spec.x}, averaged over classes (lines: {', '.join(sides)})"
    return xychart(title, f'"{spec.x}" 0 --> 1', f'"{spec.y}" 0 --> 1', series)


def mermaid_recall(spec: PlotSpec, sides: dict[str, pd.DataFrame]) -> str:
    """A Mermaid chart of per-class recall: the first side as bars, the next as a line."""
    recalls = [recall_by_class(frame, spec) for frame in sides.values()]
    classes = sorted({str(c) for recall in recalls for c in recall.index})
    series = [
        f"    {'bar' if position == 0 else 'line'} {numbers([float(recall.get(c, 0.0)) for c in classes])}"
        for position, recall in enumerate(recalls)
    ]
    labels = list(sides)
    shapes = f"bars: {labels[0]}" + (f"; line: {', '.join(labels[1:])}" if labels[1:] else "")
    axis = "[" + ", ".join(f'"{c}"' for c in classes) + "]"
    return xychart(f"recall by class, from the confusion matrix ({shapes})", axis, '"recall" 0 --> 1', series)


def png(spec: PlotSpec, sides: dict[str, pd.DataFrame], path: Path) -> None:
    """Draw a plot for every side into one PNG: confusion matrices side by side, or every class's curve."""
    import matplotlib  # imports in about a second: only the review pays for it

    matplotlib.use("Agg")
    from matplotlib import pyplot

    if spec.confusion:
        figure, axes = pyplot.subplots(1, len(sides), figsize=(4.5 * len(sides), 4), squeeze=False)
        for axis, (label, frame) in zip(axes[0], sides.items(), strict=True):
            matrix = square(frame, spec)
            axis.imshow(matrix.to_numpy(), cmap="Blues")
            axis.set(title=label, xlabel=spec.y, ylabel=spec.x)
            axis.set_xticks(range(len(matrix.columns)), [str(c) for c in matrix.columns], rotation=30)
            axis.set_yticks(range(len(matrix.index)), [str(c) for c in matrix.index])
            for (row, column), count in np.ndenumerate(matrix.to_numpy()):
                axis.text(column, row, str(count), ha="center", va="center")
    else:
        figure, axis = pyplot.subplots(figsize=(6, 4.5))
        for style, (label, frame) in zip(("--", "-", ":"), sides.items(), strict=False):
            groups = frame.groupby("class") if "class" in frame.columns else [("", frame)]
            for name, group in groups:
                ordered = group.sort_values([spec.x, spec.y])
                axis.plot(ordered[spec.x], ordered[spec.y], style, label=f"{label} {name}".strip())
        axis.set(xlabel=spec.x, ylabel=spec.y, xlim=(0, 1), ylim=(0, 1.02))
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=90, metadata={"Software": None})
    pyplot.close(figure)
