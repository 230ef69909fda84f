"""`mlci score`: a table scored with a stored build, without a server."""

from __future__ import annotations

import argparse

from mlci.cli.common import Commands, repository


def score_command(args: argparse.Namespace) -> int:
    """Score a table with a stored build; rows the contract refuses go to a side file."""
    from mlci.scoring.local import ScoreRequest, score

    done = score(repository(args), ScoreRequest(args.table, args.output, args.version, args.stage, args.chunk_rows))
    rate = done.rows / max(done.seconds, 1e-9)
    print(
        f"{done.output}: {done.rows - done.refused} rows scored by {done.version} ({rate:,.0f} rows/s); "
        f"{done.refused} refused, with the reason, in {done.refused_file}"
    )
    return 0


def add(commands: Commands) -> None:
    score_parser = commands.add_parser(
        "score",
        help="score a CSV or Parquet table with a stored build (rows the contract refuses go to a side file)",
        description="Reads TABLE (a file or any fsspec URL) in chunks; each row is checked by the build's own "
        "request contract. Answered rows go to OUTPUT with their own columns, the prediction (and a classifier's "
        "probabilities) and the model version; refused rows go to OUTPUT's name with .refused.csv, with their row "
        "number and the reason. Both are written whole or not at all.",
    )
    score_parser.add_argument("table", help="the table to score: .csv or .parquet, a path or a URL")
    score_parser.add_argument("output", help="where the scores go: .csv or .parquet, a path or a URL")
    which = score_parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="score with this stored version")
    which.add_argument("--stage", help="score with the version this stage holds (default: the last stage)")
    score_parser.add_argument(
        "--chunk-rows", type=int, default=50_000, metavar="N", help="rows read at a time (default: 50000)"
    )
    score_parser.set_defaults(handler=score_command)
