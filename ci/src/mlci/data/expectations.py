"""Check data files against their suites with Great Expectations, and build its Data Docs.

Importing this module imports Great Expectations, which takes seconds: only `mlci validate` does.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent.pandas_datasource import PandasDatasource

from mlci.data.results import Failure, Outcome
from mlci.data.suites import Suite

# Arguments of an expectation that do not belong to the rule it states.
NOT_THE_RULE = {
    "batch_id",
    "column",
    "mostly",
    "result_format",
    "catch_exceptions",
    "meta",
    "notes",
    "description",
    "id",
}
EXAMPLES = 5  # offending values shown per failed expectation


def run(suites: list[Suite], docs: Path, files: Sequence[Path] = ()) -> list[Outcome]:
    """Each suite against its data (or against `files`), with Data Docs for every file read."""
    context = data_context(docs)
    source = context.data_sources.add_pandas("files")
    checks = [(suite, path) for suite in suites for path in files or [suite.data]]
    outcomes = [check(context, source, suite, path, number) for number, (suite, path) in enumerate(checks, 1)]
    context.build_data_docs()
    return outcomes


def data_context(docs: Path) -> AbstractDataContext:
    """A context kept in memory but for its Data Docs, which go to `docs` in place of the last run's."""
    for pages in ("expectations", "validations"):
        shutil.rmtree(docs / pages, ignore_errors=True)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="mlci",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs.resolve())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def check(context: AbstractDataContext, source: PandasDatasource, suite: Suite, path: Path, number: int) -> Outcome:
    """One data file against one suite, named in Data Docs by its place in the run, the suite and the file."""
    frame, error = read(suite, path)
    if frame is None:
        return Outcome(suite.name, str(path), error=error)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{number}-{suite.name}-{path.name}")  # Data Docs' file names
    asset = source.add_dataframe_asset(name)
    expectations = context.suites.add(gx.ExpectationSuite(name=name, expectations=suite.expectations()))
    definition = gx.ValidationDefinition(
        name=name, data=asset.add_batch_definition_whole_dataframe("whole file"), suite=expectations
    )
    result = context.validation_definitions.add(definition).run(
        batch_parameters={"dataframe": frame}, result_format="SUMMARY"
    )
    failures = sorted((failure(item) for item in result.results if not item.success), key=failure_order)
    return Outcome(suite.name, str(path), evaluated=len(result.results), failures=failures)


def read(suite: Suite, path: Path) -> tuple[pd.DataFrame | None, str]:
    """The data file as a frame, or why it cannot be read."""
    try:
        return suite.read(path), ""
    except FileNotFoundError:
        return None, "no such file (data tracked by DVC is fetched with `dvc pull`)"
    except pd.errors.EmptyDataError:
        return None, "the file is empty: not even a header row"
    except pd.errors.ParserError as error:
        return None, f"not well-formed CSV: {' '.join(str(error).split())}"
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except (OSError, ValueError) as error:
        return None, f"cannot be read: {error}"


def failure(item: ExpectationValidationResult) -> Failure:
    """What one failed expectation states and what it found instead."""
    config = item.expectation_config
    assert config is not None  # results of a validation always carry their expectation
    rule = ", ".join(f"{key}={value!r}" for key, value in config.kwargs.items() if key not in NOT_THE_RULE)
    return Failure(config.type.removeprefix("expect_"), config.kwargs.get("column"), rule, found(item))


def failure_order(failure: Failure) -> tuple[bool, str, str]:
    """Table-wide failures first, then by column and expectation: the same data prints the same report."""
    return failure.column is not None, failure.column or "", failure.expectation


def found(item: ExpectationValidationResult) -> str:
    """The evidence: the share of offending rows with examples, the observed value, or why it could not be checked."""
    errors = sorted(set(exception_messages(item.exception_info or {})))
    if errors:
        return "could not be checked: " + "; ".join(errors)
    reported = item.to_json_dict()["result"]
    result: dict[str, Any] = reported if isinstance(reported, dict) else {}
    assert item.expectation_config is not None
    mostly = item.expectation_config.kwargs.get("mostly")
    allowed = f", at most {1 - mostly:.0%} allowed" if mostly else ""
    if "element_count" in result:
        count, rows = result["unexpected_count"], result["element_count"]
        share = f"{count} of {rows} rows ({count / max(rows, 1):.1%})"
        if item.expectation_config.type == "expect_column_values_to_not_be_null":
            return f"{share} missing{allowed}"
        shown = examples(result)
        return f"{share} break it{allowed}" + (f", e.g. {shown}" if shown else "")
    if "partial_missing_list" in result:  # a set of values compared with the one expected
        missing, unexpected = result["partial_missing_list"], result.get("partial_unexpected_list", [])
        parts = [f"missing: {', '.join(sorted(map(str, missing)))}" if missing else ""]
        parts.append(f"unexpected: {', '.join(sorted(map(str, unexpected)))}" if unexpected else "")
        return "; ".join(part for part in parts if part)
    mismatched = (result.get("details") or {}).get("mismatched")
    if isinstance(mismatched, dict):
        return "; ".join(f"{kind}: {', '.join(map(str, names))}" for kind, names in mismatched.items() if names)
    if "observed_value" in result:
        return f"found {result['observed_value']!r}"
    return "did not hold"


def examples(result: dict[str, Any]) -> str:
    """A few offending values, the most frequent first, with their counts; a whole row shown as its values."""
    counts = result.get("partial_unexpected_counts") or [
        {"value": value, "count": 1} for value in result.get("partial_unexpected_list", [])
    ]
    shown: dict[str, int] = {}
    for entry in counts:
        value = entry["value"]
        text = "(" + ", ".join(map(str, value.values())) + ")" if isinstance(value, dict) else repr(value)
        shown[text] = shown.get(text, 0) + entry["count"]
    return ", ".join(text + (f" ({count}x)" if count > 1 else "") for text, count in list(shown.items())[:EXAMPLES])


def exception_messages(info: dict[str, Any]) -> list[str]:
    """The messages of the exceptions an expectation raised, however Great Expectations nests them."""
    if info.get("raised_exception") and info.get("exception_message"):
        return [str(info["exception_message"])]
    return [message for value in info.values() if isinstance(value, dict) for message in exception_messages(value)]
