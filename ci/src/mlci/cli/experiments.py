"""`mlci experiment run | log | propose | push | pull`: sweeps of the pipeline on DVC experiments, their log,
and the way from the best of them to a pull request."""

from __future__ import annotations

import argparse
import sys

from mlci.cli.common import Commands, add_output, repository
from mlci.core.tables import render


def run_command(args: argparse.Namespace) -> int:
    """Run a sweep; exit 1 when an experiment failed."""
    from mlci.experiments.sweep import described, run_sweep

    sweep = run_sweep(repository(args), args.set, args.jobs)
    rows = [("experiment", "overrides", "state")]
    rows += [(experiment.name, described(combination), experiment.state) for combination, experiment in sweep.ran]
    print(render(rows))
    for experiment in sweep.failed:
        print(f"mlci: {experiment.name} failed: {experiment.reason}", file=sys.stderr)
    print("compare them: `mlci experiment log`")
    return 1 if sweep.failed else 0


def log_command(args: argparse.Namespace) -> int:
    """Write the experiment log and print its table."""
    from mlci.experiments.log import LogQuery, cells, experiment_log, header

    opened = repository(args)
    written = experiment_log(opened, LogQuery(tuple(args.where), args.sort, args.all, args.output))
    table = written.table
    print(render([header(table, opened.config.metrics), *(cells(row, table) for row in table.rows)]))
    print(f"the experiment log: {written.markdown} and {written.html}")
    return 0


def propose_command(args: argparse.Namespace) -> int:
    """Make a branch of one experiment, push it, and review it."""
    from mlci.experiments.proposal import propose

    proposal = propose(repository(args), args.name, args.branch, args.output)
    where = "pushed to origin" if proposal.pushed else "made here (no origin to push to)"
    print(f"{args.name} is the branch {proposal.branch}, {where}; you are on it now")
    print(proposal.review.verdict)
    print(f"the review against {proposal.base}: {proposal.review.markdown} and {proposal.review.html}")
    if proposal.pushed:
        print(f"open a pull request from {proposal.branch} into {proposal.base}: its review runs there, and after")
        print("the merge the release registers the model and the promotion gates judge it")
    return 0


def share_command(args: argparse.Namespace) -> int:
    """Push HEAD's experiments to origin, or pull a teammate's."""
    from mlci.experiments.sharing import share

    print(share(repository(args), args.direction, args.names) or "nothing to share")
    return 0


def add(commands: Commands) -> None:
    parser = commands.add_parser(
        "experiment",
        help="sweep the pipeline's parameters as DVC experiments, compare them, and propose the best",
        description="Experiments of the repository's own pipeline, on DVC experiments: run a sweep, keep and "
        "compare its log, share it through origin, and make the best a branch for a pull request.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    run_parser = actions.add_parser(
        "run",
        help="run every combination of the overrides as an experiment (exit 1 when one fails)",
        description="Every override is checked against params.yaml and the repository's typed params before "
        "anything is queued; then each combination is queued and run by DVC, --jobs at a time.",
    )
    run_parser.add_argument(
        "-S",
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE[,VALUE...]",
        help="a key of params.yaml and the values to try, e.g. -S train.n_estimators=100,200 (repeatable)",
    )
    run_parser.add_argument("-j", "--jobs", type=int, default=1, help="experiments run at once (default: 1)")
    run_parser.set_defaults(handler=run_command)
    log_parser = actions.add_parser(
        "log",
        help="every experiment side by side, with the gates' verdict against the champion",
        description="Writes experiments.md and experiments.html: the parameters that differ, every metric "
        "(with its direction), and whether the promotion gates would pass each against the production champion.",
    )
    log_parser.add_argument(
        "--where", action="append", default=[], metavar="COLUMN OP VALUE", help="keep rows where it holds, e.g. r2>=0.4"
    )
    log_parser.add_argument("--sort", metavar="COLUMN", help="best first by a metric, ascending by a parameter")
    log_parser.add_argument("--all", action="store_true", help="the experiments of every commit, not HEAD's alone")
    add_output(log_parser)
    log_parser.set_defaults(handler=log_command)
    propose_parser = actions.add_parser(
        "propose",
        help="make an experiment a branch, push it with its data and model, and review it",
        description="Makes the branch experiment/NAME (or --branch) of the experiment, switches to it, pushes it "
        "and its DVC outputs to origin, and writes the review against the branch it came from.",
    )
    propose_parser.add_argument("name", metavar="NAME", help="the experiment, as the log names it")
    propose_parser.add_argument("--branch", help="the branch to make (default: experiment/NAME)")
    add_output(propose_parser)
    propose_parser.set_defaults(handler=propose_command)
    for direction, what in (("push", "send HEAD's experiments"), ("pull", "fetch HEAD's experiments")):
        share_parser = actions.add_parser(direction, help=f"{what} and their data and models through origin")
        share_parser.add_argument("names", nargs="*", metavar="NAME", help="only these (default: all of HEAD's)")
        share_parser.set_defaults(handler=share_command, direction=direction)
