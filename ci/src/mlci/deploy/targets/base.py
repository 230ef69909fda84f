"""What every deploy target offers: deploy a registered build, stop it, and say what runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Serving:
    """A version running for a stage (or declared for it, in git): where, and how the target tells it apart."""

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

    declarative: bool  # True when the stage's desired state is a file in git that a controller applies
    where: str  # where the stage runs, for people: "port 3000", or the overlay's folder

    def preflight(self) -> None:
        """Refuse now what would make a deploy fail for reasons of the target's own (before a promotion tags)."""
        ...

    def deploy(self, version: str) -> Deployment:
        """Run this registered build for the stage; what ran before keeps running on any failure."""
        ...

    def stop(self) -> Serving | None:
        """Stop what runs for the stage; what was stopped, or None when nothing ran."""
        ...

    def current(self) -> Serving | None:
        """What runs for the stage now."""
        ...

    def leftover(self) -> Serving | None:
        """What a deploy stopped part-way left running beside the stage (a candidate), or None."""
        ...
