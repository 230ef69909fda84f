"""The files `mlci adopt` writes for a table, as text: the schema, the validation suite, the example request and
the README's dataset section. Each is formatted as the repository's own formatter and linter leave it.
"""

from __future__ import annotations

import json
import math
import textwrap
from typing import Any

from mlci.core.document import text_of
from mlci.data.profiling import MISSING_SLACK, ColumnProfile, TableProfile

LINE_LENGTH = 100  # the generated repository's ruff line length
README_BEGINS = "<!-- mlci adopt: the dataset section begins; `nox -s adopt` rewrites it -->"
README_ENDS = "<!-- mlci adopt: the dataset section ends -->"


def literal(value: Any) -> str:
    """A Python literal for a str, int, float, bool or None, quoted as ruff's formatter quotes it.

    Double quotes, unless the text holds a double quote and no single one: then single, as `repr` writes it.
    """
    if not isinstance(value, str):
        return repr(value)
    return repr(value) if '"' in value and "'" not in value else json.dumps(value, ensure_ascii=False)


def line(text: str, indent: int) -> str:
    """An indented line, marked for the linter when a long name makes it longer than the line length."""
    full = " " * indent + text
    return full + "  # noqa: E501" if len(full) > LINE_LENGTH else full


def column_code(column: ColumnProfile, indent: int) -> list[str]:
    """A column's constructor call, one argument a line (ruff keeps the trailing comma's layout)."""
    inner = indent + 4
    if column.kind == "numeric":
        call, args = "Numeric", [literal(column.name), literal(column.minimum), literal(column.maximum)]
    elif column.kind == "categorical":
        call, args = "Categorical", [literal(column.name)]
    elif column.kind == "date":
        call, args = "Date", [literal(column.name), literal(column.earliest), literal(column.latest)]
    else:
        call, args = "Text", [literal(column.name)]
    lines = [line(f"{call}(", indent)] + [line(f"{arg},", inner) for arg in args]
    if column.kind == "categorical":
        lines += [line("(", inner), *(line(f"{literal(c)},", inner + 4) for c in column.categories), line("),", inner)]
    if not column.nullable:
        lines.append(line("nullable=False,", inner))
    if column.role in ("target", "id", "group"):
        lines.append(line(f"role={literal(column.role)},", inner))
    if column.lower is not None:
        lines.append(line(f"lower={literal(column.lower)},", inner))
    closing = line(f"){',' if indent > 0 else ''}", indent)
    if not column.reason:
        return [*lines, closing]
    if len(closing) + 4 + len(column.reason) <= LINE_LENGTH:
        return [*lines, f"{closing}  # {column.reason}"]
    said = textwrap.wrap(column.reason, LINE_LENGTH - indent - 2, break_long_words=False, break_on_hyphens=False)
    return [*(line(f"# {part}", indent) for part in said), *lines, closing]  # too long to follow the column


def schema_module(table: TableProfile, data_path: str) -> str:
    """`schema.py`: the data file, the task, the target, every column, and the example record."""
    target = next(column for column in table.columns if column.role == "target")
    others = [column for column in table.columns if column.role != "target"]
    used = {c.kind for c in table.columns}
    kinds = sorted({"Categorical", "Column", "Numeric", "Task"} | ({"Date"} if "date" in used else set()))
    kinds += ["Text"] if "text" in used else []
    example = [line(f"{literal(name)}: {literal(value)},", 4) for name, value in table.example.items()]
    lines = [
        '"""The single source of truth for the data: its columns, their rules and roles.',
        "",
        f"`mlci adopt` wrote it from {table.rows} rows; edit it freely (a range, a category, a role) and",
        "`nox -s validate tests` tell whether the data and the code still agree. Validation suites, the",
        "pipeline, the service's request model and drift monitoring all derive from it; nothing else",
        "lists the columns. The ranges and categories are the data's (the validation suite holds the",
        "training data to them; a request with a new value is answered and counted); `lower`, `upper`",
        "and `closed=True` state the domain's own bounds, which a request may not pass.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from pathlib import Path",
        "",
        f"from mlci_serving import {', '.join(kinds)}",
        "",
        f"DATA = Path({literal(data_path)})  # the raw table, tracked by DVC",
        f"TASK: Task = {literal(table.task)}",
        "",
        "# What the model predicts: "
        + ("one of a fixed set of classes." if table.task == "classification" else "a number."),
        "TARGET = " + "\n".join(column_code(target, 0)).lstrip(),
        "",
        "COLUMNS: tuple[Column, ...] = (",
        "    TARGET,",
        *(code for column in others for code in column_code(column, 4)),
        ")",
        "",
        "# A real row of the table: the example request of the README, the OpenAPI schema and the smoke test.",
        "EXAMPLE: dict[str, str | float | None] = {",
        *example,
        "}",
        "",
        'FEATURES = tuple(column for column in COLUMNS if column.role == "feature")',
        "NUMERIC_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Numeric))",
        "CATEGORICAL_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Categorical))",
        *(
            ["DATE_FEATURES = tuple(column.name for column in FEATURES if isinstance(column, Date))"]
            if "date" in used
            else ["DATE_FEATURES: tuple[str, ...] = ()  # the dates the model reads by their parts: none here"]
        ),
        "# The column naming each record, if any: answers and the inference log carry it (else a made-up id).",
        'IDENTIFIER = next((column.name for column in COLUMNS if column.role == "id"), None)',
        "# The column whose rows belong together, if any: the split keeps each group on one side.",
        'GROUP = next((column.name for column in COLUMNS if column.role == "group"), None)',
    ]
    return "\n".join(lines) + "\n"


def suite_module(table: TableProfile, package: str) -> str:
    """The validation suite: the schema's rules, then data-health bounds derived from this table."""
    low_rows = max(1, math.floor(table.rows / 2))
    allowed = {
        column.name: round(min(1.0, column.missing_share + MISSING_SLACK), 2)
        for column in table.columns
        if column.nullable
    }
    missing = [line(f"{literal(name)}: {share},", 4) for name, share in allowed.items()]
    lines = [
        '"""What the table must look like before anything trains on it: the schema, then its health.',
        "",
        "`mlci validate` (and the pipeline's `validate` stage) runs every module of this folder:",
        "each defines DATA, read(path) and expectations(). `mlci adopt` wrote this one from the table;",
        "rules only this data obeys (a plausible mean, a relation between columns) go in `specific()`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from great_expectations.expectations import Expectation",
        "from mlci.data.checks import from_schema, health",
        "",
        f"from {package}.data import read_csv as read",
        f"from {package}.schema import COLUMNS, DATA, TARGET",
        "",
        '__all__ = ["DATA", "expectations", "read"]',
        "",
        f"# The table had {table.rows} rows: far fewer means a truncated export.",
        f"ROWS = ({low_rows}, {max(table.rows * 100, 1000)})",
        "# The largest share of missing values per column: what the table had, plus a little.",
        "MISSING_AT_MOST: dict[str, float] = {" + ("" if missing else "}"),
        *([*missing, "}"] if missing else []),
        "",
        "",
        "def expectations() -> list[Expectation]:",
        '    """Every expectation of this suite."""',
        "    return [*from_schema(COLUMNS), *health(ROWS, MISSING_AT_MOST, TARGET), *specific()]",
        "",
        "",
        "def specific() -> list[Expectation]:",
        '    """What we know of this data beyond the schema and its health: add its own rules here."""',
        "    return []",
    ]
    return "\n".join(lines) + "\n"


def example_request(table: TableProfile) -> str:
    """`examples/predict.json`: one request with the example record."""
    return json.dumps({"records": [table.example]}, indent=2, ensure_ascii=False) + "\n"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell, shown as code; as plain text when it holds a `<`, since a code span
    shows an entity as it is written and the section's end marker must never appear in a name."""
    if "<" in text:
        return plain(text)
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def plain(text: str) -> str:
    """Text safe inside a Markdown table cell: no column break, line break, code span or HTML (a value holding
    the section's end marker, or an HTML comment, must neither end the section nor hide the rest)."""
    return text_of(text).replace("|", "\\|").replace("\n", " ").replace("`", "&#96;")


def fenced_json(value: object) -> str:
    """JSON to show in a fenced block: `<`, `>`, `&` and backticks escaped as JSON escapes (the same value), so
    that no text of the data can close the fence or write the section's end marker."""
    text = json.dumps(value, ensure_ascii=False)
    for char in "<>&`":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def rule(column: ColumnProfile) -> str:
    if column.kind == "numeric":
        return f"number, [{column.minimum:g}, {column.maximum:g}] in the data"
    if column.kind == "date":
        return f"date, {column.earliest} to {column.latest} in the data"
    if column.kind == "categorical":
        shown = ", ".join(column.categories[:8]) + (
            f", … ({len(column.categories)} in all)" if len(column.categories) > 8 else ""
        )
        return "one of " + plain(shown)
    return f"any text ({column.reason})"


def readme_section(table: TableProfile, package: str, data_path: str) -> str:
    """The README's dataset section, between the markers `mlci adopt` finds it by."""
    task = "classification: one of its classes" if table.task == "classification" else "regression: a number"
    rows = [
        f"| {cell(c.name)} | {c.role} | {rule(c)} | {'yes' if c.nullable else 'no'} ({c.missing_share:.1%}) | "
        f"{plain(c.reason)} |"
        for c in table.columns
    ]
    unlabelled = table.rows - table.labelled
    note = (
        f" {unlabelled} rows have no target: `prepare` leaves them out of training and testing." if unlabelled else ""
    )
    request = fenced_json({"records": [table.example]})
    identifier = next((column for column in table.columns if column.role == "id"), None)
    named = (
        f", and {cell(identifier.name)} names each record: a request may carry it, and its answer and the "
        "inference log repeat it as `id`, to join with outcomes later."
        if identifier
        else "."
    )
    return (
        "\n".join(
            [
                README_BEGINS,
                "## The data",
                "",
                f"`{data_path}`: {table.rows} rows, adopted from {cell(table.source.name)} with `nox -s adopt`, and",
                f"tracked by DVC (`{data_path}.dvc`), not by git. The model predicts {cell(table.target)}, a",
                f"{task}.{note} `src/{package}/schema.py` states every column; `metadata` columns stay in the",
                f"data but are never features{named}",
                "",
                "| column | role | rule | missing allowed (in the table) | why |",
                "| --- | --- | --- | --- | --- |",
                *rows,
                "",
                "A request is held to each column's type and to the bounds the schema states as the domain's own;",
                "a value that is merely new (past the range of the data, an unseen category, a later date) is",
                "answered, and counted in `/metrics` (`novel_values_total`). A column set aside (an identifier, a",
                "recoding, a counter, leakage) is kept in the data; `nox -s adopt -- PATH --target COLUMN",
                "--feature NAME` makes it a feature anyway, `--drop NAME` sets one aside, `--id` and `--group` name",
                "the records' id and the column whose rows belong together.",
                "",
                "The example request (`examples/predict.json`), one real row of the table:",
                "",
                "```json",
                request,
                "```",
                "",
                "To bring another table, `nox -s adopt -- PATH --target COLUMN`, then review the diff and commit.",
                README_ENDS,
            ]
        )
        + "\n"
    )
