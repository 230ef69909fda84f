"""Serve a stored build: fetched from the artifact store, checked against its checksum, never the working tree."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mlci.build import BuildError
from mlci.store import Store


def serve(store: Store, name: str, version: str, port: int) -> int:
    """Run `bentoml serve` of the stored bento until interrupted; its exit code."""
    bentoml = str(Path(sys.executable).parent / "bentoml")
    with tempfile.TemporaryDirectory(prefix="mlci-serve-") as scratch:
        local, record = store.fetch(name, version, Path(scratch))
        env = {
            **os.environ,
            "BENTOML_HOME": str(Path(scratch) / "bentoml-home"),
            "MODEL_VERSION": record["version"],
        }
        imported = subprocess.run([bentoml, "import", str(local)], env=env, capture_output=True, text=True)
        if imported.returncode != 0:
            raise BuildError(f"bentoml import failed:\n{imported.stdout}{imported.stderr}")
        print(f"serving {name} {version} (bento sha256 {record['bento_sha256'][:12]}) on port {port}", flush=True)
        try:
            return subprocess.run([bentoml, "serve", f"{name}:{version}", "--port", str(port)], env=env).returncode
        except KeyboardInterrupt:
            return 0
