"""The review's plots, twice: Mermaid charts that GitHub draws inline, and PNG files for the HTML report.

Curves (ROC, precision-recall) are the pipeline's plot data, one curve per class, averaged over classes on a
grid of GRID points for Mermaid; the PNGs draw every class. The confusion matrix becomes per-class recall.
Scatter plots (a regressor's predicted against actual values, its residuals) become, for Mermaid, the mean of
y in BINS quantile bins of x; the PNGs draw every point. Each side has its own colour, visible on white.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GRID = np.linspace(0, 1, 11)
BINS = 10
PALETTE = ("#0969da", "#cf222e", "#1a7f37")  # blue, red, green: the sides in order (base, head, champion)


@dataclass(frozen=True)
class PlotSpec:
    """One plot of `dvc.yaml`: its file, the columns on each axis, and whether it is a confusion matrix."""

    path: str
    x: str
    y: str
    template: str = "linear"  # DVC's plot template: "confusion", "scatter", or a curve

    @property
    def confusion(self) -> bool:
        return self.template == "confusion"

    @property
    def scatter(self) -> bool:
        return self.template == "scatter"


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
    """Mermaid's xychart: its colours, a title, two axes, then one `line [...]` or `bar [...]` per series."""
    colours = ", ".join(PALETTE[: max(len(series), 1)])
    config = ["---", "config:", "  themeVariables:", "    xyChart:", f'      plotColorPalette: "{colours}"', "---"]
    return "\n".join(
        [*config, "xychart-beta", f'    title "{title}"', f"    x-axis {x_axis}", f"    y-axis {y_axis}", *series]
    )


def binned_means(points: pd.DataFrame, x: str, y: str, edges: np.ndarray) -> list[float]:
    """The mean of y in each bin of x (the previous bin's mean where a bin is empty)."""
    bins = np.clip(np.searchsorted(edges, points[x].to_numpy(float), side="right") - 1, 0, len(edges) - 2)
    means, last = [], 0.0
    for index in range(len(edges) - 1):
        inside = points[y].to_numpy(float)[bins == index]
        last = float(inside.mean()) if len(inside) else last
        means.append(round(last, 4))
    return means


def mermaid_scatter(spec: PlotSpec, sides: dict[str, pd.DataFrame]) -> str:
    """A Mermaid line chart of y's mean in quantile bins of x (the first side's), one line per side."""
    first = next(iter(sides.values()))
    edges = np.unique(np.quantile(first[spec.x].to_numpy(float), np.linspace(0, 1, BINS + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    centres = "[" + ", ".join(f'"{(low + high) / 2:.4g}"' for low, high in itertools.pairwise(edges)) + "]"
    series = [f"    line {numbers(binned_means(frame, spec.x, spec.y, edges))}" for frame in sides.values()]
    title = f"mean {spec.y} by {spec.x}, in bins of {spec.x} (lines: {', '.join(sides)})"
    return xychart(title, centres, f'"{spec.y}"', series)


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
    elif spec.scatter:
        figure, axis = pyplot.subplots(figsize=(6, 4.5))
        for colour, (label, frame) in zip(PALETTE, sides.items(), strict=False):
            axis.scatter(frame[spec.x], frame[spec.y], s=8, alpha=0.6, color=colour, label=label)
        axis.set(xlabel=spec.x, ylabel=spec.y)
        axis.legend(fontsize="small")
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
