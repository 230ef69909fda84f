"""`mlci deploy`, `rollback` and `stop`: what runs for a stage, reconciled with what git assigns it."""

from __future__ import annotations

import argparse

from mlci.cli.common import Commands, repository
from mlci.core.repository import Repository
from mlci.deploy.targets.base import Deployment


def show_deployment(repository: Repository, deployment: Deployment) -> None:
    config = repository.config
    serving, stage = deployment.serving, deployment.stage
    declared = config.deploy[stage].target == "kubernetes"
    verb = "is declared in" if declared else "serves on"
    if not deployment.changed:
        already = "is declared in" if declared else "already runs on"
        print(f"{stage}: {serving.version} {already} {serving.url} ({serving.detail}); nothing to do")
    else:
        replaced = f", replacing {deployment.replaced}" if deployment.replaced else ""
        print(f"{stage}: {serving.version} {verb} {serving.url} ({serving.detail}){replaced}")
    if declared:
        print(f"{stage}: committed and pushed; the cluster's controller applies it (Argo CD: deploy/argocd/)")
    where = config.monitoring.url_for(stage, repository.root)
    if where and declared and not config.monitoring.remote:
        print(f"{stage}: no inference log in the cluster: [monitoring] log is a folder of this machine, set a URL")
    elif where:
        print(f"{stage} logs {config.monitoring.sample:.0%} of its requests to {where}")


def deploy_command(args: argparse.Namespace) -> int:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    from mlci.deploy.stages import deploy_stage

    opened = repository(args)
    show_deployment(opened, deploy_stage(opened, args.stage))
    return 0


def rollback_command(args: argparse.Namespace) -> int:
    """Assign a stage back to its previous version, then deploy it."""
    from mlci.deploy.stages import rollback_stage

    opened = repository(args)
    assignment, deployment = rollback_stage(opened, args.stage)
    print(f"rolled {assignment.stage} back to {assignment.version} ({assignment.tag})")
    show_deployment(opened, deployment)
    return 0


def stop_command(args: argparse.Namespace) -> int:
    """Stop what runs for a stage on this machine; git's assignment is left as it is."""
    from mlci.deploy.stages import stop_stage

    stopped = stop_stage(repository(args), args.stage)
    print(f"{args.stage}: stopped {stopped.version} ({stopped.detail})" if stopped else f"{args.stage}: nothing runs")
    return 0


def add(commands: Commands) -> None:
    deploy_parser = commands.add_parser(
        "deploy",
        help="run the version a stage is assigned: on its port (local), or declared in git (kubernetes)",
        description="local: fetches and verifies the stage's build, starts it beside the running one, smoke-tests "
        "it, then moves it to the stage's port; on failure the previous version keeps running. kubernetes: writes "
        "the version's image digest into the stage's overlay and commits and pushes that file alone.",
    )
    deploy_parser.add_argument("stage", help="the stage to deploy")
    deploy_parser.set_defaults(handler=deploy_command)
    rollback_parser = commands.add_parser(
        "rollback", help="assign a stage back to the version it held before, and deploy it"
    )
    rollback_parser.add_argument("stage", help="the stage to roll back")
    rollback_parser.set_defaults(handler=rollback_command)
    stop_parser = commands.add_parser(
        "stop", help="stop a stage's server (kubernetes: declare no replica); its assignment in git stays"
    )
    stop_parser.add_argument("stage", help="the stage to stop")
    stop_parser.set_defaults(handler=stop_command)
