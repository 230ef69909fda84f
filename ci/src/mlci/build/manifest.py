"""Every file of an unpacked bento and its checksum: made when the build is made, sealed in git with it, and checked
whenever an imported copy is installed or started, so that an edited module, a planted file or a replaced model in
the copy under mlci's cache is found before it runs."""

from __future__ import annotations

from pathlib import Path

from mlci.core.errors import BuildError
from mlci.core.store import sha256

LINK = "a symbolic link"  # what the manifest says of a link: a bento has none, so one found is a change
SHOWN = 5  # paths named per kind of difference


def manifest_of(folder: Path) -> dict[str, str]:
    """Each file under `folder` (relative, with `/`) and its SHA-256."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[path.relative_to(folder).as_posix()] = LINK
        elif path.is_file():
            found[path.relative_to(folder).as_posix()] = sha256(path)
    return found


def named(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def differences(folder: Path, manifest: dict[str, str]) -> list[str]:
    """What differs between the files under `folder` and the manifest: changed, missing and added paths."""
    found = manifest_of(folder)
    changed = sorted(path for path, checksum in manifest.items() if path in found and found[path] != checksum)
    missing = sorted(set(manifest) - set(found))
    added = sorted(set(found) - set(manifest))
    told = [("changed", changed), ("missing", missing), ("added", added)]
    return [f"{kind}: {named(paths)}" for kind, paths in told if paths]


def check_tree(folder: Path, manifest: dict[str, str], home: Path) -> None:
    """Refuse an imported bento whose files are not those the build sealed."""
    found = differences(folder, manifest)
    if found:
        raise BuildError(
            f"{folder}: the imported build is not the one built and sealed in git ({'; '.join(found)}); nothing "
            f"was started. Remove {home} and run this again: the build is imported afresh from the store"
        )
