"""What a model review compares, read for one revision: metrics, params, validation, plot data, and the data.

The head is read from the working tree; any other revision through git (small files) and DVC (the data),
without touching the working tree. Whatever cannot be read is noted in `missing`, never fatal.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlci.core.git import git
from mlci.core.runner import CommandError
from mlci.core.scratch import scratch_folder
from mlci.core.tracked import fetch_at
from mlci.data.suites import Suite


@dataclass
class Revision:
    """One side of the comparison; a field left None was not available, and `missing` says why."""

    label: str
    commit: str | None
    metrics: dict[str, float] | None = None
    params: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    plots: dict[str, pd.DataFrame] = field(default_factory=dict)
    data: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """Where the repository keeps what a review reads: from `dvc.yaml`, `mlci.toml` and the suites."""

    root: Path
    metrics: list[Path]
    params: Path
    validation: Path
    plots: dict[str, dict[str, str]]
    suites: list[Suite]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as dotted keys: {"train": {"seed": 1}} becomes {"train.seed": 1}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_revision(layout: Layout, label: str, commit: str | None) -> Revision:
    """Read one revision: the working tree when `commit` is None, else that commit."""
    revision = Revision(label, commit)

    def text(path: Path) -> str | None:
        if commit is None:
            return (layout.root / path).read_text(encoding="utf-8") if (layout.root / path).is_file() else None
        try:
            return git(layout.root, "show", f"{commit}:{path.as_posix()}")
        except CommandError:
            return None

    metrics: dict[str, float] = {}
    for path in layout.metrics:
        found = text(path)
        if found is None:
            revision.missing.append(f"{label} has no {path} (the pipeline has not run there yet)")
        else:
            metrics |= json.loads(found)
    revision.metrics = metrics or None
    params = text(layout.params)
    revision.params = flatten(yaml.safe_load(params) or {}) if params is not None else None
    if params is None:
        revision.missing.append(f"{label} has no {layout.params}")
    validation = text(layout.validation)
    revision.validation = json.loads(validation) if validation is not None else None
    for plot in layout.plots:
        found = text(Path(plot))
        if found is None:
            revision.missing.append(f"{label} has no {plot}")
        else:
            revision.plots[plot] = pd.read_csv(io.StringIO(found))
    for suite in layout.suites:
        try:
            revision.data[suite.name] = read_data(layout.root, suite, commit)
        except Exception as error:  # DVC raises many kinds; each means this data cannot be had
            revision.missing.append(f"{label}'s {suite.data} cannot be read ({first_line(error)}): is it pushed?")
    return revision


def read_data(root: Path, suite: Suite, commit: str | None) -> pd.DataFrame:
    """A suite's data file at a commit (through DVC: from the cache or the remote), read as the suite reads it."""
    if commit is None:
        frame: pd.DataFrame = suite.read(root / suite.data)
        return frame
    with scratch_folder("review") as scratch:
        frame = suite.read(fetch_at(root, suite.data, commit, Path(scratch)))
        return frame


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
