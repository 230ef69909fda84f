"""Files DVC tracks, as they were at another commit: read from the DVC cache or the remote, never the working tree."""

from __future__ import annotations

from pathlib import Path

from mlci.errors import MlciError


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
    return target
