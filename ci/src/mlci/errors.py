"""The two ways a command ends early: a mistake to fix (exit 2) and a rule that says no (exit 1)."""

from __future__ import annotations


class MlciError(Exception):
    """Input, config or state the user can fix; the message says what is wrong and how to fix it."""

    exit_code = 2


class RefusedError(MlciError):
    """A rule refused the change (stage order, a gate, a failed smoke test); nothing was changed."""

    exit_code = 1
