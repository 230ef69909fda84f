"""What every command family shares: the repository a command works on, and arguments several commands take."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

from mlci.core.repository import Repository

Handler = Callable[[argparse.Namespace], int]
# What `add_subparsers` returns: each family adds its commands to it (generic only to the type checker).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def repository(args: argparse.Namespace) -> Repository:
    """The repository in the working directory, as `--config` describes it."""
    return Repository.open(args.config)


def since(text: str) -> datetime:
    """A command-line age (`30m`, `24h`, `7d`) as the moment that long ago."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    amount, unit = text[:-1], text[-1:]
    if unit not in units or not amount.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an age: give a whole number and m, h or d, e.g. 7d")
    return datetime.now(UTC) - timedelta(**{units[unit]: int(amount)})


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )


def add_window_arguments(parser: argparse.ArgumentParser, stage: str, logged: str) -> None:
    """--stage, --since and --output: which stage's log, which part of it, and where the report goes."""
    parser.add_argument("--stage", help=f"the stage {stage} (default: the last stage)")
    parser.add_argument(
        "--since", type=since, metavar="AGE", help=f"only {logged} of the last AGE: 30m, 24h or 7d (default: all)"
    )
    add_output(parser)
