"""Scratch folders of mlci's commands, gone when a command ends however it ends.

A command stopped by SIGTERM unwinds (`mlci.cli.main` turns the signal into an exception), so its
`with` blocks remove their folders; one killed outright (SIGKILL, a lost machine) cannot, so each folder is
named after its process, under this user's own folder of the temporary directory, and the next command
removes those whose process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from mlci.core.errors import MlciError

LEFT_BY = re.compile(r"-(\d+)-[^-]+$")  # <name>-<pid>-<random>


def scratch_root() -> Path:
    """This user's folder for mlci's scratch folders, made private; refused when another user owns it."""
    root = Path(tempfile.gettempdir()) / f"mlci-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    status = root.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise MlciError(
            f"{root}: not a private folder of this user, so mlci will not put scratch files there; remove it, "
            "or set TMPDIR to a folder of your own"
        )
    return root


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(root: Path) -> None:
    """Remove the scratch folders of processes that are gone."""
    for folder in root.iterdir():
        left = LEFT_BY.search(folder.name)
        if left and not alive(int(left[1])):
            shutil.rmtree(folder, ignore_errors=True)


def scratch_folder(name: str) -> tempfile.TemporaryDirectory[str]:
    """A new scratch folder `<name>-<pid>-<random>`, removed when its `with` block ends."""
    root = scratch_root()
    sweep(root)
    return tempfile.TemporaryDirectory(prefix=f"{name}-{os.getpid()}-", dir=root)
