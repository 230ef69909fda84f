"""The ways a command ends early: a mistake to fix (exit 2), a rule that says no (exit 1), a build not made."""

from __future__ import annotations


class MlciError(Exception):
    """Input, config or state the user can fix; the message says what is wrong and how to fix it."""

    exit_code = 2

    def __init__(self, message: str, *, report: str = "") -> None:
        super().__init__(message)
        self.report = report  # what the command found before it stopped (a gate table, say), shown on stdout


class RefusedError(MlciError):
    """A rule refused the change (stage order, a gate, a failed smoke test); nothing was changed."""

    exit_code = 1


class BuildError(MlciError):
    """A build that cannot be made or served; the message says why and what to do."""
