"""The `mlci` command: one subcommand per step of a generated repository's life cycle."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mlci import __version__
from mlci.config import CONFIG_FILE, ConfigError, load_config

Handler = Callable[[argparse.Namespace], int]


def show_config(args: argparse.Namespace) -> int:
    """Validate the config file and print the settings in force, defaults included."""
    config = load_config(args.config)
    print(f"{args.config}: valid", file=sys.stderr)
    print(config.model_dump_json(indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
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
    config = commands.add_parser("config", help="validate the config file and print its settings")
    config.set_defaults(handler=show_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake ends with a message and exit code 2, never a traceback."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as error:
        print(f"mlci: error: {error}", file=sys.stderr)
        return 2
