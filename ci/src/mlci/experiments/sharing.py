"""Experiments shared through git: pushed to `origin` with their data and models, pulled by a teammate's clone."""

from __future__ import annotations

from mlci.core.errors import MlciError
from mlci.core.git import has_origin
from mlci.core.repository import Repository
from mlci.core.runner import run


def share(repository: Repository, direction: str, names: list[str]) -> str:
    """`dvc exp push` or `pull` of HEAD's experiments (or those named) with `origin`; what DVC said."""
    if not has_origin(repository.root):
        raise MlciError("no remote named origin: experiments are shared through the repository's git remote")
    return run("dvc", "exp", direction, "origin", *names, cwd=repository.root).strip()
