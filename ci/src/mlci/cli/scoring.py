"""`mlci score`: a table scored with a stored build, without a server."""

from __future__ import annotations

import argparse

from mlci.cli.common import Commands, repository

SUBMITTED = "submitted"  # --master: the one spark-submit gives the job


def score_command(args: argparse.Namespace) -> int:
    """Score a table with a stored build; rows the contract refuses go to a side file."""
    from mlci.scoring.local import ScoreRequest, score
    from mlci.scoring.partition import ScoreError

    request = ScoreRequest(
        args.table, args.output, args.version, args.stage, args.chunk_rows, args.keep, args.overwrite
    )
    if args.master and args.engine != "spark":
        raise ScoreError(f"--master {args.master}: a Spark master, for --engine spark only")
    if args.engine == "spark":
        from mlci.scoring.spark import local_master, score_on_spark

        master = None if args.master == SUBMITTED else args.master or local_master()
        done = score_on_spark(repository(args), request, master)
    else:
        done = score(repository(args), request)
    rate = done.rows / max(done.seconds, 1e-9)
    print(
        f"{done.output}: {done.rows - done.refused} rows scored by {done.version} ({rate:,.0f} rows/s); "
        f"{done.refused} refused, with the reason, in {done.refused_file}"
    )
    if done.retried:
        print(f"{done.retried} part(s) ran again after a task failed; each row is in the output once")
    return 0


def add(commands: Commands) -> None:
    score_parser = commands.add_parser(
        "score",
        help="score a CSV or Parquet table with a stored build (rows the contract refuses go to a side file)",
        description="Reads TABLE (a file or any fsspec URL) in chunks; each row is checked by the build's own "
        "request contract. Answered rows go to OUTPUT with their row number, the columns --keep names, the "
        "prediction (and a classifier's probabilities), the model version and the moment the run began; refused "
        "rows go to OUTPUT's name with .refused.csv, with their row number, every column and the reason. Both are "
        "written whole or not at all. With --engine spark, Spark tasks score the table's splits and both outputs "
        "are folders of part files, Spark's layout.",
    )
    score_parser.add_argument("table", help="the table to score: .csv or .parquet, a path or a URL")
    score_parser.add_argument("output", help="where the scores go: .csv or .parquet, a path or a URL")
    which = score_parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="score with this stored version")
    which.add_argument("--stage", help="score with the version this stage holds (default: the last stage)")
    score_parser.add_argument(
        "--chunk-rows", type=int, default=50_000, metavar="N", help="rows read at a time (default: 50000)"
    )
    score_parser.add_argument(
        "--keep",
        default="all",
        metavar="COLUMNS",
        help="the table's columns the scores keep: names separated by commas, 'all' (default) or 'none'; the "
        "schema's identifier, the record's id, is always kept",
    )
    score_parser.add_argument("--overwrite", action="store_true", help="replace outputs an earlier run left")
    score_parser.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local: in this process (default); spark: Spark tasks, one per split of the table",
    )
    score_parser.add_argument(
        "--master",
        metavar="URL",
        help="--engine spark: Spark's master (default: local[CORES,4], Spark in this process; "
        f"'{SUBMITTED}': the one spark-submit gives)",
    )
    score_parser.set_defaults(handler=score_command)
