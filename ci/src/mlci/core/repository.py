"""A generated repository as the toolkit works on it: its root, its settings, its contract with the toolkit,
the registry its tags hold and the store its builds are kept in. Every command opens one and hands it on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mlci.core.config import Config, load_config
from mlci.core.project import Project
from mlci.core.registry import Registry
from mlci.core.storage import use_endpoint
from mlci.core.store import Store


@dataclass(frozen=True)
class Repository:
    """One repository: what `mlci.toml` says of it, and what it offers (`Project`)."""

    config: Config
    project: Project

    @classmethod
    def open(cls, config_file: Path, root: Path | None = None) -> Repository:
        """The repository at `root` (default: the working directory) as its config file describes it; the
        storage endpoint the file names is used from here on, by this process and what it starts."""
        config = load_config(config_file)
        use_endpoint(config.storage)
        return cls.of(config, root or Path.cwd())

    @classmethod
    def of(cls, config: Config, root: Path) -> Repository:
        """The repository at `root` under settings already loaded."""
        return cls(config, Project.read(root, config))

    @property
    def root(self) -> Path:
        return self.project.root

    @cached_property
    def store(self) -> Store:
        """The artifact store builds are kept in ([store] url)."""
        return Store(self.config.store.url)

    def registry(self) -> Registry:
        """The registry as the tags hold it now (read again on every call: a sync or a write changes it)."""
        return Registry.read(self.root, self.config.registry.model)

    def stage(self, name: str | None) -> str:
        """The stage named, checked against [registry] stages; by default the last one."""
        stage = name or self.config.registry.stages[-1]
        self.config.check_stage(stage)
        return stage
