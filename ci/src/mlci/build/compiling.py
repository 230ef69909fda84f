"""A build's compiled model: the serving runtime compiles the repository's model, and says whether it kept it.

`python -m mlci_serving.compile` runs in the repository's environment (it imports the package's schema and
unpickles the model): it writes the output only when the compiled model answers the prepared tables (`[drift]
reference` and `[gates] holdout`, the train and test sets) as the trained one does, and prints what it did as
one JSON line. Anything else (a crash, other output) leaves the build serving the trained model, and the
summary says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlci.core.repository import Repository
from mlci.core.runner import CommandError, run
from mlci.core.store import sha256

TRAINED = "serves the trained (scikit-learn) model"
COMPILE_MODULE = "mlci_serving.compile"


@dataclass(frozen=True)
class Compiled:
    """The compiled model's checksum ("" when there is none) and what the build serves, said in a line."""

    sha256: str
    summary: str


def compile_into(repository: Repository, output: Path) -> Compiled:
    """Have the runtime compile the model into `output`; what the build will serve, and why."""
    project, config = repository.project, repository.config
    checks = [argument for table in (config.drift.reference, config.gates.holdout) for argument in ("--check", table)]
    command = [str(output), "--schema", f"{project.package}.schema", "--model", str(project.model), *checks]
    try:
        said = run("python", "-m", COMPILE_MODULE, *command, cwd=project.root)
        report = json.loads(said.strip().splitlines()[-1])
        kept = bool(report["compiled"])
    except (CommandError, ValueError, IndexError, KeyError, TypeError) as error:
        return Compiled("", f"{TRAINED}: compiling it failed: {error}")
    if not kept or not output.is_file():
        return Compiled("", f"{TRAINED}: not compiled: {report.get('reason', 'no file written')}")
    return Compiled(
        sha256(output),
        f"serves the compiled (ONNX) model: {report.get('rows_checked', '?')} rows answered as the trained model"
        f" does, to within {report.get('largest_difference', float('nan')):.1g}",
    )
