"""What the columns of a table say together, decided once each is profiled alone (`profiling`): which columns
merely recode another, which count rows within groups, which alone (nearly) determine the target (leakage), at
most one group of rows, which identifier names the records; then the user's word over all of it
(`--id`, `--group`, `--drop`, `--feature`).
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlci.data.profiling import (
    IDENTIFIER_NAME,
    MAX_CATEGORIES,
    ROW_NUMBER,
    UNIQUE_IDENTIFIER,
    AdoptError,
    ColumnProfile,
    Role,
    TableProfile,
    Task,
    check_target,
    dataset_name,
    infer_task,
    kind_profile,
    profile_column,
    read_table,
)

LEAKAGE = 0.99  # a feature that alone reaches this on held-out rows (accuracy, or R²) is taken for leakage
FOLDS = 3
MOST_ROWS = 20_000  # leakage is judged on a seeded sample of a larger table: the answer is as clear, and quick
COUNTER_SHARE = 0.99  # of the rows that follow the counting rule, for a column to count rows


@dataclass(frozen=True)
class Overrides:
    """The user's word on columns, over what adoption infers."""

    id: str | None = None
    group: str | None = None
    drop: tuple[str, ...] = ()
    feature: tuple[str, ...] = ()

    def named(self) -> list[tuple[str, str]]:
        """Each column named, with the option that names it."""
        single = [(name, option) for name, option in ((self.id, "--id"), (self.group, "--group")) if name]
        return [*single, *((name, "--drop") for name in self.drop), *((name, "--feature") for name in self.feature)]


def set_aside(column: ColumnProfile, reason: str) -> ColumnProfile:
    """A column kept with the data but never a feature, and why."""
    return ColumnProfile(column.name, "text", "metadata", column.nullable, column.missing_share, reason=reason)


def recoding_of(frame: pd.DataFrame, first: str, second: str) -> bool:
    """Whether two columns say the same thing: one value of each for every value of the other, missing alike."""
    left, right = frame[first], frame[second]
    if not left.isna().equals(right.isna()):
        return False
    pairs = pd.DataFrame({"a": left, "b": right}).dropna().drop_duplicates()
    return 1 < len(pairs) == pairs["a"].nunique() == pairs["b"].nunique()


def set_aside_recodings(text: pd.DataFrame, columns: list[ColumnProfile]) -> list[ColumnProfile]:
    """Of two features that recode each other (a country and its code), keep one: a category before a number,
    else the first."""
    found = {column.name: column for column in columns}
    distinct = {c.name: text[c.name].nunique() for c in columns if c.role == "feature" and c.kind != "date"}
    candidates = [  # values that repeat, as codes do: two columns of unique numbers map one to one by chance
        name for name, count in distinct.items() if count <= min(MAX_CATEGORIES, text[name].count() / 2)
    ]
    for first, second in itertools.combinations(candidates, 2):
        both_features = found[first].role == found[second].role == "feature"
        if distinct[first] != distinct[second] or not both_features or not recoding_of(text, first, second):
            continue
        kept, dropped = (second, first) if found[first].kind == "numeric" != found[second].kind else (first, second)
        reason = f"a recoding of {kept!r}: one value of it for each of that column's, and back"
        found[dropped] = set_aside(found[dropped], reason)
    return [found[column.name] for column in columns]


def counter_reason(values: pd.Series, frame: pd.DataFrame, groups: list[str]) -> str:
    """Why whole numbers are a counter of rows (not a measurement), or "" when they are not one."""
    for name in groups:
        grouped = pd.DataFrame({"value": values, "group": frame[name]}).dropna().groupby("group")["value"]
        sizes, lowest = grouped.size(), grouped.min()
        counts = (grouped.nunique() == sizes) & (lowest.isin([0, 1])) & (grouped.max() == lowest + sizes - 1)
        if len(sizes) > 1 and bool(counts.all()) and int(sizes.max()) > 2:
            return f"a counter: it numbers the rows within each {name!r}"
    steps = values.diff().iloc[1:]
    restarts = values.iloc[1:] == values.min()
    if len(steps) > 2 and ((steps == 1) | restarts).mean() >= COUNTER_SHARE and restarts.any():
        return "a counter: it counts the rows up by one, starting again"
    return ""


def set_aside_counters(
    frame: pd.DataFrame, columns: list[ColumnProfile], target: str, task: Task
) -> list[ColumnProfile]:
    """Whole-number features that number rows (within each class, each category, or in the file's order)."""
    groups = [c.name for c in columns if c.kind == "categorical" and c.role in ("feature", "group")]
    groups = ([target] if task == "classification" else []) + groups
    decided = []
    for column in columns:
        values = frame[column.name]
        whole = column.kind == "numeric" and bool((values.dropna() == values.dropna().round()).all())
        reason = counter_reason(values, frame, [g for g in groups if g != column.name]) if whole else ""
        if column.role == "feature" and reason:
            column = set_aside(column, reason)
        decided.append(column)
    return decided


def one_feature(values: pd.Series, kind: str) -> np.ndarray:
    """A feature as one number per row for a small tree: categories as codes, dates as days; missing apart."""
    if kind == "categorical":
        numbers = pd.Series(pd.Categorical(values.astype("string")).codes, index=values.index).astype(float)
        numbers[values.isna()] = np.nan
    elif kind == "date":
        from mlci_serving.dates import moments

        numbers = (moments(values) - pd.Timestamp(0, tz="UTC")).dt.days.astype(float)
        numbers.index = values.index
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
    low = float(numbers.min()) if numbers.notna().any() else 0.0
    return numbers.fillna(low - 1).to_numpy().reshape(-1, 1)  # missing as a value of its own: it may leak too


def alone_score(values: pd.Series, kind: str, target: pd.Series, task: Task) -> float:
    """How well a small tree on this feature alone predicts the target, on held-out rows."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    features = one_feature(values, kind)
    if task == "classification":
        labels = target.astype(str)
        folds = min(FOLDS, int(labels.value_counts().min()))
        if folds < 2:
            return 0.0
        model: object = DecisionTreeClassifier(max_depth=6, random_state=0)
        split: object = StratifiedKFold(folds, shuffle=True, random_state=0)
        return float(np.mean(cross_val_score(model, features, labels, cv=split, scoring="accuracy")))
    model = DecisionTreeRegressor(max_depth=8, random_state=0)
    split = KFold(FOLDS, shuffle=True, random_state=0)
    return float(np.mean(cross_val_score(model, features, target.astype(float), cv=split, scoring="r2")))


def set_aside_leakage(
    text: pd.DataFrame, frame: pd.DataFrame, columns: list[ColumnProfile], target: str, task: Task
) -> list[ColumnProfile]:
    """Features that alone (nearly) determine the target: known only with the answer, they would leak it."""
    labelled = frame.index[frame[target].notna()]
    if len(labelled) > MOST_ROWS:
        labelled = pd.Index(np.random.default_rng(0).choice(labelled, MOST_ROWS, replace=False)).sort_values()
    goal = text[target][labelled] if task == "classification" else frame[target][labelled]
    if task == "classification" and goal.value_counts(normalize=True).max() >= LEAKAGE:
        return columns  # the majority class alone reaches the bar: no feature can be told apart by it
    measure = "accuracy" if task == "classification" else "R²"
    decided = []
    for column in columns:
        if column.role == "feature":
            source = text if column.kind in ("categorical", "date") else frame
            score = alone_score(source[column.name][labelled], column.kind, goal, task)
            if score >= LEAKAGE:
                reason = (
                    f"leakage: alone it predicts {target!r} ({measure} {score:.3f} on held-out rows); "
                    f"`--feature {column.name}` keeps it"
                )
                column = set_aside(column, reason)
        decided.append(column)
    return decided


def one_group(columns: list[ColumnProfile]) -> list[ColumnProfile]:
    """At most one column names groups: the first; others are metadata."""
    groups = [column.name for column in columns if column.role == "group"]
    return [
        replace(column, role="metadata", reason=f"names groups too; {groups[0]!r} is the group")
        if column.role == "group" and column.name != groups[0]
        else column
        for column in columns
    ]


def with_identifier(columns: list[ColumnProfile]) -> list[ColumnProfile]:
    """The columns, one whose values name every row (all present, all different) marked as the records' id:
    first one named like an identifier, then text, then a row number; never a measured quantity."""
    if any(column.role == "id" for column in columns):
        return columns
    naming = [c for c in columns if c.reason in (UNIQUE_IDENTIFIER, ROW_NUMBER) and not c.nullable]
    if not naming:
        return columns
    ranked = sorted(naming, key=lambda c: (not IDENTIFIER_NAME.search(c.name), c.reason == ROW_NUMBER))
    return [replace(column, role="id") if column.name == ranked[0].name else column for column in columns]


def overridden(
    frame: pd.DataFrame, text: pd.DataFrame, columns: list[ColumnProfile], target: str, overrides: Overrides
) -> list[ColumnProfile]:
    """The user's word applied: each named column made the id, the group, metadata or a feature."""
    found = {column.name: column for column in columns}
    seen: dict[str, str] = {}
    for name, option in overrides.named():
        if name not in found:
            close = difflib.get_close_matches(name, list(found), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AdoptError(f"{option} {name}: the table has no such column{hint}")
        if name == target:
            raise AdoptError(f"{option} {name}: that is the target; name another column")
        if name in seen:
            raise AdoptError(f"{name}: named by {seen[name]} and by {option}: give each column one role")
        seen[name] = option
        found[name] = with_role(frame, text, found[name], option)
    return [found[column.name] for column in columns]


def with_role(frame: pd.DataFrame, text: pd.DataFrame, column: ColumnProfile, option: str) -> ColumnProfile:
    """One column as the option makes it."""
    name, values = column.name, frame[column.name]
    if option == "--drop":
        return set_aside(column, "set aside by --drop")
    if option in ("--id", "--group"):
        role: Role = "id" if option == "--id" else "group"
        if role == "id" and (values.isna().any() or values.duplicated().any()):
            raise AdoptError(
                f"--id {name}: an id names one row each, but {int(values.isna().sum())} values are missing and "
                f"{int(values.duplicated().sum())} repeat; a column whose rows belong together is a --group"
            )
        return ColumnProfile(
            name, "text", role, column.nullable, column.missing_share, reason=f"the records' {role} by {option}"
        )
    present = values.dropna()
    if present.nunique() < 2:
        why = "every value is missing" if present.empty else "a single value: it cannot tell rows apart"
        raise AdoptError(f"--feature {name}: it cannot be a feature: {why}")
    forced = kind_profile(name, values, text[name], "feature")
    before = (
        f" (adoption would have set it aside: {column.reason})" if column.role != "feature" and column.reason else ""
    )
    return replace(forced, role="feature", reason=f"a feature by --feature{before}")


def example_row(
    frame: pd.DataFrame, as_text: pd.DataFrame, profile_columns: list[ColumnProfile], target: str
) -> dict[str, Any]:
    """The first labelled row with the fewest missing features, as the service's request record."""
    features = [column for column in profile_columns if column.role == "feature"]
    labelled = frame[frame[target].notna()]
    missing = labelled[[column.name for column in features]].isna().sum(axis=1)
    row = labelled.iloc[int(np.argmin(missing.to_numpy()))]
    record: dict[str, Any] = {}
    for column in features:
        value = row[column.name]
        if pd.isna(value):
            record[column.name] = None
        elif column.kind == "numeric":
            number = float(value)
            record[column.name] = int(number) if number.is_integer() else number
        else:
            record[column.name] = str(as_text.at[row.name, column.name])
    return record


def profile(
    path: Path, target: str, task: Task | None, test_size: float, overrides: Overrides | None = None
) -> TableProfile:
    """Everything `mlci adopt` needs of the table at `path`, or an AdoptError saying why it cannot be used."""
    frame, as_text = read_table(path)
    if target in frame.columns and task is None:
        task = infer_task(frame[target], target)
    check_target(frame, target, task or "classification", test_size)
    rows = len(frame)
    columns = []
    for name in frame.columns:
        values, text = frame[name], as_text[name]
        if name == target:
            columns.append(
                profile_column(str(name), text if task == "classification" else values, text, "target", rows)
            )
        else:
            columns.append(profile_column(str(name), values, text, "feature", rows))
    task = task or "classification"
    columns = set_aside_recodings(as_text, columns)
    columns = set_aside_counters(frame, columns, target, task)
    columns = set_aside_leakage(as_text, frame, columns, target, task)
    columns = with_identifier(one_group(overridden(frame, as_text, columns, target, overrides or Overrides())))
    if not any(column.role == "feature" for column in columns):
        reasons = "; ".join(f"{c.name!r}: {c.reason}" for c in columns if c.reason)
        raise AdoptError(f"{path}: no column can be a feature ({reasons}): the model would have nothing to learn from")
    labelled = int(frame[target].notna().sum())
    example = example_row(frame, as_text, columns, target)
    return TableProfile(dataset_name(path), path, rows, labelled, target, task, columns, example)
