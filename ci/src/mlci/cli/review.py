"""`mlci review`: the model of the working tree against a base and the production champion."""

from __future__ import annotations

import argparse
import sys

from mlci.cli.common import Commands, add_output, repository


def review_command(args: argparse.Namespace) -> int:
    """Write the model review of head against a base ref and the champion."""
    from mlci.review.report import review

    written = review(repository(args), args.base, args.output)
    if written.warning:
        print(f"mlci: warning: {written.warning}", file=sys.stderr)
    print(written.verdict)
    print(f"the review: {written.markdown} and {written.html}")
    return 0


def add(commands: Commands) -> None:
    review_parser = commands.add_parser(
        "review",
        help="write the model review: head against a base ref and the production champion",
        description="Compares the working tree with REF (read through git and DVC, the working tree untouched) "
        "and with the champion: verdict, metrics and gates, params, data validation and drift, plots. "
        "Writes review.md (Mermaid charts inline), review.html (self-contained) and the plots as PNG.",
    )
    review_parser.add_argument(
        "--base", required=True, metavar="REF", help="the revision to compare with, e.g. origin/main"
    )
    add_output(review_parser)
    review_parser.set_defaults(handler=review_command)
