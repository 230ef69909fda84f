"""Files DVC tracks, as they were at another commit: read from the DVC cache or the remote, never the working tree.

What is read is checked against the checksum git records for it at that commit (in `dvc.lock`, or the file's own
`.dvc` file): DVC does not check the bytes it serves from its cache or remote, and a model is code once unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlci.core.errors import MlciError
from mlci.core.git import git
from mlci.core.runner import CommandError
from mlci.core.store import digest


class TrackedFileError(MlciError):
    """A DVC-tracked file that cannot be had at a commit."""


def fetch_at(root: Path, path: Path, commit: str, destination: Path) -> Path:
    """Copy `path` as it was at `commit` into `destination/<commit12>/`; the copy's path."""
    try:
        import dvc.api  # imports in about a second: only the commands reading other commits pay for it
    except ImportError:
        raise TrackedFileError("mlci reads files of other commits through DVC: install dvc beside mlci") from None

    target = destination / commit[:12] / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with dvc.api.open(path.as_posix(), repo=str(root), rev=commit, mode="rb") as source:
            target.write_bytes(source.read())
    except Exception as error:  # DVC raises many kinds; each means the file cannot be had
        raise TrackedFileError(
            f"cannot fetch {path} at {commit[:12]} from DVC: {error}; is it pushed to the remote?"
        ) from None
    expected, actual = recorded_md5(root, path, commit), md5(target)
    if expected is None:
        target.unlink()
        raise TrackedFileError(
            f"{path} at {commit[:12]}: git records no checksum for it (neither dvc.lock nor {path}.dvc names it), "
            "so the bytes DVC serves cannot be checked and were not used: track it with DVC at that commit"
        )
    if actual != expected:
        target.unlink()
        raise TrackedFileError(
            f"{path} at {commit[:12]}: DVC served bytes other than those git records (md5 {actual}, recorded "
            f"{expected}), so they were not used. The DVC cache or remote holds a damaged or replaced copy under "
            f"that checksum: delete files/md5/{expected[:2]}/{expected[2:]} from .dvc/cache and from the remote, "
            "then push the right file again from a clone that has it"
        )
    return target


def md5(path: Path) -> str:
    """DVC's checksum of a file."""
    return digest(path, "md5")


def locked_md5s(records: Any, path: Path) -> list[str]:
    """The md5 values a `dvc.lock` (or `.dvc` file), as parsed YAML, records for `path`."""
    outs = [out for stage in (records or {}).get("stages", {}).values() for out in stage.get("outs", [])]
    outs += (records or {}).get("outs", [])
    return [str(out["md5"]) for out in outs if out.get("path") == path.as_posix() and "md5" in out]


def recorded_md5(root: Path, path: Path, commit: str) -> str | None:
    """The md5 git records for a DVC-tracked file at a commit; None when no record names it."""
    for record, name in (("dvc.lock", path), (f"{path.as_posix()}.dvc", Path(path.name))):
        try:
            found = locked_md5s(yaml.safe_load(git(root, "show", f"{commit}:{record}")), name)
        except CommandError:  # no such record at that commit
            continue
        if found:
            return found[0]
    return None
