"""`mlci refresh`: the newest labelled data becomes the repository's raw data, tracked by DVC, before retraining.

The data is copied from `[retrain] source` (a file in a folder or at any fsspec URL) over `[retrain] data`,
and `dvc add` records its new checksum. A validation failure then stops the retraining run at the pipeline's
first stage, as for any change of the data.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlci.core.errors import MlciError
from mlci.core.runner import CommandError, run
from mlci.core.settings import Retrain
from mlci.core.storage import SOURCE_SETTING, Location, filesystem, reaching, require_bucket
from mlci.core.store import sha256


class RefreshError(MlciError):
    """No data at the source, or a target DVC does not track."""


@dataclass(frozen=True)
class Refreshed:
    """The tracked data after a refresh: its line counts before and after, and whether it changed."""

    data: str
    source: str
    lines: int
    lines_before: int
    changed: bool


def refresh(root: Path, settings: Retrain) -> Refreshed:
    """Replace the tracked raw data with the source's, if it differs."""
    if not settings.source:
        raise RefreshError("[retrain] source is not set in mlci.toml: set it to where newly labelled data lands")
    if not settings.data:
        raise RefreshError("[retrain] data is not set in mlci.toml: set it to the DVC-tracked table to replace")
    target = root / settings.data
    if not target.with_name(f"{target.name}.dvc").is_file():
        raise RefreshError(f"{settings.data} is not tracked by DVC (no {settings.data}.dvc): set [retrain] data")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".refresh-") as scratch:
        fresh, kept = Path(scratch) / "fresh", Path(scratch) / "kept"
        download(settings.source, fresh)
        if target.is_file() and sha256(fresh) == sha256(target):
            lines = line_count(target)
            return Refreshed(settings.data, settings.source, lines, lines, changed=False)
        before = line_count(target) if target.is_file() else 0
        if target.is_file():
            os.replace(target, kept)
        os.replace(fresh, target)
        try:
            run("dvc", "add", settings.data, cwd=root)
        except CommandError as error:
            if kept.is_file():
                os.replace(kept, target)  # nothing half-done: the old data stays
            raise RefreshError(f"dvc add {settings.data} failed, the data is unchanged:\n{error.output}") from None
    return Refreshed(settings.data, settings.source, line_count(target), before, changed=True)


def download(source: str, destination: Path) -> None:
    """Copy the source's data to a local file."""
    fs, path = filesystem(source)
    with reaching(source, SOURCE_SETTING):
        if not fs.isfile(path):
            require_bucket(Location(source, SOURCE_SETTING))
            raise RefreshError(f"{source}: no data there: put the newest labelled data there first")
        fs.get_file(path, str(destination))


def line_count(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file)
