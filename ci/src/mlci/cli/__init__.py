"""The `mlci` command: one subcommand per step of a generated repository's life cycle.

Each handler parses nothing and decides nothing: it calls one function of the toolkit and renders its result.
A user's mistake ends as an MlciError, which `main` maps to a message and the error's exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlci import __version__
from mlci.core.config import CONFIG_FILE, Config, load_config
from mlci.core.errors import MlciError
from mlci.core.project import Project
from mlci.core.registry import BUMPS
from mlci.deploy.targets.base import Deployment

Handler = Callable[[argparse.Namespace], int]


def repository(args: argparse.Namespace) -> tuple[Config, Project]:
    """The config and the repository it belongs to (the working directory)."""
    from mlci.core.storage import use_endpoint

    config = load_config(args.config)
    use_endpoint(config.storage)
    return config, Project.read(Path.cwd(), config)


def config_command(args: argparse.Namespace) -> int:
    """Validate the config file and print the settings in force, defaults included."""
    config = load_config(args.config)
    print(f"{args.config}: valid", file=sys.stderr)
    print(config.model_dump_json(indent=2))
    return 0


def storage_command(args: argparse.Namespace) -> int:
    """Reach every place the repository stores things; exit 2 when any cannot be used."""
    from mlci.core.storage import StorageError, UnreachableError, check, locations

    config, project = repository(args)
    failed = 0
    for location in locations(config, project.root):
        try:
            print(f"{location.url} ({location.setting}): {check(location)}")
        except UnreachableError:
            raise  # the locations behind the same service would each wait as long to fail the same way
        except StorageError as error:
            print(f"mlci: error: {error}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


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


def build_command(args: argparse.Namespace) -> int:
    """Build the current model's bento once and store it with its checksum."""
    from mlci.build.bento import build_stored

    config, project = repository(args)
    built = build_stored(config, project, args.version, args.store)
    state = "built and stored" if built.made else "already in the store, nothing built"
    print(f"{project.name} {built.version}: {state}: {built.store} (bento sha256 {built.record['bento_sha256']})")
    print(f"  it {built.serves}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """Serve a stored build until interrupted."""
    from mlci.build.installed import serve_stored

    config, project = repository(args)
    serve_stored(config, project, args.version, args.port, args.host)


def register_command(args: argparse.Namespace) -> int:
    """Register the model of the current commit as the next version."""
    from mlci.core.registry import register

    config, project = repository(args)
    version = register(project.root, config.registry.model, project.model, args.bump)
    print(f"registered {config.registry.model}@{version} (the model of HEAD); build it with `mlci build`")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print the registry: versions with metrics and stages, and what each stage runs."""
    from mlci.deploy.status import status

    config, project = repository(args)
    shown = status(config, project)
    if shown.warning:
        print(f"mlci: warning: {shown.warning}", file=sys.stderr)
    print(shown.text)
    return 0


def promote_command(args: argparse.Namespace) -> int:
    """Assign a stage to a version through the stage order, the gates and the build check."""
    from mlci.deploy.stages import promote_stage
    from mlci.promotion.gates import table

    config, project = repository(args)
    promotion = promote_stage(config, project, args.version, args.to)
    if promotion.checks:
        print(table(promotion.checks))
    assignment = promotion.assignment
    print(f"promoted {assignment.version} to {assignment.stage} ({assignment.tag})")
    if promotion.deployment:
        show_deployment(config, project, promotion.deployment)
    else:
        print(f"deploy it with `mlci deploy {assignment.stage}`")
    return 0


def show_deployment(config: Config, project: Project, deployment: Deployment) -> None:
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
    where = config.monitoring.url_for(stage, project.root)
    if where and declared and not config.monitoring.remote:
        print(f"{stage}: no inference log in the cluster: [monitoring] log is a folder of this machine, set a URL")
    elif where:
        print(f"{stage} logs {config.monitoring.sample:.0%} of its requests to {where}")


def deploy_command(args: argparse.Namespace) -> int:
    """Run the version git assigns to a stage, smoke-tested, keeping the previous one on failure."""
    from mlci.deploy.stages import deploy_stage

    config, project = repository(args)
    show_deployment(config, project, deploy_stage(config, project, args.stage))
    return 0


def image_command(args: argparse.Namespace) -> int:
    """Prepare a stored version's image build context; build and push it, or record an image built elsewhere."""
    from mlci.build.image import make_image
    from mlci.core.store import Store

    config, project = repository(args)
    folder = args.context or Path("build") / "image" / args.version
    made = make_image(Store(config.store.url), project, args.version, folder, args.push, args.record)
    if made.context:
        print(f"{project.name} {made.version}: build context ready and checked in {made.context}")
    if made.image:
        state = "built and pushed" if made.made else "recorded in the store"
        print(f"{project.name} {made.version}: image {made.image} ({state})")
    return 0


def smoke_command(args: argparse.Namespace) -> int:
    """Send the smoke test to a server: the example request answered, a request with no records refused."""
    from mlci.deploy.smoke import answer_problems, ready, smoke_for

    _, project = repository(args)
    url = args.url.rstrip("/")
    if not ready(url):
        print(f"mlci: error: {url} is not ready: /readyz did not answer 200", file=sys.stderr)
        return 1
    problems = answer_problems(url, args.expect_version, smoke_for(project))
    for problem in problems:
        print(f"mlci: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{url}: the example request answered, an invalid request refused with 400")
    return 0


def kind_proof_command(args: argparse.Namespace) -> int:
    """Run a stored version's image through a stage's overlay on a throwaway kind cluster, smoke-tested."""
    from mlci.deploy.kind_proof import prove

    config, project = repository(args)
    proof = prove(config, project, args.version, args.stage)
    print(
        f"{project.name} {proof.version}: {proof.image} rolled out in {proof.namespace} on a kind cluster and "
        f"answered the smoke test at {proof.url} (the cluster is deleted)"
    )
    return 0


def stop_command(args: argparse.Namespace) -> int:
    """Stop what runs for a stage on this machine; git's assignment is left as it is."""
    from mlci.deploy.stages import stop_stage

    config, project = repository(args)
    stopped = stop_stage(config, project, args.stage)
    print(f"{args.stage}: stopped {stopped.version} ({stopped.detail})" if stopped else f"{args.stage}: nothing runs")
    return 0


def rollback_command(args: argparse.Namespace) -> int:
    """Assign a stage back to its previous version, then deploy it."""
    from mlci.deploy.stages import rollback_stage

    config, project = repository(args)
    assignment, deployment = rollback_stage(config, project, args.stage)
    print(f"rolled {assignment.stage} back to {assignment.version} ({assignment.tag})")
    show_deployment(config, project, deployment)
    return 0


def review_command(args: argparse.Namespace) -> int:
    """Write the model review of head against a base ref and the champion."""
    from mlci.review.report import review

    config, project = repository(args)
    written = review(config, project, args.base, args.output)
    if written.warning:
        print(f"mlci: warning: {written.warning}", file=sys.stderr)
    print(written.verdict)
    print(f"the review: {written.markdown} and {written.html}")
    return 0


def drift_command(args: argparse.Namespace) -> int:
    """Judge the logged inputs of each version against its training data; exit 1 on drift."""
    from mlci.monitoring.drift import DriftQuery, check

    config, project = repository(args)
    query = DriftQuery(args.stage, args.log, args.since, args.reference, args.output)
    checked = check(config, project, query)
    for window in checked.too_few:
        print(f"{window.version}: {len(window.inputs)} logged requests, too few to judge; left out")
    print(f"the drift report: {checked.markdown} and {checked.html}")
    if checked.drifted:
        versions = "; ".join(f"{j.window.version}: {', '.join(j.drifted)}" for j in checked.drifted)
        print(f"mlci: drift past the thresholds in {versions}", file=sys.stderr)
        return 1
    print("no drift past the thresholds")
    return 0


def kpi_command(args: argparse.Namespace) -> int:
    """Measure each served version's answers against their outcomes; exit 1 when a KPI is missed."""
    from mlci.monitoring.kpi import KpiQuery, check

    config, project = repository(args)
    checked = check(config, project, KpiQuery(args.stage, args.since, args.output))
    for version in checked.versions:
        state = "; ".join(f"{name} {value:g}" for name, value in version.metrics.items()) or "too few to judge"
        print(f"{version.version}: {version.logged} logged answers, {version.with_outcomes} with outcomes: {state}")
    print(f"the KPI report: {checked.markdown} and {checked.html}")
    if checked.missed:
        missed = "; ".join(f"{v.version}: {', '.join(c.rule for c in v.missed)}" for v in checked.missed)
        print(f"mlci: KPI missed: {missed}", file=sys.stderr)
        return 1
    print("every KPI met" if config.kpi.metrics() else "no KPI is set ([kpi] limit, max_drop): figures only")
    return 0


def shadow_command(args: argparse.Namespace) -> int:
    """Replay a stage's logged requests through a challenger's build and compare the answers."""
    from mlci.monitoring.shadow import ShadowQuery, shadow
    from mlci.core.tables import figure

    config, project = repository(args)
    found, markdown, page = shadow(config, project, ShadowQuery(args.version, args.stage, args.since, args.output))
    print(
        f"{found.challenger} on {found.requests} requests {found.stage} answered with {found.served}: "
        f"{found.agreement:.1%} agree, {found.refused} refused by its contract, {found.outcomes} with outcomes"
    )
    for metric, value in found.served_metrics.items():
        challenger = found.challenger_metrics.get(metric)
        print(f"  {metric}: {found.served} {figure(value)}, {found.challenger} {figure(challenger)}")
    print(f"the shadow report: {markdown} and {page}")
    return 0


def score_command(args: argparse.Namespace) -> int:
    """Score a table with a stored build; rows the contract refuses go to a side file."""
    from mlci.scoring.local import ScoreRequest, score

    config, project = repository(args)
    done = score(config, project, ScoreRequest(args.table, args.output, args.version, args.stage, args.chunk_rows))
    rate = done.rows / max(done.seconds, 1e-9)
    print(
        f"{done.output}: {done.rows - done.refused} rows scored by {done.version} ({rate:,.0f} rows/s); "
        f"{done.refused} refused, with the reason, in {done.refused_file}"
    )
    return 0


def refresh_command(args: argparse.Namespace) -> int:
    """Make the newest labelled data the repository's raw data, tracked by DVC."""
    from mlci.data.refresh import refresh

    config, project = repository(args)
    done = refresh(project.root, config.retrain)
    if done.changed:
        print(
            f"{done.data}: now the data at {done.source} ({done.lines} lines, were {done.lines_before}); "
            "`dvc repro` retrains on it"
        )
    else:
        print(f"{done.data} already holds the data at {done.source}: nothing to retrain on")
    return 0


def adopt_command(args: argparse.Namespace) -> int:
    """Make a table the repository's data and rewrite what depends on it."""
    from mlci.data.adopt import adopt, describe

    config, project = repository(args)
    print(describe(adopt(config, project, args.table, args.target, args.task)))
    return 0


def template_status_command(args: argparse.Namespace) -> int:
    """Say how far behind its template the repository is; exit 0 either way, 2 when that cannot be told."""
    from mlci.template.upstream import behind

    standing = behind(Path.cwd(), args.ref)
    if standing.commits:
        print(
            f"the template has {standing.commits} commit(s) this repository has not taken "
            f"({standing.recorded[:12]} → {standing.latest[:12]} of {standing.template}): "
            "`nox -s template-update` brings them as a change to review"
        )
    else:
        print(f"up to date with the template ({standing.latest[:12]} of {standing.template})")
    return 0


def template_update_command(args: argparse.Namespace) -> int:
    """Bring the template's newest changes into the working tree, uncommitted; exit 1 on a conflict."""
    from mlci.template.upstream import update

    updated = update(Path.cwd(), args.ref)
    if not updated.changed:
        print(f"already up to date with the template ({updated.latest[:12]} of {updated.template}): nothing changed")
        return 0
    print(f"the template's changes {updated.recorded[:12]} → {updated.latest[:12]} of {updated.template}, to review:")
    print("\n".join(f"  {path}" for path in updated.changed))
    return 0


def since(text: str) -> datetime:
    """A command-line age (`30m`, `24h`, `7d`) as the moment that long ago."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    amount, unit = text[:-1], text[-1:]
    if unit not in units or not amount.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an age: give a whole number and m, h or d, e.g. 7d")
    return datetime.now(UTC) - timedelta(**{units[unit]: int(amount)})


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
    config_parser = commands.add_parser("config", help="validate the config file and print its settings")
    config_parser.set_defaults(handler=config_command)
    storage_parser = commands.add_parser(
        "storage",
        help="reach the DVC remote, the artifact store, the inference log and the data source once",
        description="Checks that each bucket exists and that the credentials in the environment may list it, "
        "through [storage] endpoint or AWS_ENDPOINT_URL when set. Exit 2 names each location that fails and what "
        "to check.",
    )
    storage_parser.set_defaults(handler=storage_command)

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
    build_parser = commands.add_parser(
        "build",
        help="build the current model's bento once and keep it in the artifact store",
        description="Build the bento of the model dvc.lock records and store it with its checksum. "
        "A version already built from the same model is left as it is.",
    )
    build_parser.add_argument(
        "version", nargs="?", help="the version to build (default: HEAD's registered version, else git-<commit>)"
    )
    build_parser.add_argument(
        "--store", metavar="URL", help="build into this store instead of mlci.toml's (CI checks a build this way)"
    )
    build_parser.set_defaults(handler=build_command)
    serve_parser = commands.add_parser("serve", help="serve a stored build (not the working tree) over HTTP")
    serve_parser.add_argument("version", nargs="?", help="the stored version (default: HEAD's, as for build)")
    serve_parser.add_argument("--port", type=int, default=3000, help="the port to listen on (default: 3000)")
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this machine only)"
    )
    serve_parser.set_defaults(handler=serve_command)
    add_registry_commands(commands)
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
    review_parser.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )
    review_parser.set_defaults(handler=review_command)
    drift_parser = commands.add_parser(
        "drift",
        help="judge logged inference inputs against the training data (exit 1 on drift)",
        description="Reads a stage's inference log (JSON Lines: timestamp, model_version, inputs, prediction), "
        "and judges each version's requests against that version's training data ([drift] reference, through "
        "DVC), feature by feature. Exit 1: drift past [drift] psi_threshold or a category unseen in training; "
        "3: a log missing, empty or too small; 4: a version the registry does not know.",
    )
    drift_parser.add_argument(
        "--stage", help="the stage whose log to judge, under [monitoring] log (default: the last stage)"
    )
    drift_parser.add_argument("--log", metavar="URL", help="judge this .jsonl file, or folder or URL of them, instead")
    drift_parser.add_argument(
        "--since", type=since, metavar="AGE", help="only requests of the last AGE: 30m, 24h or 7d (default: all)"
    )
    drift_parser.add_argument("--reference", type=Path, metavar="CSV", help="judge against this file instead")
    drift_parser.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )
    drift_parser.set_defaults(handler=drift_command)
    add_after_deployment_commands(commands)
    refresh_parser = commands.add_parser(
        "refresh",
        help="replace the raw data with the newest labelled data ([retrain] source), tracked by DVC",
        description="Copies [retrain] source over [retrain] data and runs `dvc add`, so that `dvc repro` "
        "retrains on it. Data equal to what the repository holds changes nothing.",
    )
    refresh_parser.set_defaults(handler=refresh_command)
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
    adopt_parser.set_defaults(handler=adopt_command)
    add_template_commands(commands)
    return parser


def add_window_arguments(parser: argparse.ArgumentParser, stage: str, logged: str) -> None:
    """--stage, --since and --output: which stage's log, which part of it, and where the report goes."""
    parser.add_argument("--stage", help=f"the stage {stage} (default: the last stage)")
    parser.add_argument(
        "--since", type=since, metavar="AGE", help=f"only {logged} of the last AGE: 30m, 24h or 7d (default: all)"
    )
    parser.add_argument(
        "--output", type=Path, default=Path("reports"), metavar="DIR", help="where to write it (default: reports)"
    )


def add_after_deployment_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """kpi, shadow and score: what a deployed model's answers are worth, and scoring without a server."""
    kpi_parser = commands.add_parser(
        "kpi",
        help="measure each served version's answers against their outcomes, against [kpi] (exit 1: a KPI missed)",
        description="Joins a stage's inference log with the outcomes under [kpi] outcomes (tables of record ids "
        "and true targets), measures each version with [contract] outcome_metrics, and judges [kpi] limit and "
        "max_drop. Writes kpi.md, kpi.html and kpi.json. Exit 1: a KPI missed; 3: a log missing or empty, or "
        "fewer outcomes than [kpi] min_outcomes for every version.",
    )
    add_window_arguments(kpi_parser, "whose answers to measure", "answers")
    kpi_parser.set_defaults(handler=kpi_command)
    shadow_parser = commands.add_parser(
        "shadow",
        help="replay a stage's logged requests through a challenger's stored build, and compare",
        description="The stage is never called: its logged requests, answered by the version it holds, are "
        "answered again by VERSION's stored build (checked like any load) in this process. Reports how often "
        "the two agree and, where outcomes exist, both versions' metrics on the same requests. Exit 3: nothing "
        "logged to replay.",
    )
    shadow_parser.add_argument("version", help="the challenger: a stored version, such as v0.1.3")
    add_window_arguments(shadow_parser, "whose traffic to replay", "requests")
    shadow_parser.set_defaults(handler=shadow_command)
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


def add_template_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """template-status and template-update: the template this repository was generated from."""
    status_parser = commands.add_parser(
        "template-status",
        help="say how many template commits this repository has not taken (never fails on that)",
        description="Reads .cruft.json (written at generation) and counts the template's commits since.",
    )
    status_parser.add_argument("--ref", help="compare with this branch, tag or commit (default: its HEAD)")
    status_parser.set_defaults(handler=template_status_command)
    update_parser = commands.add_parser(
        "template-update",
        help="bring the template's changes into the working tree, uncommitted, for review",
        description="Renders this repository's answers at the recorded template commit and at the newest one "
        "(cruft) and merges the difference into the working tree with git. A file both sides changed keeps "
        "the conflict markers, and the command exits 1 naming it. Answers are kept in .cruft.json.",
    )
    update_parser.add_argument("--ref", help="update to this branch, tag or commit (default: its HEAD)")
    update_parser.set_defaults(handler=template_update_command)


def add_registry_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """register, status, promote, deploy and rollback: the registry in git and the stages it drives."""
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
    image_parser = commands.add_parser(
        "image",
        help="a stored version's container image: its build context, built and pushed once, its digest recorded",
        description="Unpacks the stored bento (checked against its checksum) as a build context, and checks the "
        "Dockerfile BentoML wrote into it: entrypoint, port, non-root user, the contract's service. With --push, "
        "builds it with docker or podman, pushes it and records its digest beside the bento's checksum; a version "
        "that has an image already keeps it. With --record, records an image built elsewhere.",
    )
    image_parser.add_argument("version", help="a stored version, such as v0.1.2")
    image_parser.add_argument("--context", type=Path, metavar="DIR", help="default: build/image/VERSION")
    chosen = image_parser.add_mutually_exclusive_group()
    chosen.add_argument("--push", metavar="REPOSITORY", help="build and push to this repository, e.g. ghcr.io/o/n")
    chosen.add_argument("--record", metavar="IMAGE@DIGEST", help="record this image, built and pushed elsewhere")
    image_parser.set_defaults(handler=image_command)
    smoke_parser = commands.add_parser(
        "smoke",
        help="smoke-test a running server at a URL (exit 1 on failure)",
        description="Sends the example request ([contract] example), which must get 200, and a request with no "
        "records, which must get 400: what every deploy checks, for a server mlci did not start.",
    )
    smoke_parser.add_argument("url", help="the server's address, e.g. http://127.0.0.1:8080")
    smoke_parser.add_argument("--expect-version", metavar="VERSION", help="the version every answer must name")
    smoke_parser.set_defaults(handler=smoke_command)
    kind_parser = commands.add_parser(
        "kind-proof",
        help="run a stored version's image through a stage's overlay on a throwaway kind cluster (exit 0: it served)",
        description="Builds the image from the stored bento, creates a kind cluster, loads the image, applies the "
        "stage's overlay with that image, waits for the rollout, and sends the smoke test through a port-forward. "
        "Needs docker (with a running engine), kind and kubectl; the cluster is deleted at the end.",
    )
    kind_parser.add_argument("version", help="a stored version, such as v0.1.2")
    kind_parser.add_argument("--stage", default="staging", help="whose overlay to apply (default: staging)")
    kind_parser.set_defaults(handler=kind_proof_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake, or a file the machine refuses, ends with a message and exit code 2,
    never a traceback."""
    args = command_line().parse_args(argv)
    handler: Handler = args.handler
    try:
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
