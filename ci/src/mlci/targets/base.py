"""What every deploy target offers: deploy a build smoke-tested, stop it, and say what runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mlci.serve import Installed


@dataclass(frozen=True)
class Smoke:
    """The requests a smoke test sends: one the contract accepts, one it must refuse."""

    valid: bytes
    invalid: bytes
    source: str = "the example request"  # where the valid request comes from, named when it fails


@dataclass(frozen=True)
class Serving:
    """A version running for a stage: where it answers, and how the target tells it apart (a pid, say)."""

    version: str
    url: str
    detail: str


@dataclass(frozen=True)
class Deployment:
    """What a deploy left running, what it replaced, and whether it changed anything."""

    stage: str
    serving: Serving
    replaced: str | None  # the version that ran before, when another
    changed: bool  # False when this build already ran there


class Target(Protocol):
    """One stage's place to run."""

    def deploy(self, installed: Installed, smoke: Smoke) -> Deployment:
        """Run this build for the stage, smoke-tested; what ran before keeps running on any failure."""
        ...

    def stop(self) -> Serving | None:
        """Stop what runs for the stage; what was stopped, or None when nothing ran."""
        ...

    def current(self) -> Serving | None:
        """What runs for the stage now."""
        ...
