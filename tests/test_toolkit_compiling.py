"""A build's compiled model: what the runtime's compile step says decides what the build serves.

A toy module stands in for `mlci_serving.compile` here: a few lines that say (or fail to say) what the real one
does, run as the toolkit runs it. The real step is tested with the runtime (`serving/tests/test_compile.py`) and
run by the slow tests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mlci.build import compiling
from mlci.build.compiling import TRAINED, compile_into
from mlci.core.config import load_config
from mlci.core.repository import Repository
from mlci_serving.names import compiled_path

KEPT = """
import json, sys
from pathlib import Path
Path(sys.argv[1]).write_bytes(b"onnx bytes")
Path("told.json").write_text(json.dumps(sys.argv[2:]))
print("a converter's chatter")
print(json.dumps({"compiled": True, "rows_checked": 688, "largest_difference": 6.8e-07}))
"""
REFUSED = 'print(\'{"compiled": false, "reason": "does not convert: no converter for Odd"}\')'
SAID_KEPT_WROTE_NOTHING = "print('{\"compiled\": true}')"
CRASHED = "import sys\nsys.exit('a converter crashed: segfault')"
GARBLED = "print('compiled!')"


def toy_repository(root: Path, compile_module: str, monkeypatch: pytest.MonkeyPatch) -> Repository:
    """A repository whose compile step is this module, importable by the command the toolkit runs."""
    (root / "pyproject.toml").write_text('[project]\nname = "house-test"\n')
    (root / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.pkl\n")
    (root / "mlci.toml").write_text('[store]\nurl = "s"\n[deploy.staging]\nport = 1\n[deploy.production]\nport = 2\n')
    (root / "toy_compile.py").write_text(compile_module)
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setattr(compiling, "COMPILE_MODULE", "toy_compile")
    return Repository.of(load_config(root / "mlci.toml"), root)


def test_a_compiled_model_the_step_kept_is_served_with_its_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = toy_repository(tmp_path, KEPT, monkeypatch)
    output = tmp_path / "context" / compiled_path(repository.project.model)
    output.parent.mkdir(parents=True)
    compiled = compile_into(repository, output)
    assert compiled.sha256 == hashlib.sha256(b"onnx bytes").hexdigest()
    assert compiled.summary == (
        "serves the compiled (ONNX) model: 688 rows answered as the trained model does, to within 7e-07"
    )


def test_the_step_is_told_the_schema_the_model_and_the_prepared_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = toy_repository(tmp_path, KEPT, monkeypatch)
    compile_into(repository, tmp_path / "model.onnx")
    told = json.loads((tmp_path / "told.json").read_text())
    assert told == [
        "--schema",
        "house_test.schema",
        "--model",
        "models/model.pkl",
        "--check",
        "data/prepared/train.csv",  # [drift] reference
        "--check",
        "data/prepared/test.csv",  # [gates] holdout
    ]


@pytest.mark.parametrize(
    ("module", "why"),
    [
        (REFUSED, "not compiled: does not convert: no converter for Odd"),
        (SAID_KEPT_WROTE_NOTHING, "not compiled: no file written"),
        (CRASHED, "compiling it failed: python -m toy_compile"),
        (GARBLED, "compiling it failed: Expecting value"),
    ],
)
def test_anything_but_a_kept_compiled_model_leaves_the_trained_one_served_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, why: str
) -> None:
    repository = toy_repository(tmp_path, module, monkeypatch)
    output = tmp_path / "context" / compiled_path(repository.project.model)
    output.parent.mkdir(parents=True)
    compiled = compile_into(repository, output)
    assert compiled.sha256 == ""
    assert compiled.summary.startswith(f"{TRAINED}: {why}")


def test_a_crash_is_reported_in_its_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repository = toy_repository(tmp_path, CRASHED, monkeypatch)
    compiled = compile_into(repository, tmp_path / "model.onnx")
    assert "a converter crashed: segfault" in compiled.summary


def test_the_compiled_model_sits_beside_the_trained_one() -> None:
    assert compiled_path(Path("models/model.pkl")) == Path("models/model.onnx")
