"""The `mlci` command: one subcommand per step of a generated repository's life cycle."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlci import __version__
from mlci.build import Project, build, build_version
from mlci.config import CONFIG_FILE, Config, load_config
from mlci.errors import MlciError
from mlci.gitrepo import GitError
from mlci.registry import BUMPS, Registry, register, sync
from mlci.serve import install, serve
from mlci.store import Store
from mlci.suites import SuiteError, discover, select
from mlci.validation_report import summary, write_record

SMOKE_REQUEST = Path("examples/predict.json")  # a valid request; the smoke test's invalid one is an empty batch

Handler = Callable[[argparse.Namespace], int]


def show_config(args: argparse.Namespace) -> int:
    """Validate the config file and print the settings in force, defaults included."""
    config = load_config(args.config)
    print(f"{args.config}: valid", file=sys.stderr)
    print(config.model_dump_json(indent=2))
    return 0


def validate(args: argparse.Namespace) -> int:
    """Check each data file against its suite; exit 1 when any expectation fails."""
    settings = load_config(args.config).validation
    suites = select(discover(Path(settings.suites)), args.suite)
    if args.files and len(suites) > 1:
        raise SuiteError("files given but several suites exist: name the one to check them against with --suite")
    from mlci import validate as great_expectations  # imports in seconds: only this command pays for it

    outcomes = great_expectations.run(suites, Path(settings.docs), args.files)
    write_record(outcomes, Path(settings.report))
    print(summary(outcomes))
    print(f"results: {settings.report}; Data Docs: {Path(settings.docs) / 'index.html'}")
    failed = [outcome for outcome in outcomes if not outcome.success]
    if failed:
        print(f"mlci: validation failed for {len(failed)} of {len(outcomes)} data files", file=sys.stderr)
        return 1
    return 0


def repository(args: argparse.Namespace) -> tuple[Config, Project]:
    """The config and the repository it belongs to (the working directory)."""
    config = load_config(args.config)
    return config, Project.read(Path.cwd(), config.registry.model)


def build_target(args: argparse.Namespace) -> tuple[Project, Store, str]:
    """The repository, its artifact store, and the version to build or serve (default: HEAD's)."""
    config, project = repository(args)
    return project, Store(config.store.url), build_version(project.root, config.registry.model, args.version)


def build_bento(args: argparse.Namespace) -> int:
    """Build the current model's bento once and store it with its checksum."""
    project, store, version = build_target(args)
    store = Store(args.store) if args.store else store
    record, made = build(project, store, version)
    state = "built and stored" if made else "already in the store, nothing built"
    print(f"{project.name} {version}: {state}: {store.url} (bento sha256 {record['bento_sha256']})")
    return 0


def serve_build(args: argparse.Namespace) -> int:
    """Serve a stored build until interrupted."""
    project, store, version = build_target(args)
    return serve(store, project.name, version, args.port)


def refresh_registry(root: Path, otherwise: str) -> None:
    """Fetch the registry's tags from origin for a command that only reads them; if that fails, say so and go on."""
    try:
        sync(root)
    except GitError as error:
        print(f"mlci: warning: {otherwise}: {error}", file=sys.stderr)


def register_version(args: argparse.Namespace) -> int:
    """Register the model of the current commit as the next version."""
    config, project = repository(args)
    version = register(project.root, config.registry.model, project.model, args.bump)
    print(f"registered {config.registry.model}@{version} (the model of HEAD); build it with `mlci build`")
    return 0


def show_status(args: argparse.Namespace) -> int:
    """Print the registry: versions with metrics and stages, and what each stage runs."""
    from mlci.status import status

    config, project = repository(args)
    refresh_registry(project.root, "showing the local registry only")
    print(status(config, project, Registry.read(project.root, config.registry.model)))
    return 0


def promote_version(args: argparse.Namespace) -> int:
    """Assign a stage to a version through the stage order, the gates and the build check."""
    from mlci.promote import promote

    config, project = repository(args)
    assignment = promote(config, project, args.version, args.to)
    print(f"promoted {assignment.version} to {assignment.stage} ({assignment.tag})")
    print(f"deploy it with `mlci deploy {assignment.stage}`")
    return 0


def deploy_stage(args: argparse.Namespace) -> int:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    from mlci.deploy import Runtime, Smoke, deploy
    from mlci.promote import check_stage

    config, project = repository(args)
    check_stage(config, args.stage)
    sync(project.root)
    version = Registry.read(project.root, config.registry.model).holder(args.stage)
    if version is None:
        raise MlciError(
            f"no version is assigned to {args.stage}: promote one with `mlci promote VERSION --to {args.stage}`"
        )
    installed = install(Store(config.store.url), project.name, version)
    example = project.root / SMOKE_REQUEST
    if not example.is_file():
        raise MlciError(f"{SMOKE_REQUEST}: no example request for the smoke test; `mlci adopt` writes one")
    smoke = Smoke(valid=example.read_bytes(), invalid=b'{"records": []}', source=f"the example request {SMOKE_REQUEST}")
    settings = config.deploy[args.stage]
    log_variables = config.monitoring.environment(args.stage, project.root)
    runtime = Runtime(settings.port, settings.workers, log_variables)
    print(deploy(project.name, args.stage, installed, runtime, smoke))
    if log_variables:
        where = log_variables["INFERENCE_LOG_URL"]
        print(f"{args.stage} logs {config.monitoring.sample:.0%} of its requests to {where}")
    return 0


def stop_stage(args: argparse.Namespace) -> int:
    """Stop what runs for a stage on this machine; git's assignment is left as it is."""
    from mlci.deploy import undeploy
    from mlci.promote import check_stage

    config, project = repository(args)
    check_stage(config, args.stage)
    print(undeploy(project.name, args.stage))
    return 0


def rollback_stage(args: argparse.Namespace) -> int:
    """Assign a stage back to its previous version, then deploy it."""
    from mlci.promote import rollback

    config, project = repository(args)
    assignment = rollback(config, project, args.stage)
    print(f"rolled {assignment.stage} back to {assignment.version} ({assignment.tag})")
    return deploy_stage(args)


def review_change(args: argparse.Namespace) -> int:
    """Write the model review of head against a base ref and the champion."""
    from mlci.review import review

    config, project = repository(args)
    refresh_registry(project.root, "the champion comes from the local registry only")
    written = review(config, project, args.base, args.output)
    if written.base_missing:
        print(f"mlci: error: {written.base_missing}; the report compares nothing with it", file=sys.stderr)
        print(f"the incomplete review: {written.markdown} and {written.html}", file=sys.stderr)
        return 2
    print(written.verdict)
    print(f"the review: {written.markdown} and {written.html}")
    return 0


def check_drift(args: argparse.Namespace) -> int:
    """Judge the logged inputs of each version against its training data; exit 1 on drift."""
    from mlci.drift import judge, large_enough, read_log, reference, report
    from mlci.promote import check_stage

    config, project = repository(args)
    stage = args.stage or config.registry.stages[-1]
    check_stage(config, stage)
    log = args.log or config.monitoring.url_for(stage, project.root)
    if log is None:
        raise MlciError(
            "no inference log to judge: pass --log URL, or set [monitoring] log in mlci.toml "
            "so that deployed stages log their requests"
        )
    registry = Registry.read(project.root, config.registry.model)
    pending = None if args.log else config.monitoring.flush_seconds
    windows, too_few = large_enough(read_log(log, args.since), config.drift, pending)
    with tempfile.TemporaryDirectory(prefix="mlci-drift-") as scratch:
        judgements = [
            judge(
                window,
                reference(window.version, registry, project.root, config.drift, args.reference, Path(scratch)),
                config.drift,
            )
            for window in windows
        ]
    markdown, page = report(judgements, too_few, config.drift, args.output, project.name)
    for window in too_few:
        print(f"{window.version}: {len(window.inputs)} logged requests, too few to judge; left out")
    drifted = [f"{j.window.version}: {', '.join(j.drifted)}" for j in judgements if j.drifted]
    print(f"the drift report: {markdown} and {page}")
    if drifted:
        print(f"mlci: drift past the thresholds in {'; '.join(drifted)}", file=sys.stderr)
        return 1
    print("no drift past the thresholds")
    return 0


def refresh_data(args: argparse.Namespace) -> int:
    """Make the newest labelled data the repository's raw data, tracked by DVC."""
    from mlci.refresh import refresh

    config, project = repository(args)
    print(refresh(project.root, config.retrain))
    return 0


def adopt_table(args: argparse.Namespace) -> int:
    """Make a table the repository's data and rewrite what depends on it."""
    from mlci.adopt import adopt, describe

    config, project = repository(args)
    print(describe(adopt(config, project, args.table, args.target, args.task)))
    return 0


def since(text: str) -> datetime:
    """A command-line age (`30m`, `24h`, `7d`) as the moment that long ago."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    amount, unit = text[:-1], text[-1:]
    if unit not in units or not amount.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an age: give a whole number and m, h or d, e.g. 7d")
    return datetime.now(UTC) - timedelta(**{units[unit]: int(amount)})


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
    check = commands.add_parser(
        "validate",
        help="check the data against the validation suites (exit 1 on failure)",
        description="Check each suite's data file, or the FILEs given, with Great Expectations. "
        "Prints the failed expectations with offending values, writes the results as JSON and builds Data Docs.",
    )
    check.add_argument("--suite", metavar="NAME", help="check only this suite (default: every suite)")
    check.add_argument("files", nargs="*", type=Path, metavar="FILE", help="check these files instead of its data")
    check.set_defaults(handler=validate)
    make = commands.add_parser(
        "build",
        help="build the current model's bento once and keep it in the artifact store",
        description="Build the bento of the model dvc.lock records and store it with its checksum. "
        "A version already built from the same model is left as it is.",
    )
    make.add_argument(
        "version", nargs="?", help="the version to build (default: HEAD's registered version, else git-<commit>)"
    )
    make.add_argument(
        "--store", metavar="URL", help="build into this store instead of mlci.toml's (CI checks a build this way)"
    )
    make.set_defaults(handler=build_bento)
    run = commands.add_parser("serve", help="serve a stored build (not the working tree) over HTTP")
    run.add_argument("version", nargs="?", help="the stored version (default: HEAD's, as for build)")
    run.add_argument("--port", type=int, default=3000, help="the port to listen on (default: 3000)")
    run.set_defaults(handler=serve_build)
    add_registry_commands(commands)
    compare = commands.add_parser(
        "review",
        help="write the model review: head against a base ref and the production champion",
        description="Compares the working tree with REF (read through git and DVC, the working tree untouched) "
        "and with the champion: verdict, metrics and gates, params, data validation and drift, plots. "
        "Writes review.md (Mermaid charts inline), review.html (self-contained) and the plots as PNG.",
    )
    compare.add_argument("--base", required=True, metavar="REF", help="the revision to compare with, e.g. origin/main")
    compare.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )
    compare.set_defaults(handler=review_change)
    watch = commands.add_parser(
        "drift",
        help="judge logged inference inputs against the training data (exit 1 on drift)",
        description="Reads a stage's inference log (JSON Lines: timestamp, model_version, inputs, prediction), "
        "and judges each version's requests against that version's training data ([drift] reference, through "
        "DVC), feature by feature. Exit 1: drift past [drift] psi_threshold or a category unseen in training; "
        "3: a log missing, empty or too small; 4: a version the registry does not know.",
    )
    watch.add_argument("--stage", help="the stage whose log to judge, under [monitoring] log (default: the last stage)")
    watch.add_argument("--log", metavar="URL", help="judge this .jsonl file, or folder or URL of them, instead")
    watch.add_argument(
        "--since", type=since, metavar="AGE", help="only requests of the last AGE: 30m, 24h or 7d (default: all)"
    )
    watch.add_argument("--reference", type=Path, metavar="CSV", help="judge against this file instead")
    watch.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )
    watch.set_defaults(handler=check_drift)
    renew = commands.add_parser(
        "refresh",
        help="replace the raw data with the newest labelled data ([retrain] source), tracked by DVC",
        description="Copies [retrain] source over [retrain] data and runs `dvc add`, so that `dvc repro` "
        "retrains on it. Data equal to what the repository holds changes nothing.",
    )
    renew.set_defaults(handler=refresh_data)
    take = commands.add_parser(
        "adopt",
        help="make a CSV table the repository's data, for classification or regression",
        description="Checks the table, infers its schema (types, ranges, categories, missing values, roles), copies "
        "it to data/<name>.csv tracked by DVC, and rewrites schema.py, the validation suite, the example request, "
        "the README's dataset section, the metrics and gates of mlci.toml and the data path and plots of dvc.yaml. "
        "The previous dataset's files go away. A table it cannot use changes nothing.",
    )
    take.add_argument("table", type=Path, help="the CSV file (UTF-8, a header row)")
    take.add_argument("--target", required=True, metavar="COLUMN", help="the column the model predicts")
    take.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="default: regression for a numeric target with more than 20 values or fractions, else classification",
    )
    take.set_defaults(handler=adopt_table)
    return parser


def add_registry_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """register, status, promote, deploy and rollback: the registry in git and the stages it drives."""
    new = commands.add_parser(
        "register",
        help="register the current commit's model as the next version (a GTO tag, pushed to origin)",
        description="Tag the clean HEAD commit as model@vX.Y.Z, the next version. Its model must be in the DVC remote.",
    )
    new.add_argument(
        "--bump", choices=BUMPS, default="patch", help="which part of the version to raise (default: patch)"
    )
    new.set_defaults(handler=register_version)
    show = commands.add_parser("status", help="print the registry: versions, metrics, stages and what runs")
    show.set_defaults(handler=show_status)
    move = commands.add_parser(
        "promote",
        help="assign a stage to a version through the stage order, the gates and the build check",
        description="Checks, in order: the stage order, the metric gates and the challenger against the stage's "
        "champion, then the stored build's checksum. On success tags the assignment and pushes it to origin.",
    )
    move.add_argument("version", help="a registered version, such as v0.1.2")
    move.add_argument("--to", required=True, metavar="STAGE", help="the stage to assign")
    move.set_defaults(handler=promote_version)
    run = commands.add_parser(
        "deploy",
        help="run the version a stage is assigned, smoke-tested, on the stage's port",
        description="Fetches and verifies the stage's build, starts it beside the running one, smoke-tests it, "
        "then moves it to the stage's port. On failure the previous version keeps running.",
    )
    run.add_argument("stage", help="the stage to deploy")
    run.set_defaults(handler=deploy_stage)
    back = commands.add_parser("rollback", help="assign a stage back to the version it held before, and deploy it")
    back.add_argument("stage", help="the stage to roll back")
    back.set_defaults(handler=rollback_stage)
    halt = commands.add_parser("stop", help="stop a stage's server on this machine (its assignment in git stays)")
    halt.add_argument("stage", help="the stage to stop")
    halt.set_defaults(handler=stop_stage)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake ends with a message and exit code 2, never a traceback."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MlciError as error:
        print(f"mlci: error: {error}", file=sys.stderr)
        return error.exit_code
