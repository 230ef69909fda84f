"""`mlci adopt`: make a user's table the repository's data, and rewrite everything that depends on the dataset.

The table is checked and profiled first (`profiling`); only then is anything written. Every file the command
changes is kept in memory beforehand and put back if a step fails, so a refusal or a failure leaves the working
tree as it was. What it writes: `data/<name>.csv` (tracked with `dvc add`), `schema.py`, the validation suite,
the example request, the README's dataset section, `[metrics]`, `[gates]`, `[kpi]` and `[retrain]` of `mlci.toml`, and
the dataset's path and the task's plots in `dvc.yaml`. The previous dataset's files go away: its table and
`.dvc` file, its suite, and its notes (`data/<name>.md`).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
import yaml
from ruamel.yaml import YAML

from mlci.core.repository import Repository
from mlci.core.runner import CommandError, run
from mlci.core.store import sha256
from mlci.core.tables import render
from mlci.data import rendering
from mlci.data.profiling import AdoptError, TableProfile, Task
from mlci.data.roles import Overrides, profile

METRICS: dict[str, dict[str, str]] = {
    "classification": {"accuracy": "higher", "f1_macro": "higher", "roc_auc_ovr": "higher"},
    "regression": {"rmse": "lower", "mae": "lower", "r2": "higher"},
}
# The default gates are relative: beat the dummy baseline by a margin, and lose little against the champion.
GATED: dict[str, str] = {"classification": "f1_macro", "regression": "r2"}
BASELINE_MARGIN = 0.05
MAX_REGRESSION = 0.02
# The default KPI is relative too: live answers may lose this much of the figure the version reached on its test set.
KPI_DROP: dict[str, tuple[str, float]] = {"classification": ("accuracy", 0.05), "regression": ("r2", 0.1)}
PLOTS: dict[str, list[dict[str, dict[str, str]]]] = {
    "classification": [
        {"reports/plots/confusion.csv": {"template": "confusion", "x": "actual", "y": "predicted"}},
        {"reports/plots/roc.csv": {"x": "fpr", "y": "tpr"}},
        {"reports/plots/pr.csv": {"x": "recall", "y": "precision"}},
    ],
    "regression": [
        {"reports/plots/predictions.csv": {"template": "scatter", "x": "actual", "y": "predicted"}},
        {"reports/plots/residuals.csv": {"template": "scatter", "x": "predicted", "y": "residual"}},
    ],
}


@dataclass(frozen=True)
class Adopted:
    """What adoption did: the table's profile, where its data now lives, and the files changed."""

    table: TableProfile
    data: str
    changed: list[str]


@contextmanager
def restored_on_failure(root: Path, paths: list[str]) -> Iterator[None]:
    """Run the block; if it raises, put every path back as it was (its bytes, or its absence)."""
    before = {path: (root / path).read_bytes() if (root / path).is_file() else None for path in paths}
    try:
        yield
    except BaseException:
        for path, content in before.items():
            target = root / path
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        raise


def test_size(root: Path) -> float:
    """The share of rows the `prepare` stage holds out, from params.yaml (0.25 when it says none)."""
    params = (
        yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) if (root / "params.yaml").is_file() else {}
    )
    return float(((params or {}).get("prepare") or {}).get("test_size", 0.25))


def task_metrics(task: str) -> dict[str, str]:
    """The metrics the template's `evaluate` writes for a task, each with its baseline's, and their directions."""
    return {key: direction for name, direction in METRICS[task].items() for key in (name, f"baseline_{name}")}


def edited_config(text: str, task: str, data: str, old_data: str) -> str:
    """mlci.toml with the new table in [retrain]; for a task it did not have, the task's metrics, default gates
    and KPIs (metrics of the repository's own are kept); for the same task, its metrics, gates and KPIs as they
    are, edits included. Comments kept."""
    document = tomlkit.parse(text)
    metrics: Any = document.setdefault("metrics", tomlkit.table())
    if set(task_metrics(task)) <= set(metrics):
        return with_data(document, data, old_data)
    others = {key for other in METRICS for key in task_metrics(other)}
    for name in [name for name in metrics if name in others]:
        del metrics[name]
    for name, direction in task_metrics(task).items():
        metrics[name] = direction
    gates: Any = document.setdefault("gates", tomlkit.table())
    gated = GATED[task]
    for key, values in (
        ("beat_baseline", {gated: BASELINE_MARGIN}),
        ("limit", {}),
        ("max_regression", {gated: MAX_REGRESSION}),
    ):
        table = tomlkit.inline_table()
        table.update(values)
        gates[key] = table
    kpi: Any = document.setdefault("kpi", tomlkit.table())
    metric, drop = KPI_DROP[task]
    for key, values in (("limit", {}), ("max_drop", {metric: drop})):
        table = tomlkit.inline_table()
        table.update(values)
        kpi[key] = table
    return with_data(document, data, old_data)


def with_data(document: Any, data: str, old_data: str) -> str:
    """The config with the adopted table as [retrain]'s data (and its source's file name)."""
    retrain: Any = document.setdefault("retrain", tomlkit.table())
    source = str(retrain.get("source", ""))
    old_name = Path(old_data).name if old_data else ""
    if old_name and source.endswith("/" + old_name):
        retrain["source"] = source[: -len(old_name)] + Path(data).name
    retrain["data"] = data
    return tomlkit.dumps(document)


def edited_pipeline(text: str, task: str, data: str, old_data: str) -> str:
    """dvc.yaml with the new table as the stages' dependency and the task's plots; comments kept."""
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.indent(mapping=2, sequence=4, offset=2)
    round_trip.width = 120
    pipeline = round_trip.load(text)
    for stage in pipeline.get("stages", {}).values():
        deps = stage.get("deps", [])
        for index, dep in enumerate(deps):
            if old_data and dep == old_data:
                deps[index] = data
    pipeline["plots"] = PLOTS[task]
    stream = io.StringIO()
    round_trip.dump(pipeline, stream)
    return stream.getvalue()


def edited_readme(text: str, section: str) -> str:
    """The README with its dataset section replaced, or appended when its markers are gone."""
    begins, ends = text.find(rendering.README_BEGINS), text.find(rendering.README_ENDS)
    if begins < 0 or ends < begins:
        return text.rstrip("\n") + "\n\n" + section
    return text[:begins] + section + text[ends + len(rendering.README_ENDS) :].removeprefix("\n")


def run_dvc(root: Path, *args: str) -> None:
    """A DVC command in the repository; its output in the error when it fails."""
    try:
        run("dvc", *args, cwd=root)
    except CommandError as error:
        raise AdoptError(f"dvc {' '.join(args)} failed, nothing was changed:\n{error.output}") from None


def adopt(
    repository: Repository, source: Path, target: str, task: Task | None, overrides: Overrides | None = None
) -> Adopted:
    """Make the table at `source` the repository's data, predicting `target`."""
    root, config, project = repository.root, repository.config, repository.project
    table = profile(source, target, task, test_size(root), overrides)
    data = f"data/{table.name}.csv"
    old_data = config.retrain.data
    schema = f"src/{project.package}/schema.py"
    texts = {
        schema: rendering.schema_module(table, data),
        f"{config.validation.suites}/{table.name}.py": rendering.suite_module(table, project.package),
        project.example.as_posix(): rendering.example_request(table),
        "README.md": edited_readme(
            (root / "README.md").read_text(encoding="utf-8"), rendering.readme_section(table, project.package, data)
        ),
        "mlci.toml": edited_config((root / "mlci.toml").read_text(encoding="utf-8"), table.task, data, old_data),
        "dvc.yaml": edited_pipeline((root / "dvc.yaml").read_text(encoding="utf-8"), table.task, data, old_data),
    }
    removed = []
    if old_data and old_data != data:
        old_suite = f"{config.validation.suites}/{Path(old_data).stem}.py"
        notes = str(Path(old_data).with_suffix(".md"))  # what the data is and where it comes from
        removed = [path for path in (old_data, f"{old_data}.dvc", old_suite, notes) if (root / path).exists()]
    touched = [*texts, data, f"{data}.dvc", "data/.gitignore", *removed]
    changed = [path for path, text in texts.items() if not same_text(root / path, text)]
    with restored_on_failure(root, touched):
        # mlci.toml, which names the dataset in force, is written last: a run killed before it is done names the
        # old dataset still, so running the same command again removes what is left of it and finishes the job.
        for path in changed:
            if path != "mlci.toml":
                write(root / path, texts[path])
        destination = root / data
        if not destination.is_file() or sha256(destination) != sha256(source):
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            changed.append(data)
        if removed:
            if (root / f"{old_data}.dvc").is_file():
                run_dvc(root, "remove", "--quiet", f"{old_data}.dvc")
            for path in removed:
                (root / path).unlink(missing_ok=True)
            changed += removed
        before = (root / f"{data}.dvc").read_bytes() if (root / f"{data}.dvc").is_file() else None
        run_dvc(root, "add", "--quiet", data)
        if (root / f"{data}.dvc").read_bytes() != before:
            changed.append(f"{data}.dvc")
        if "mlci.toml" in changed:
            write(root / "mlci.toml", texts["mlci.toml"])
    return Adopted(table, data, sorted(set(changed)))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def same_text(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == text


def describe(adopted: Adopted) -> str:
    """What adoption decided and changed, for the terminal."""
    table = adopted.table
    lines = [
        f"adopted {table.source} as {adopted.data}: {table.rows} rows, {table.labelled} labelled; "
        f"{table.task} of {table.target!r}",
        "",
        render([("column", "kind", "role", "why"), *((repr(c.name), c.kind, c.role, c.reason) for c in table.columns)]),
        "",
        f"features: {', '.join(repr(column.name) for column in table.features)}",
    ]
    if adopted.changed:
        lines.append("changed: " + ", ".join(adopted.changed))
        lines.append("review the diff (`git status`, `git diff`), then `nox -s lint tests validate repro` and commit")
    else:
        lines.append("nothing changed: the repository already holds this table")
    return "\n".join(lines)
