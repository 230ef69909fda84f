"""Serve a stored build: fetched from the artifact store, checked against its checksum, never the working tree."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from mlci.build import BuildError
from mlci.store import Store


def bentoml_home() -> Path:
    """Where served builds are imported: a cache of mlci's own, apart from the user's BentoML store."""
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "mlci" / "bentoml"


def serve(store: Store, name: str, version: str, port: int) -> NoReturn:
    """Fetch and check the stored bento, import it afresh, then become `bentoml serve` of it."""
    bentoml = str(Path(sys.executable).parent / "bentoml")
    tag = f"{name}:{version}"
    with tempfile.TemporaryDirectory(prefix="mlci-serve-") as scratch:
        local, record = store.fetch(name, version, Path(scratch))
        env = {**os.environ, "BENTOML_HOME": str(bentoml_home()), "MODEL_VERSION": record["version"]}
        subprocess.run([bentoml, "delete", "--yes", tag], env=env, capture_output=True)  # absent is fine
        imported = subprocess.run([bentoml, "import", str(local)], env=env, capture_output=True, text=True)
        if imported.returncode != 0:
            raise BuildError(f"bentoml import failed:\n{imported.stdout}{imported.stderr}")
    print(f"serving {tag} (bento sha256 {record['bento_sha256'][:12]}) on port {port}", flush=True)
    os.execve(bentoml, [bentoml, "serve", tag, "--port", str(port)], env)
