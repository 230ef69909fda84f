"""`mlci validate`, `mlci adopt` and `mlci refresh`: the data, checked, made the repository's, renewed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlci.cli.common import Commands, repository
from mlci.core.config import load_config


def validate_command(args: argparse.Namespace) -> int:
    """Check each data file against its suite; exit 1 when any expectation fails."""
    from mlci.data.validation import summary, validate

    settings = load_config(args.config).validation
    outcomes = validate(settings, args.suite, args.files)
    print(summary(outcomes))
    print(f"results: {settings.report}; Data Docs: {Path(settings.docs) / 'index.html'}")
    failed = [outcome for outcome in outcomes if not outcome.success]
    if failed:
        print(f"mlci: validation failed for {len(failed)} of {len(outcomes)} data files", file=sys.stderr)
        return 1
    return 0


def adopt_command(args: argparse.Namespace) -> int:
    """Make a table the repository's data and rewrite what depends on it."""
    from mlci.data.adopt import adopt, describe
    from mlci.data.roles import Overrides

    overrides = Overrides(args.id, args.group, tuple(args.drop), tuple(args.feature))
    print(describe(adopt(repository(args), args.table, args.target, args.task, overrides)))
    return 0


def refresh_command(args: argparse.Namespace) -> int:
    """Make the newest labelled data the repository's raw data, tracked by DVC."""
    from mlci.data.refresh import refresh

    opened = repository(args)
    done = refresh(opened.root, opened.config.retrain)
    if done.changed:
        print(
            f"{done.data}: now the data at {done.source} ({done.lines} lines, were {done.lines_before}); "
            "`dvc repro` retrains on it"
        )
    else:
        print(f"{done.data} already holds the data at {done.source}: nothing to retrain on")
    return 0


def add(commands: Commands) -> None:
    validate_parser = commands.add_parser(
        "validate",
        help="check the data against the validation suites (exit 1 on failure)",
        description="Check each suite's data file, or the FILEs given, with Great Expectations. "
        "Prints the failed expectations with offending values, writes the results as JSON and builds Data Docs.",
    )
    validate_parser.add_argument("--suite", metavar="NAME", help="check only this suite (default: every suite)")
    validate_parser.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="check these files instead of its data"
    )
    validate_parser.set_defaults(handler=validate_command)
    adopt_parser = commands.add_parser(
        "adopt",
        help="make a CSV table the repository's data, for classification or regression",
        description="Checks the table, infers its schema (types, ranges, categories, missing values, roles), copies "
        "it to data/<name>.csv tracked by DVC, and rewrites schema.py, the validation suite, the example request, "
        "the README's dataset section, the metrics and gates of mlci.toml and the data path and plots of dvc.yaml. "
        "The previous dataset's files go away. A table it cannot use changes nothing.",
    )
    adopt_parser.add_argument("table", type=Path, help="the CSV file (UTF-8, a header row)")
    adopt_parser.add_argument("--target", required=True, metavar="COLUMN", help="the column the model predicts")
    adopt_parser.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="default: regression for a numeric target with more than 20 values or fractions, else classification",
    )
    adopt_parser.add_argument("--id", metavar="COLUMN", help="the column naming each record (default: inferred)")
    adopt_parser.add_argument(
        "--group", metavar="COLUMN", help="the column whose rows belong together: the split keeps them on one side"
    )
    adopt_parser.add_argument(
        "--drop", nargs="+", action="extend", default=[], metavar="COLUMN", help="columns kept, never features"
    )
    adopt_parser.add_argument(
        "--feature",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="columns made features whatever adoption infers (a suspected leak kept deliberately, say)",
    )
    adopt_parser.set_defaults(handler=adopt_command)
    refresh_parser = commands.add_parser(
        "refresh",
        help="replace the raw data with the newest labelled data ([retrain] source), tracked by DVC",
        description="Copies [retrain] source over [retrain] data and runs `dvc add`, so that `dvc repro` "
        "retrains on it. Data equal to what the repository holds changes nothing.",
    )
    refresh_parser.set_defaults(handler=refresh_command)
