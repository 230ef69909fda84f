"""A build's compiled model: what the package's own `compile` module says decides what the build serves.

A toy package stands in for a generated one here: its `compile` module is a few lines that say (or fail to say)
what a real one does. The real module is run by the generated repository's own tests and by the slow tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mlci.build.compiling import TRAINED, compile_into, compiled_path
from mlci.core.config import load_config
from mlci.core.project import Project

KEPT = """
import json, sys
from pathlib import Path
Path(sys.argv[1]).write_bytes(b"onnx bytes")
print("a converter's chatter")
print(json.dumps({"compiled": True, "rows_checked": 688, "largest_difference": 6.8e-07}))
"""
REFUSED = 'print(\'{"compiled": false, "reason": "does not convert: no converter for Odd"}\')'
SAID_KEPT_WROTE_NOTHING = "print('{\"compiled\": true}')"
CRASHED = "import sys\nsys.exit('a converter crashed: segfault')"
GARBLED = "print('compiled!')"


def toy_project(root: Path, compile_module: str | None, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A repository whose package has this compile module (or none), importable by the command it runs."""
    (root / "pyproject.toml").write_text('[project]\nname = "house-test"\n')
    (root / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    (root / "mlci.toml").write_text('[store]\nurl = "s"\n[deploy.staging]\nport = 1\n[deploy.production]\nport = 2\n')
    package = root / "src" / "house_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    if compile_module is not None:
        (package / "compile.py").write_text(compile_module)
    monkeypatch.setenv("PYTHONPATH", str(root / "src"))
    return Project.read(root, load_config(root / "mlci.toml"))


def test_a_compiled_model_the_package_kept_is_served_with_its_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = toy_project(tmp_path, KEPT, monkeypatch)
    output = tmp_path / "context" / compiled_path(project.model)
    output.parent.mkdir(parents=True)
    compiled = compile_into(project, output)
    assert compiled.sha256 == hashlib.sha256(b"onnx bytes").hexdigest()
    assert compiled.summary == (
        "serves the compiled (ONNX) model: 688 rows answered as the trained model does, to within 7e-07"
    )


@pytest.mark.parametrize(
    ("module", "why"),
    [
        (REFUSED, "not compiled: does not convert: no converter for Odd"),
        (SAID_KEPT_WROTE_NOTHING, "not compiled: no file written"),
        (CRASHED, "compiling it failed: python -m house_test.compile"),
        (GARBLED, "compiling it failed: Expecting value"),
        (None, "src/house_test has no compile module (`nox -s template-update`)"),
    ],
)
def test_anything_but_a_kept_compiled_model_leaves_the_trained_one_served_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str | None, why: str
) -> None:
    project = toy_project(tmp_path, module, monkeypatch)
    output = tmp_path / "context" / compiled_path(project.model)
    output.parent.mkdir(parents=True)
    compiled = compile_into(project, output)
    assert compiled.sha256 == ""
    assert compiled.summary.startswith(f"{TRAINED}: {why}")


def test_a_crash_is_reported_in_its_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = toy_project(tmp_path, CRASHED, monkeypatch)
    compiled = compile_into(project, tmp_path / "model.onnx")
    assert "a converter crashed: segfault" in compiled.summary


def test_the_compiled_model_sits_beside_the_trained_one() -> None:
    assert compiled_path(Path("models/model.pkl")) == Path("models/model.onnx")
