"""Data validation: each suite's data checked, a short summary for people and a stable JSON record for the pipeline."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from mlci.core.settings import Validation
from mlci.data.results import Outcome
from mlci.data.suites import SuiteError, discover, select


def summary(outcomes: list[Outcome]) -> str:
    """A few lines per data file, naming each failed expectation and what it found."""
    lines = []
    for outcome in outcomes:
        if outcome.error is not None:
            lines.append(f"FAIL {outcome.suite} ({outcome.data}): {outcome.error}")
            continue
        verdict = "ok  " if outcome.success else "FAIL"
        failed = f", {len(outcome.failures)} failed" if outcome.failures else ", all hold"
        lines.append(f"{verdict} {outcome.suite} ({outcome.data}): {outcome.evaluated} expectations{failed}")
        for failure in outcome.failures:
            subject = f"{failure.column}: " if failure.column else ""
            lines.append(f"     - {subject}{failure.expectation}({failure.rule}): {failure.found}")
    return "\n".join(lines)


def write_record(outcomes: list[Outcome], path: Path) -> None:
    """The outcomes as JSON, written whole or not at all; the same data gives the same bytes."""
    record = {
        "success": all(outcome.success for outcome in outcomes),
        "suites": [{**asdict(outcome), "success": outcome.success} for outcome in outcomes],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as file:
        json.dump(record, file, indent=2)
        file.write("\n")
    os.replace(file.name, path)


def validate(settings: Validation, suite: str | None, files: list[Path]) -> list[Outcome]:
    """Check each selected suite's data (or `files`) and write the results record and Data Docs."""
    suites = select(discover(Path(settings.suites)), suite)
    if files and len(suites) > 1:
        raise SuiteError("files given but several suites exist: name the one to check them against with --suite")
    from mlci.data import expectations  # imports Great Expectations, in seconds: only this command pays for it

    outcomes = expectations.run(suites, Path(settings.docs), files)
    write_record(outcomes, Path(settings.report))
    return outcomes
