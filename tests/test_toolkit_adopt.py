"""`mlci adopt`'s decisions on tables made here: each column's kind and role, the task, and every refusal.

The refusals go through the command line, in a repository whose files are compared before and after: a table
that cannot be used changes nothing. Adoption itself (files written, DVC, the life cycle) runs in the slow tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlci.cli import main
from mlci.data.profiling import AdoptError, dataset_name, nice_bounds
from mlci.data.rendering import (
    README_BEGINS,
    README_ENDS,
    cell,
    literal,
    readme_section,
    schema_module,
    suite_module,
)
from mlci.data.roles import profile
from test_toolkit_config import VALID

RNG = np.random.default_rng(0)


def table(tmp_path: Path, frame: pd.DataFrame, name: str = "table.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def awkward(rows: int = 60) -> pd.DataFrame:
    """Identifiers, a constant, free text, names that are not Python names, missing values, a text target."""
    return pd.DataFrame(
        {
            "customer id": [f"C{index:04d}" for index in range(rows)],
            "row": range(rows),
            "bill length (mm)": RNG.normal(40, 5, rows).round(1),
            "2nd_reading": np.where(RNG.random(rows) < 0.2, np.nan, RNG.integers(0, 9, rows)),
            "a.b": RNG.choice(["x", "y", "z"], rows),
            "country": "NZ",
            "note": [f"free text number {index}" for index in range(rows)],
            "label": RNG.choice(["yes", "no"], rows),
        }
    )


def test_columns_get_their_kind_role_and_reason(tmp_path: Path) -> None:
    found = profile(table(tmp_path, awkward()), "label", None, 0.25)
    columns = {column.name: column for column in found.columns}
    assert found.task == "classification"
    assert [c.name for c in found.features] == ["bill length (mm)", "2nd_reading", "a.b"]
    assert columns["customer id"].reason == "an identifier: a different value in every row"
    assert columns["row"].reason == "an identifier: it numbers the rows, a different whole number in every row"
    assert [c.name for c in found.columns if c.role == "id"] == ["customer id"]  # the first one names records
    assert columns["row"].role == "metadata"
    assert columns["country"].reason == "a single value: it cannot tell rows apart"
    assert columns["note"].reason.startswith("an identifier")
    assert columns["a.b"].categories == ("x", "y", "z")
    assert columns["2nd_reading"].nullable
    assert not columns["bill length (mm)"].nullable
    assert columns["label"].categories == ("no", "yes")
    assert set(found.example) == {"bill length (mm)", "2nd_reading", "a.b"}


def test_free_text_with_repeats_is_metadata_and_few_values_are_categories(tmp_path: Path) -> None:
    rows = 120
    frame = pd.DataFrame(
        {
            "words": [f"w{index % 70}" for index in range(rows)],  # 70 values, more than MAX_CATEGORIES
            "colour": [f"c{index % 50}" for index in range(rows)],  # 50 values: still categories
            "size": RNG.normal(0, 1, rows),
            "y": RNG.choice(["a", "b"], rows),
        }
    )
    columns = {c.name: c for c in profile(table(tmp_path, frame), "y", None, 0.25).columns}
    assert columns["words"].reason == "free text: 70 different values are too many for categories"
    assert columns["colour"].role == "feature"
    assert len(columns["colour"].categories) == 50


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (RNG.normal(100, 10, 100), "regression"),  # fractions
        (np.arange(100) % 21, "regression"),  # whole numbers, 21 values
        (np.arange(100) % 20, "classification"),  # whole numbers, 20 values
        (np.array(["low", "high"] * 50), "classification"),
    ],
)
def test_the_task_follows_the_target(tmp_path: Path, values: np.ndarray, task: str) -> None:
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 100), "target": values})
    assert profile(table(tmp_path, frame), "target", None, 0.25).task == task


def test_class_labels_that_look_like_numbers_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text("x,grade\n" + "".join(f"{index / 7:.3f},{'1.0' if index % 2 else '2'}\n" for index in range(40)))
    found = profile(path, "grade", "classification", 0.25)
    assert found.columns[1].categories == ("1.0", "2")


def test_a_target_with_missing_values_counts_only_labelled_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 50), "y": RNG.normal(0, 1, 50)})
    frame.loc[:9, "y"] = np.nan
    found = profile(table(tmp_path, frame), "y", None, 0.25)
    assert (found.rows, found.labelled, found.task) == (50, 40, "regression")
    assert found.columns[1].nullable


@pytest.mark.parametrize(
    ("low", "high", "whole", "expected"),
    [
        (10.0, 20.0, False, (9.0, 21.0)),
        (0.0, 5.0, True, (0, 6)),
        (2.0, 3.0, False, (1.9, 3.1)),
        (-5.0, 5.0, True, (-6, 6)),
    ],
)
def test_ranges_widen_by_a_tenth_of_the_span_and_stay_non_negative(
    low: float, high: float, whole: bool, expected: tuple[float, float]
) -> None:
    assert nice_bounds(low, high, whole) == expected


def test_dataset_names_come_from_the_file_name() -> None:
    assert dataset_name(Path("Weather Data (2024).csv")) == "weather_data_2024"
    assert dataset_name(Path("2024.csv")) == "data_2024"


def test_the_records_id_is_complete_and_named_like_one_when_any_is(tmp_path: Path) -> None:
    frame = awkward()[["note", "row", "customer id", "bill length (mm)", "label"]]
    found = profile(table(tmp_path, frame), "label", None, 0.25)
    assert [c.name for c in found.columns if c.role == "id"] == ["customer id"]  # by its name, not its place
    frame["customer id"] = frame["customer id"].where(frame.index != 3)
    found = profile(table(tmp_path, frame), "label", None, 0.25)
    assert [c.name for c in found.columns if c.role == "id"] == ["note"]  # a missing id names no record
    only = profile(table(tmp_path, frame[["customer id", "bill length (mm)", "label"]]), "label", None, 0.25)
    assert not [c for c in only.columns if c.role == "id"]


def test_the_records_id_column_is_stated_in_the_schema_and_the_readme(tmp_path: Path) -> None:
    found = profile(table(tmp_path, awkward()), "label", None, 0.25)
    schema = schema_module(found, "data/table.csv")
    assert '    Text(\n        "customer id",\n        nullable=False,\n        role="id",\n    ),' in schema
    assert 'IDENTIFIER = next((column.name for column in COLUMNS if column.role == "id"), None)' in schema
    assert "and `customer id` names each record: a request may carry it" in readme_section(found, "pkg", "d.csv")


def test_no_value_of_the_data_can_end_or_hide_the_readmes_section(tmp_path: Path) -> None:
    """A category holding the section's end marker, an HTML comment or a code fence: shown as text, and the
    section still ends once, where adoption put its marker."""
    hostile = [README_ENDS, "<!-- the rest hidden", "```", "a | b", "`"]  # five: each beside both labels
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 40), "kind": hostile * 8, "label": ["a", "b"] * 20})
    section = readme_section(profile(table(tmp_path, frame), "label", None, 0.25), "pkg", "data/table.csv")
    assert section.count(README_ENDS) == 1
    assert section.rstrip().endswith(README_ENDS)
    assert "<!--" not in section.replace(README_BEGINS, "").replace(README_ENDS, "")
    assert section.count("```") == 2  # the example request's fence, opened and closed
    assert "&lt;!-- the rest hidden" in section


def test_a_column_name_is_code_unless_it_could_write_the_end_marker() -> None:
    """A code span shows `&lt;` as written: a name holding `<` is plain text, escaped, and never the marker."""
    assert cell("bill <mm> & `x`|y") == "bill &lt;mm> & &#96;x&#96;\\|y"
    assert cell(README_ENDS) == README_ENDS.replace("<", "&lt;", 1)
    assert cell("R&D `code` a|b") == "`R&D 'code' a\\|b`"


def test_rendered_modules_are_python_with_every_column(tmp_path: Path) -> None:
    found = profile(table(tmp_path, awkward()), "label", None, 0.25)
    schema = schema_module(found, "data/table.csv")
    tree = ast.parse(schema)
    names = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert {column.name for column in found.columns} <= names
    assert 'TASK: Task = "classification"' in schema
    assert "# an identifier: a different value in every row" in schema
    ast.parse(suite_module(found, "pkg"))


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files adoption would rewrite, in a folder it is run from."""
    root = tmp_path / "repo"
    (root / "src" / "toy").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "toy"\n')
    (root / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    (root / "mlci.toml").write_text(VALID)
    (root / "src" / "toy" / "schema.py").write_text("# the old schema\n")
    monkeypatch.chdir(root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def refusal(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    before = snapshot(root)
    assert main(["adopt", *args]) == 2
    assert snapshot(root) == before, "a refused table must change nothing"
    return capsys.readouterr().err


def test_a_missing_file_is_refused(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no/such.csv: no such file" in refusal(repository, capsys, "no/such.csv", "--target", "y")


FILES_THAT_ARE_NOT_TABLES = {
    "not UTF-8": (
        "name,y\ncaf\xe9,1\n".encode("latin-1"),
        "y",
        "not UTF-8 text (byte 10 is 0xe9): save it as UTF-8 CSV",
    ),
    "one column": (b"only\n1\n2\n", "only", "1 column(s): a table needs a target and at least one feature"),
    "repeated names": (b"a,a,y\n" + b"1,2,3\n" * 30, "y", "column names repeat ('a')"),
    "infinity": (
        b"x,y\n" + b"1.5,a\n2.5,b\n" * 15 + b"inf,a\n-inf,b\n",
        "y",
        "column 'x' holds inf (lines 32, 33, of 2 such values): past 3.403e+38, no model here can read it",
    ),
    "past a 32-bit float": (
        b"x,y\n" + b"1.5,a\n2.5,b\n" * 15 + b"3.5e38,a\n",
        "y",
        "column 'x' holds 3.5e+38 (lines 32, of 1 such values)",
    ),
}


def test_the_largest_32_bit_float_and_old_mac_line_endings_are_read(tmp_path: Path) -> None:
    """The bound is a 32-bit float's largest value itself; a file whose lines end in a carriage return alone."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"x,y\r" + b"1.5,a\r2.5,b\r" * 15 + b"3.4e38,a\r")
    profiled = profile(path, "y", None, 0.25)
    assert [column.name for column in profiled.columns] == ["x", "y"]
    assert profiled.columns[0].kind == "numeric"


@pytest.mark.parametrize(
    ("content", "target", "message"), FILES_THAT_ARE_NOT_TABLES.values(), ids=FILES_THAT_ARE_NOT_TABLES.keys()
)
def test_a_file_that_is_not_a_usable_table_is_refused(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, target: str, message: str
) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    assert message in refusal(repository, capsys, str(path), "--target", target)


@pytest.mark.parametrize(
    ("frame", "args", "message"),
    [
        (pd.DataFrame({"x": range(40), "label": ["a", "b"] * 20}), ["--target", "lable"], "no column 'lable' to predict; did you mean 'label'?"),  # noqa: E501
        (pd.DataFrame({"x": range(40), "label": ["a"] * 40}), ["--target", "label"], "target 'label' has a single class ('a')"),  # noqa: E501
        (pd.DataFrame({"x": range(120), "label": [f"c{i % 60}" for i in range(120)]}), ["--target", "label"], "has 60 classes, more than 50"),  # noqa: E501
        (pd.DataFrame({"x": range(41), "label": ["a", "b"] * 20 + ["c"]}), ["--target", "label"], "class(es) 'c' have a single row"),  # noqa: E501
        (pd.DataFrame({"x": range(19), "y": RNG.normal(0, 1, 19)}), ["--target", "y"], "19 rows have a 'y' value: too few to split"),  # noqa: E501
        (pd.DataFrame({"x": range(40), "label": ["a", "b"] * 20}), ["--target", "label", "--task", "regression"], "target 'label' is not numeric, so it cannot be regressed (e.g. 'a', 'b', 'a')"),  # noqa: E501
        (pd.DataFrame({"id": [f"r{i}" for i in range(40)], "y": RNG.normal(0, 1, 40)}), ["--target", "y"], "no column can be a feature ('id': an identifier"),  # noqa: E501
        (pd.DataFrame({"x": range(40), "label": [f"c{i % 12}" for i in range(40)]}), ["--target", "label"], "40 labelled rows cannot hold every one of 12 classes"),  # noqa: E501
    ],
)  # fmt: skip
def test_tables_that_cannot_be_learned_are_refused_naming_why(
    repository: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    frame: pd.DataFrame,
    args: list[str],
    message: str,
) -> None:
    path = table(tmp_path, frame)
    assert message in refusal(repository, capsys, str(path), *args)


def test_profile_raises_adopt_errors_not_pandas_ones(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('a,b\n1,2\n"unclosed,3\n')
    with pytest.raises(AdoptError, match="not a CSV table pandas can read"):
        profile(path, "b", None, 0.25)


@pytest.mark.parametrize(
    ("text", "written"),
    [('said "hi"', "'said \"hi\"'"), ("it's", '"it\'s"'), ("both \" and '", '"both \\" and \'"'), ("a\nb", '"a\\nb"')],
)
def test_names_are_quoted_as_the_generated_repositorys_formatter_quotes_them(text: str, written: str) -> None:
    assert literal(text) == written
    assert ast.literal_eval(written) == text
