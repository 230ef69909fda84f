"""`mlci drift`, `kpi` and `shadow`: a stage's logged traffic judged against its training data, its outcomes,
and a challenger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlci.cli.common import Commands, add_output, add_window_arguments, repository, since


def drift_command(args: argparse.Namespace) -> int:
    """Judge the logged inputs of each version against its training data; exit 1 on drift."""
    from mlci.monitoring.drift import DriftQuery, check

    query = DriftQuery(args.stage, args.log, args.since, args.reference, args.output)
    checked = check(repository(args), query)
    if checked.warning:
        print(f"mlci: warning: {checked.warning}", file=sys.stderr)
    for window in checked.too_few:
        print(f"{window.version}: {len(window.inputs)} logged requests, too few to judge; left out")
    for judgement in checked.judgements:
        verdict = f"drift in {', '.join(judgement.drifted)}" if judgement.drifted else "no drift"
        print(f"{judgement.window.version}: {len(judgement.window.inputs)} logged requests judged: {verdict}")
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

    opened = repository(args)
    checked = check(opened, KpiQuery(args.stage, args.since, args.output))
    if checked.warning:
        print(f"mlci: warning: {checked.warning}", file=sys.stderr)
    for version in checked.versions:
        state = "; ".join(f"{name} {value:g}" for name, value in version.metrics.items()) or "too few to judge"
        print(f"{version.version}: {version.logged} logged answers, {version.with_outcomes} with outcomes: {state}")
    print(f"the KPI report: {checked.markdown} and {checked.html}")
    if checked.missed:
        missed = "; ".join(f"{v.version}: {', '.join(c.rule for c in v.missed)}" for v in checked.missed)
        print(f"mlci: KPI missed: {missed}", file=sys.stderr)
        return 1
    print("every KPI met" if opened.config.kpi.metrics() else "no KPI is set ([kpi] limit, max_drop): figures only")
    return 0


def shadow_command(args: argparse.Namespace) -> int:
    """Replay a stage's logged requests through a challenger's build and compare the answers."""
    from mlci.core.tables import figure
    from mlci.monitoring.shadow import ShadowQuery, shadow

    found, markdown, page = shadow(repository(args), ShadowQuery(args.version, args.stage, args.since, args.output))
    print(
        f"{found.challenger} on {found.requests} requests {found.stage} answered with {found.served}: "
        f"{found.agreement:.1%} agree, {found.refused} refused by its contract, {found.outcomes} with outcomes"
    )
    for metric, value in found.served_metrics.items():
        challenger = found.challenger_metrics.get(metric)
        print(f"  {metric}: {found.served} {figure(value)}, {found.challenger} {figure(challenger)}")
    print(f"the shadow report: {markdown} and {page}")
    return 0


def add(commands: Commands) -> None:
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
    add_output(drift_parser)
    drift_parser.set_defaults(handler=drift_command)
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
