"""A build's compiled model: the repository's package compiles its own model, and says whether it kept it.

The package knows its model, so `python -m <package>.compile OUTPUT` (in the repository's environment) does
the work: it writes OUTPUT only when the compiled model answers as the trained one does, and prints what it
did as one JSON line. Anything else (no such module, a crash, other output) leaves the build serving the
trained model, and the summary says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlci.core.project import Project
from mlci.core.runner import CommandError, run
from mlci.core.store import sha256

TRAINED = "serves the trained (scikit-learn) model"


@dataclass(frozen=True)
class Compiled:
    """The compiled model's checksum ("" when there is none) and what the build serves, said in a line."""

    sha256: str
    summary: str


def compiled_path(model: Path) -> Path:
    """Where a build keeps the compiled model: beside the trained one (the service reads it there)."""
    return model.with_suffix(".onnx")


def compile_into(project: Project, output: Path) -> Compiled:
    """Have the package compile the model into `output`; what the build will serve, and why."""
    if not (project.root / "src" / project.package / "compile.py").is_file():
        return Compiled("", f"{TRAINED}: src/{project.package} has no compile module (`nox -s template-update`)")
    try:
        said = run("python", "-m", f"{project.package}.compile", str(output), cwd=project.root)
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
