"""The serving runtime a bento carries: the `mlci-serving` package this environment installs, copied file by
file as its installer recorded them, so that a bento serves with exactly the runtime its repository was tested
with and needs no package index to find it.

Each file is compared with the hash the installer recorded (the distribution's RECORD) before it is copied: a
runtime edited in place is refused, never built into a bento. An editable install (a developer's checkout)
records no module files; its source folder is copied as it is.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import shutil
from pathlib import Path

from mlci.core.errors import BuildError

DISTRIBUTION = "mlci-serving"
PACKAGE = "mlci_serving"


def recorded_hash(data: bytes) -> str:
    """A file's SHA-256 as RECORD writes it: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def copy_runtime(destination: Path) -> str:
    """Copy the installed runtime package into `destination`/mlci_serving; its version."""
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(
            f"{DISTRIBUTION} is not installed in this environment: it is the runtime every build serves with; "
            "take the template update (`nox -s template-update`), then `uv sync`"
        ) from None
    files = [file for file in distribution.files or [] if file.parts[0] == PACKAGE and "__pycache__" not in file.parts]
    if not files:
        return copy_source(destination, distribution.version)
    for file in files:
        data = Path(file.locate()).read_bytes()
        if file.hash is None or file.hash.mode != "sha256" or recorded_hash(data) != file.hash.value:
            raise BuildError(
                f"{file.locate()}: not the file {DISTRIBUTION} {distribution.version} installed (its hash differs "
                "from the installer's record): reinstall it (`uv sync --reinstall-package mlci-serving`)"
            )
        target = destination / Path(*file.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return distribution.version


def copy_source(destination: Path, version: str) -> str:
    """An editable install's package folder, copied as it is."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"{PACKAGE} cannot be found in this environment: `uv sync`, then build again")
    source = Path(next(iter(spec.submodule_search_locations)))
    shutil.copytree(source, destination / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    return version
