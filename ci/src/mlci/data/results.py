"""What a validation run found: per data file, the expectations that did not hold, or why it could not be read.

Made by `expectations` (which runs Great Expectations), summarised and recorded by `validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold: which, on what column, the rule, and what was found instead."""

    expectation: str
    column: str | None
    rule: str
    found: str


@dataclass(frozen=True)
class Outcome:
    """One data file checked against one suite; `error` is set when the file could not even be read."""

    suite: str
    data: str
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None and not self.failures
