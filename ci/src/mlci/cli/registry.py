"""`mlci register`, `status` and `promote`: versions in git's tags, and stages assigned through the gates."""

from __future__ import annotations

import argparse
import sys

from mlci.cli.common import Commands, repository
from mlci.cli.deploy import show_deployment
from mlci.core.registry import BUMPS


def register_command(args: argparse.Namespace) -> int:
    """Register the model of the current commit as the next version."""
    from mlci.core.registry import register

    opened = repository(args)
    model = opened.config.registry.model
    version = register(opened.root, model, opened.project.model, args.bump)
    print(f"registered {model}@{version} (the model of HEAD); build it with `mlci build`")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print the registry: versions with metrics and stages, and what each stage runs."""
    from mlci.deploy.status import status

    shown = status(repository(args))
    if shown.warning:
        print(f"mlci: warning: {shown.warning}", file=sys.stderr)
    print(shown.text)
    return 0


def promote_command(args: argparse.Namespace) -> int:
    """Assign a stage to a version through the stage order, the gates and the build check."""
    from mlci.deploy.stages import promote_stage
    from mlci.promotion.gates import table

    opened = repository(args)
    promoted = promote_stage(opened, args.version, args.to)
    if promoted.promotion.checks:
        print(table(promoted.promotion.checks))
    assignment = promoted.promotion.assignment
    if promoted.promotion.assigned:
        print(f"promoted {assignment.version} to {assignment.stage} ({assignment.tag})")
    else:
        print(f"{assignment.version} already holds {assignment.stage} ({assignment.tag}): nothing was assigned")
    if promoted.deployment:
        show_deployment(opened, promoted.deployment)
    else:
        print(f"deploy it with `mlci deploy {assignment.stage}`")
    return 0


def add(commands: Commands) -> None:
    register_parser = commands.add_parser(
        "register",
        help="register the current commit's model as the next version (a GTO tag, pushed to origin)",
        description="Tag the clean HEAD commit as model@vX.Y.Z, the next version. Its model must be in the DVC remote.",
    )
    register_parser.add_argument(
        "--bump", choices=BUMPS, default="patch", help="which part of the version to raise (default: patch)"
    )
    register_parser.set_defaults(handler=register_command)
    status_parser = commands.add_parser("status", help="print the registry: versions, metrics, stages and what runs")
    status_parser.set_defaults(handler=status_command)
    promote_parser = commands.add_parser(
        "promote",
        help="assign a stage to a version through the stage order, the gates and the build check",
        description="Checks, in order: the stage order, the metric gates and the challenger against the stage's "
        "champion, then the stored build's checksum. On success tags the assignment and pushes it to origin.",
    )
    promote_parser.add_argument("version", help="a registered version, such as v0.1.2")
    promote_parser.add_argument("--to", required=True, metavar="STAGE", help="the stage to assign")
    promote_parser.set_defaults(handler=promote_command)
