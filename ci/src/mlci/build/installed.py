"""Serve a stored build: fetched from the artifact store, checked against the checksum git seals, imported once,
and its every file checked against the sealed manifest at each install and start; never the working tree."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from mlci.build.bento import build_version
from mlci.build.manifest import check_tree
from mlci.core.project import server_environment
from mlci.core.repository import Repository
from mlci.core.runner import CommandError, executable, run
from mlci.core.scratch import scratch_folder
from mlci.core.seals import BuildSeal, build_seal
from mlci.core.store import Store


def cache_home() -> Path:
    """mlci's own cache, apart from the user's BentoML store."""
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "mlci"


@dataclass(frozen=True)
class Installed:
    """A verified build imported into a BentoML home of its own, ready for `bentoml serve`."""

    tag: str
    version: str
    bento_sha256: str
    home: Path
    model_sha256: str
    compiled_sha256: str = ""  # the compiled model's checksum, when the build has one

    def env(self, port: int) -> dict[str, str]:
        """The environment `bentoml serve` of this build on `port` needs."""
        told = server_environment(self.version, self.model_sha256, self.compiled_sha256)
        # no bytecode written into the build's files: a file the manifest does not list is refused at the next start
        home = str(server_home(self.home, port))
        return {**os.environ, "BENTOML_HOME": home, "PYTHONDONTWRITEBYTECODE": "1", **told}

    def command(self, port: int, host: str = "127.0.0.1") -> list[str]:
        return [executable("bentoml"), "serve", self.tag, "--port", str(port), "--host", host]


def server_home(build_home: Path, port: int) -> Path:
    """A BentoML home for the server on `port`, whose bentos are those of the build's home.

    BentoML keeps a server's `/metrics` files in `$BENTOML_HOME/prometheus_multiproc_dir` and empties that
    folder when a server starts: two servers of one home (staging and production of one build) would wipe
    and mix each other's metrics.
    """
    home = cache_home() / "servers" / str(port)
    home.mkdir(parents=True, exist_ok=True)
    link = home / "bentos"
    link.unlink(missing_ok=True)
    link.symlink_to(build_home / "bentos", target_is_directory=True)
    return home


def install(store: Store, root: Path, name: str, version: str) -> Installed:
    """Fetch a stored bento, checked against git's seal, and import it once into a BentoML home named by its
    checksum.

    A home per checksum is never changed once made, so a build can be imported while another one serves. Every
    file of the imported copy is checked against the sealed manifest on every install: a copy can be altered.
    """
    return install_sealed(store, build_seal(root, name, version))


def install_sealed(store: Store, sealed: BuildSeal) -> Installed:
    """`install`, given the seal git holds (as a Spark executor is, which has no clone)."""
    home = cache_home() / "bentos" / sealed.bento_sha256
    if not home.is_dir():
        fetch_and_import(store, sealed, home)
    check_tree(home / "bentos" / sealed.name / sealed.version, sealed.manifest, home)
    return Installed(
        f"{sealed.name}:{sealed.version}",
        sealed.version,
        sealed.bento_sha256,
        home,
        sealed.model_sha256,
        sealed.compiled_sha256,
    )


def fetch_and_import(store: Store, sealed: BuildSeal, home: Path) -> None:
    with scratch_folder("serve") as scratch:
        local = store.fetch(sealed.name, sealed.version, Path(scratch), sealed.bento_sha256)
        if not home.is_dir():
            staging = home.with_name(f"{home.name}.{os.getpid()}.partial")
            env = {**os.environ, "BENTOML_HOME": str(staging)}
            try:
                run("bentoml", "import", str(local), env=env)
            except CommandError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            try:
                staging.rename(home)
            except OSError:  # another mlci imported the same bytes first
                shutil.rmtree(staging, ignore_errors=True)


def serve_stored(repository: Repository, named: str | None, port: int, host: str) -> NoReturn:
    """Install a stored build (default: HEAD's version), then become `bentoml serve` of it."""
    version = build_version(repository, named)
    installed = install(repository.store, repository.root, repository.project.name, version)
    print(f"serving {installed.tag} (bento sha256 {installed.bento_sha256[:12]}) on {host}:{port}", flush=True)
    os.execve(executable("bentoml"), installed.command(port, host), installed.env(port))
