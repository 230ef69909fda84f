"""The repository's DVC experiments as `dvc exp show --json` reports them: one record each, with its state."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlci.core.runner import run
from mlci.experiments.grid import PARAMS_FILE

OUTPUT_GONE = "its output is gone (the queue was cleared)"
LOG_LINES_SHOWN = 4  # of a failed experiment's output, the last lines (where the reason is)


@dataclass(frozen=True)
class Experiment:
    """One experiment, or a baseline commit it was run on (`experiment` False)."""

    name: str
    rev: str
    baseline: str
    state: str  # "success", "failed", "queued" or "running"
    params: dict[str, Any] = field(default_factory=dict)  # params.yaml's keys, dotted
    metrics: dict[str, float] = field(default_factory=dict)
    model_md5: str | None = None
    reason: str = ""  # a failed experiment's last lines of output
    experiment: bool = True


def flattened(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict) and value:
            flat.update(flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


SETUP_FAILED = re.compile(r"raised unexpected: (.+)$", re.MULTILINE)


def setup_failure(root: Path) -> str:
    """What DVC's queue workers said when an experiment could not be set up, the last time one could not."""
    said = [
        m
        for path in sorted((root / ".dvc/tmp/exps/celery").glob("*.out"))
        for m in SETUP_FAILED.findall(path.read_text(encoding="utf-8", errors="replace"))
    ]
    if not said:
        return OUTPUT_GONE
    return f"DVC could not set it up: {said[-1]}"


def failure_reason(executor: dict[str, Any] | None, fallback: str) -> str:
    log = ((executor or {}).get("local") or {}).get("log")
    try:
        text = Path(str(log)).read_text(encoding="utf-8", errors="replace") if log else ""
    except OSError:
        text = ""
    lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not lines:
        return fallback
    # the stage's own last words, then DVC's line naming the stage that failed
    own = [line for line in lines if not line.startswith("ERROR:")]
    return " / ".join(own[-LOG_LINES_SHOWN:] + [line for line in lines if line.startswith("ERROR:")][-1:])


def record(
    revision: dict[str, Any], baseline: str, model: Path, executor: dict[str, Any] | None, fallback: str = OUTPUT_GONE
) -> Experiment:
    data = revision.get("data") or {}
    params = flattened(((data.get("params") or {}).get(PARAMS_FILE) or {}).get("data") or {})
    metrics: dict[str, float] = {}
    for figures in (data.get("metrics") or {}).values():
        metrics.update({k: v for k, v in (figures.get("data") or {}).items() if isinstance(v, int | float)})
    outs = (data.get("outs") or {}).get(model.as_posix()) or {}
    state = (executor or {}).get("state") or ("failed" if revision.get("error") else "success")
    reason = failure_reason(executor, fallback) if state == "failed" else ""
    name = revision.get("name") or revision["rev"][:7]
    return Experiment(name, revision["rev"], baseline, state, params, metrics, outs.get("hash"), reason)


def experiments(root: Path, model: Path, every_baseline: bool = False) -> list[Experiment]:
    """The experiments of HEAD's baseline (or of every commit), each baseline first, newest experiment first."""
    shown = json.loads(run("dvc", "exp", "show", "--json", *(["--all-commits"] if every_baseline else []), cwd=root))
    found = []
    fallback = setup_failure(root)
    for baseline in shown:
        if baseline.get("rev") == "workspace":
            continue
        found.append(replace(record(baseline, baseline["rev"], model, None), experiment=False))
        for entry in baseline.get("experiments") or []:
            for revision in entry.get("revs") or []:
                found.append(record(revision, baseline["rev"], model, entry.get("executor"), fallback))
    return found
