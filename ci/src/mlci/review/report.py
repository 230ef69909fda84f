"""`mlci review`: one report saying whether head makes the model better, against a base ref and the champion.

Written as `review.md` (GitHub-flavoured, Mermaid charts inline: a pull-request comment needs no image hosting)
and `review.html` (self-contained), with the plots as PNG files beside them. What cannot be compared is said
in the report, which is written whatever is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from mlci.core.config import Config
from mlci.core.document import Block, Chart, Heading, Items, Paragraph, Table, to_html, to_markdown
from mlci.core.errors import MlciError
from mlci.core.git import git
from mlci.core.registry import try_sync
from mlci.core.repository import Repository
from mlci.core.runner import CommandError
from mlci.core.tables import figure
from mlci.data.suites import discover
from mlci.monitoring.psi import feature_changes
from mlci.review import charts
from mlci.review.comparison import MetricRow, metric_rows, param_changes, verdict
from mlci.review.revisions import Layout, Revision, read_revision

# Ends the review's Markdown, unseen on GitHub: the workflow edits the comment holding it, and no other.
REVIEW_MARKER = "<!-- mlci:model-review -->"


@dataclass(frozen=True)
class Written:
    """The report's files, its verdict line, and a warning when origin's registry could not be fetched."""

    markdown: Path
    html: Path
    verdict: str
    warning: str | None = None


def layout(repository: Repository) -> Layout:
    config, project = repository.config, repository.project
    suites = discover(project.root / config.validation.suites)
    return Layout(
        project.root, project.metrics, Path("params.yaml"), Path(config.validation.report), project.plots, suites
    )


def resolve(root: Path, ref: str) -> str | None:
    """The commit a ref names, or None when git knows no such ref."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except CommandError:
        return None


def unknown_ref(root: Path, ref: str) -> str:
    """What to do about a base ref git does not know, with the likeliest reason."""
    remote = ref.split("/", 1)[0] if "/" in ref else None
    try:
        remotes = git(root, "remote").split()
    except CommandError:
        remotes = []
    if remote and remote not in remotes:
        return (
            f"git knows no ref {ref!r}: this repository has no remote {remote!r} "
            f"(add it with `git remote add {remote} URL` and `git fetch {remote}`), "
            "or compare with a local branch instead, e.g. --base main"
        )
    return f"git knows no ref {ref!r}: fetch it (`git fetch origin`) or name another with --base"


def summary(rows: list[MetricRow], champion: str | None) -> Paragraph:
    """The one-line verdict: head against base, and the gates."""
    changed = [f"{row.name} {figure(row.delta, signed=True)}" for row in rows if row.delta]
    failing = [f"{row.name} {row.gate.removeprefix('FAIL ')}" for row in rows if row.gate.startswith("FAIL")]
    warned = [row.gate.partition("WARN (")[2].rstrip(")") for row in rows if "WARN (" in row.gate]
    applies = any(row.gate != "-" for row in rows)
    gates = f"gates **FAIL**: {'; '.join(failing)}" if failing else ("gates **pass**" if applies else "no gate applies")
    if warned:
        gates += f" (**WARN**: {'; '.join(warned)})"
    against = f" (checked against the champion {champion})" if champion else ""
    detail = f" ({', '.join(changed)})" if changed else ""
    return Paragraph(f"**Verdict: {verdict(rows)}**{detail}; {gates}{against}.")


def metrics_table(rows: list[MetricRow], champion: str | None) -> Table:
    return Table(
        ["metric", "better", "base", "head", f"champion {champion}" if champion else "champion", "head - base", "gate"],
        [
            [
                row.name,
                row.direction or "?",
                figure(row.base),
                figure(row.head),
                figure(row.champion),
                figure(row.delta, True),
                row.gate,
            ]
            for row in rows
        ],
    )


def params_blocks(base: Revision, head: Revision) -> list[Block]:
    changes = param_changes(base.params, head.params)
    if base.params is None or head.params is None:
        return [Paragraph("Params cannot be compared: see what is missing below.")]
    if not changes:
        return [Paragraph("No param changed.")]
    return [Table(["param", "base", "head"], [list(change) for change in changes])]


def data_blocks(config: Config, base: Revision, head: Revision) -> list[Block]:
    blocks: list[Block] = []
    suites = (head.validation or {}).get("suites", [])
    if not suites:
        blocks.append(Paragraph(f"Head has no validation results ({config.validation.report}): run `mlci validate`."))
    items = []
    for suite in suites:
        if suite.get("error"):
            items.append(f"**FAIL** `{suite['suite']}` ({suite['data']}): {suite['error']}")
        elif suite["failures"]:
            names = "; ".join(f"{f['column'] or 'table'}: {f['expectation']} ({f['found']})" for f in suite["failures"])
            items.append(f"**FAIL** `{suite['suite']}` ({suite['data']}): {names}")
        else:
            items.append(f"pass `{suite['suite']}` ({suite['data']}): {suite['evaluated']} expectations hold")
    if items:
        blocks += [Paragraph("Data validation of head:"), Items(items)]
    threshold = config.drift.psi_threshold
    for name, new in head.data.items():
        old = base.data.get(name)
        if old is None:
            continue
        rows = []
        for change in feature_changes(old, new):
            reasons = [f"PSI > {threshold:g}"] if change.psi > threshold else []  # NaN is never above
            reasons += [f"new: {', '.join(change.new_categories)}"] if change.new_categories else []
            notes = [f"drifted ({'; '.join(reasons)})"] if change.drifted(threshold) else []
            notes += [f"only in {change.only_in}"] if change.only_in else []
            notes += [change.novel] if change.novel else []
            psi = "-" if math.isnan(change.psi) else f"{change.psi:.3f}"
            rows.append([change.name, change.kind, change.base, change.head, change.missing, psi, "; ".join(notes)])
        blocks.append(Paragraph(f"`{name}`: {len(old)} rows in base, {len(new)} in head."))
        blocks.append(Table(["feature", "kind", "base", "head", "missing", "PSI", "note"], rows))
    return blocks


def plot_blocks(base: Revision, head: Revision, layout: Layout, folder: Path) -> list[Block]:
    blocks: list[Block] = []
    for path, spec in layout.plots.items():
        sides = {
            label: revision.plots[path]
            for label, revision in (("base", base), ("head", head))
            if path in revision.plots
        }
        if not sides:
            continue
        plot = charts.PlotSpec(path, spec.get("x", "x"), spec.get("y", "y"), spec.get("template", "linear"))
        name = f"review-{Path(path).stem}.png"
        charts.png(plot, sides, folder / name)
        if plot.confusion:
            mermaid = charts.mermaid_recall(plot, sides)
        elif plot.scatter:
            mermaid = charts.mermaid_scatter(plot, sides)
        else:
            mermaid = charts.mermaid_curve(plot, sides)
        every = "every point" if plot.scatter else "every class"
        caption = f"`{path}`: {' and '.join(sides)}; {every} in the HTML report's image."
        blocks.append(Chart(caption, mermaid, name))
        if plot.confusion:
            blocks += confusion_tables(plot, sides)
    return blocks


def confusion_tables(plot: charts.PlotSpec, sides: dict[str, pd.DataFrame]) -> list[Block]:
    """Each side's confusion matrix as a table: rows are the actual class, columns the predicted one."""
    blocks: list[Block] = []
    for label, frame in sides.items():
        matrix = charts.square(frame, plot)
        blocks.append(Paragraph(f"Confusion matrix of {label} (rows: {plot.x}, columns: {plot.y}):"))
        rows = [[str(actual), *(str(count) for count in matrix.loc[actual])] for actual in matrix.index]
        blocks.append(Table([f"{plot.x} \\ {plot.y}", *(str(c) for c in matrix.columns)], rows))
    return blocks


def champion_revision(repository: Repository, layout: Layout) -> tuple[str | None, Revision | None]:
    """The version the last stage holds, read at its commit; none when no version holds it."""
    registry = repository.registry()
    name = registry.holder(repository.stage(None))
    if name is None:
        return None, None
    return name, read_revision(layout, f"champion {name}", registry.version(name).commit)


REPLAY_DAYS = 7  # the review replays the last week of the champion's logged requests


def live_blocks(repository: Repository, champion: str | None) -> list[Block]:
    """Head replayed on the requests the champion answered in the last week, when the last stage logged any."""
    from mlci.build.loaded import working_tree_build
    from mlci.monitoring.log import NothingToJudgeError, read_log_entries
    from mlci.monitoring.shadow import blocks, replay

    config, project = repository.config, repository.project
    stage = repository.stage(None)
    log = config.monitoring.url_for(stage, project.root)
    if log is None or champion is None:
        return [Paragraph(f"No live traffic to replay: {stage} {'logs nothing' if champion else 'holds no version'}.")]
    model = project.root / project.model
    since = datetime.now(UTC) - timedelta(days=REPLAY_DAYS)
    try:
        if not model.is_file():
            raise MlciError(f"head has no {project.model}: run `nox -s repro`")
        logged = read_log_entries(log, since)
        found = replay(repository, logged.entries, stage, champion, working_tree_build(repository, model, "head"))
    except NothingToJudgeError as error:
        return [Paragraph(f"No live traffic to replay in the last {REPLAY_DAYS} days: {error}")]
    except MlciError as error:
        return [Paragraph(f"Head is not replayed on live traffic: {error}")]
    return [*([Paragraph(f"**Warning**: {logged.warning}.")] if logged.warning else []), *blocks(found, config)]


def review(repository: Repository, ref: str, folder: Path) -> Written:
    """Compare head (the working tree) with `ref` and the champion, and write the report into `folder`."""
    config, project = repository.config, repository.project
    synced = try_sync(project.root)
    where = layout(repository)
    commit = resolve(project.root, ref)
    base = read_revision(where, f"base {ref}", commit) if commit else Revision(f"base {ref}", None)
    if commit is None:
        base.missing.append(unknown_ref(project.root, ref))
    head = read_revision(where, "head", None)
    champion_name, champion = champion_revision(repository, where)
    rows = metric_rows(
        base.metrics, head.metrics, champion.metrics if champion else None, config, champion_name or "the champion"
    )
    folder.mkdir(parents=True, exist_ok=True)
    base_line = f"`{ref}` ({commit[:12]})" if commit else f"`{ref}` (unknown)"
    verdict_line = summary(rows, champion_name)
    blocks: list[Block] = [
        Heading(f"Model review of {project.name}: head against {base_line}"),
        verdict_line,
        Heading("Metrics", 3),
        metrics_table(rows, champion_name),
        Paragraph("Gates here use committed metrics; `mlci promote` re-scores both models on the same held-out data."),
        Heading("Params", 3),
        *params_blocks(base, head),
        Heading("Data", 3),
        *data_blocks(config, base, head),
        Heading("Plots", 3),
        *plot_blocks(base, head, where, folder),
        Heading(f"Live traffic: head against {champion_name or 'the champion'}", 3),
        *live_blocks(repository, champion_name),
    ]
    missing = [*base.missing, *head.missing, *(champion.missing if champion else [])]
    if champion is None:
        missing.append(f"no version holds {config.registry.stages[-1]} yet: there is no champion to compare with")
    if missing:
        blocks += [Heading("Not compared", 3), Items(missing)]
    markdown, page = folder / "review.md", folder / "review.html"
    markdown.write_text(to_markdown(blocks) + f"\n{REVIEW_MARKER}\n", encoding="utf-8")
    page.write_text(to_html(blocks, f"Model review of {project.name}", folder), encoding="utf-8")
    if commit is None:
        raise MlciError(
            f"{base.missing[0]}; the report compares nothing with it",
            report=f"the incomplete review: {markdown} and {page}",
        )
    warning = f"the champion's registry: {synced}" if synced else None
    return Written(markdown, page, verdict_line.text.replace("**", ""), warning)
