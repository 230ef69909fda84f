"""The `mlci` command: one subcommand per step of a generated repository's life cycle."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mlci import __version__
from mlci.build import BuildError, Project, build, commit_version
from mlci.config import CONFIG_FILE, ConfigError, load_config
from mlci.serve import serve
from mlci.store import Store, StoreError
from mlci.suites import SuiteError, discover, select
from mlci.validation_report import summary, write_record

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


def build_target(args: argparse.Namespace) -> tuple[Project, Store, str]:
    """The repository, its artifact store, and the version named (default: the commit of a clean tree)."""
    config = load_config(args.config)
    project = Project.read(Path.cwd(), config.registry.model)
    return project, Store(config.store.url), args.version or commit_version(project.root)


def build_bento(args: argparse.Namespace) -> int:
    """Build the current model's bento once and store it with its checksum."""
    project, store, version = build_target(args)
    record, made = build(project, store, version)
    state = "built and stored" if made else "already in the store, nothing built"
    print(f"{project.name} {version}: {state}: {store.url} (bento sha256 {record['bento_sha256']})")
    return 0


def serve_build(args: argparse.Namespace) -> int:
    """Serve a stored build until interrupted."""
    project, store, version = build_target(args)
    return serve(store, project.name, version, args.port)


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
    make.add_argument("version", nargs="?", help="the version to build (default: git-<commit>, on a clean tree)")
    make.set_defaults(handler=build_bento)
    run = commands.add_parser("serve", help="serve a stored build (not the working tree) over HTTP")
    run.add_argument("version", nargs="?", help="the stored version (default: git-<commit>)")
    run.add_argument("--port", type=int, default=3000, help="the port to listen on (default: 3000)")
    run.set_defaults(handler=serve_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake ends with a message and exit code 2, never a traceback."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (ConfigError, SuiteError, BuildError, StoreError) as error:
        print(f"mlci: error: {error}", file=sys.stderr)
        return 2
