"""The `mlci` command: one subcommand per step of a generated repository's life cycle.

Each family of commands is a module here, its parsers beside its handlers. A handler parses nothing and
decides nothing: it opens the repository, calls one function of the toolkit and renders its result. A user's
mistake ends as an MlciError, which `main` maps to a message and the error's exit code.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from mlci import __version__
from mlci.cli import build, data, deploy, experiments, monitoring, registry, review, scoring, settings, template
from mlci.cli.common import Handler
from mlci.core.config import CONFIG_FILE
from mlci.core.errors import MlciError

FAMILIES = (
    settings,
    data,
    experiments,
    build,
    registry,
    deploy,
    review,
    monitoring,
    scoring,
    template,
)  # in `--help`'s order


def command_line() -> argparse.ArgumentParser:
    """The command line: global options, then one subcommand."""
    parser = argparse.ArgumentParser(
        prog="mlci",
        description="Validate, train, review, build, promote and monitor a model kept in git.",
    )
    parser.add_argument("--version", action="version", version=f"mlci {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(CONFIG_FILE),
        metavar="PATH",
        help=f"the toolkit's config file (default: ./{CONFIG_FILE})",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for family in FAMILIES:
        family.add(commands)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it unwinds: its scratch folders and half-done work cleaned."""


def terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def unwinding_on_sigterm() -> Iterator[None]:
    """SIGTERM raises `Terminated` while the block runs (in the main thread only, where signals are handled)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake, or a file the machine refuses, ends with a message and exit code 2,
    never a traceback."""
    args = command_line().parse_args(argv)
    handler: Handler = args.handler
    try:
        with unwinding_on_sigterm():
            return handler(args)
    except MlciError as error:
        if error.report:
            print(error.report)
        print(f"mlci: error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:  # a file or folder the machine refuses: the user's to fix, not a traceback
        where = f"{error.filename}: " if error.filename else ""
        problem = error.strerror or str(error)
        print(f"mlci: error: {where}{problem}; check that it exists and may be used so", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlci: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("mlci: terminated", file=sys.stderr)
        return 143
