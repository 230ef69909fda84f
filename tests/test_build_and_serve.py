"""`nox -s build` stores one bento per model version and seals its checksums and files in git; `mlci serve` serves
that stored build, checked against the seal."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import edited, run
from mlci.core.seals import build_seal, image_seal
from mlci.core.store import sha256
from mlci.deploy.targets.process import free_port
from served import request, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(reproduced: Path) -> tuple[Path, str]:
    """The reproduced repository after `nox -s build`, and the version it built."""
    run("nox", "-s", "build", cwd=reproduced)
    return reproduced, "git-" + run("git", "rev-parse", "--short=12", "HEAD", cwd=reproduced).stdout.strip()


def stored(project: Path, version: str, suffix: str) -> Path:
    return project.parent / "storage" / "bentos" / "penguin-species" / f"{version}{suffix}"


def mlci(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`mlci ARGS` in the project; a command still running after `timeout` seconds fails the test."""
    try:
        command = ["uv", "run", "mlci", *args]
        return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mlci {' '.join(args)} still ran after {timeout:g} s")


def test_build_stores_the_bento_and_seals_its_checksums_and_files_in_git(built: tuple[Path, str]) -> None:
    project, version = built
    sealed = build_seal(project, "penguin-species", version)
    assert json.loads(stored(project, version, ".json").read_text()) == sealed.record()  # the store's copy, for people
    assert sealed.version == version
    assert sealed.bento_sha256 == sha256(stored(project, version, ".bento"))
    assert sealed.model_sha256 == sha256(project / "models" / "model.pkl")
    with tarfile.open(stored(project, version, ".bento")) as bento:
        compiled = bento.extractfile("./src/models/model.onnx")
        assert compiled is not None
        assert sealed.compiled_sha256 == hashlib.sha256(compiled.read()).hexdigest()
        files = {member.name.removeprefix("./") for member in bento.getmembers() if member.isfile()}
    assert set(sealed.manifest) == files  # every file the bento unpacks to, and no other
    assert sealed.manifest["src/models/model.pkl"] == sealed.model_sha256


def test_building_the_same_model_again_stores_nothing(built: tuple[Path, str]) -> None:
    project, version = built
    before = {suffix: stored(project, version, suffix).stat().st_mtime_ns for suffix in (".bento", ".json")}
    result = mlci(project, "build")
    assert result.returncode == 0, result.stderr
    assert "already built, nothing built" in result.stdout
    assert "it serves the compiled (ONNX) model" in result.stdout
    assert before == {suffix: stored(project, version, suffix).stat().st_mtime_ns for suffix in (".bento", ".json")}


def test_an_unnamed_build_of_a_changed_tree_is_refused(built: tuple[Path, str]) -> None:
    project, _ = built
    with edited(project / "params.yaml", lambda text: text + "\n"):
        result = mlci(project, "build")
    assert result.returncode == 2
    assert "uncommitted changes: commit them, or name the version" in result.stderr


def test_a_model_other_than_the_locked_one_is_refused(built: tuple[Path, str]) -> None:
    project, _ = built
    model = project / "models" / "model.pkl"
    original = model.read_bytes()
    model.write_bytes(original + b"\0")
    try:
        result = mlci(project, "build", "dev-1")
    finally:
        model.write_bytes(original)
    assert result.returncode == 2
    assert "is not the model dvc.lock records" in result.stderr


def test_the_stored_build_serves_without_the_working_tree(built: tuple[Path, str], tmp_path: Path) -> None:
    project, version = built
    model = project / "models" / "model.pkl"
    moved = tmp_path / "model.pkl"
    shutil.move(model, moved)
    try:
        port = free_port()
        with serving(
            ["uv", "run", "--no-sync", "mlci", "serve", "--port", str(port)], port, project, {**os.environ}
        ) as url:
            record = {"island": "Biscoe", "year": 2008}
            status, body = request(f"{url}/predict", json.dumps({"records": record}).encode())
    finally:
        shutil.move(moved, model)
    assert status == 200, body
    assert json.loads(body)[0]["model_version"] == version


COMPILED_AND_TRAINED = """
import hashlib, json, pickle, sys
from mlci_serving.answers import TrainedModel
from mlci_serving.compile import compiled_bytes
from mlci_serving.compiled import CompiledModel
from mlci_serving.schema import Schema
from penguin_species import schema as stated
from penguin_species.paths import MODEL
schema = Schema.of(stated)
trained = pickle.loads(MODEL.read_bytes())
compiled = compiled_bytes(trained, schema)
rows = json.loads(sys.stdin.read())
print(json.dumps({
    "sha256": hashlib.sha256(compiled).hexdigest(),
    "compiled": CompiledModel(compiled, schema).predict_proba(rows).tolist(),
    "trained": TrainedModel(trained, schema.feature_names).predict_proba(rows).tolist(),
}))
"""


def test_the_stored_build_answers_exactly_as_its_compiled_model(built: tuple[Path, str]) -> None:
    """The server of a compiled build loads the compiled model: its answers are that model's to the last bit,
    and differ (within the tolerance) from the trained model's, which it never loads."""
    project, version = built
    record = json.loads(stored(project, version, ".json").read_text())
    test = pd.read_csv(project / "data" / "prepared" / "test.csv", dtype={"island": str, "sex": str})
    rows = test.drop(columns="species").head(40)
    records = [
        {name: None if pd.isna(value) else value for name, value in row.items()} for row in rows.to_dict("records")
    ]
    port = free_port()
    with serving(
        ["uv", "run", "--no-sync", "mlci", "serve", "--port", str(port)], port, project, {**os.environ}
    ) as url:
        status, body = request(f"{url}/predict", json.dumps({"records": records}).encode())
    assert status == 200, body
    computed = []
    for seed in ("3", "4"):  # two seeds under which skl2onnx listed its operator sets in different orders
        said = subprocess.run(
            ["uv", "run", "--no-sync", "python", "-c", COMPILED_AND_TRAINED],
            cwd=project,
            input=json.dumps(records),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        computed.append(json.loads(said.stdout))
    expected = computed[0]
    # compiling is deterministic whatever the hash seed: the build's own file, compiled again
    assert [each["sha256"] for each in computed] == [record["compiled_sha256"]] * 2
    classes = ["Adelie", "Chinstrap", "Gentoo"]
    served = [[answer["probabilities"][label] for label in classes] for answer in json.loads(body)]
    assert served == expected["compiled"]
    assert served != expected["trained"]
    differences = [
        abs(a - b) for x, y in zip(served, expected["trained"], strict=True) for a, b in zip(x, y, strict=True)
    ]
    assert max(differences) <= 1e-5  # the tolerance the build checked


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("src/models/model.pkl", "changed"),
        ("src/models/model.onnx", "changed"),
        ("src/penguin_species/service.py", "changed"),  # code runs too: an edited module is found as a model is
        ("src/penguin_species/__pycache__/service.cpython-311.pyc", "added"),  # bytecode Python would prefer
    ],
)
def test_an_altered_imported_copy_is_refused_on_the_next_serve(built: tuple[Path, str], path: str, change: str) -> None:
    """The copy of a build imported for serving is checked each time it is served, not once at import: every file
    against the manifest git seals, the models and the code alike."""
    project, version = built
    script = (
        "import sys; from pathlib import Path; from mlci.build.installed import install\n"
        "from mlci.core.store import Store\n"
        "print(install(Store(sys.argv[1]), Path('.'), 'penguin-species', sys.argv[2]).home)"
    )
    store = str(stored(project, version, ".json").parents[1])
    home = Path(run("uv", "run", "--no-sync", "python", "-c", script, store, version, cwd=project).stdout.strip())
    target = home / "bentos" / "penguin-species" / version / path
    target.parent.parent.chmod(0o755)
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        target.chmod(0o644)
    target.write_bytes((target.read_bytes() if target.exists() else b"") + b"\n# planted\n")
    try:
        result = mlci(project, "serve", "--port", str(free_port()), timeout=120)  # or it serves the altered copy
    finally:
        shutil.rmtree(home)  # the next serve imports the build afresh from the store
    assert result.returncode == 2
    assert f"the imported build is not the one built and sealed in git ({change}: {path})" in result.stderr
    assert f"Remove {home}" in result.stderr


def test_a_replaced_build_with_its_record_rewritten_to_match_is_refused(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    """Whoever may write to the store can replace the bento and its record together: git's seal still says no."""
    project, version = built
    store = tmp_path / "bentos"
    shutil.copytree(stored(project, version, ".bento").parents[1], store)
    replaced = store / "penguin-species" / f"{version}.bento"
    with replaced.open("ab") as bento:
        bento.write(b"tampered")
    record = replaced.with_suffix(".json")
    record.write_text(json.dumps({**json.loads(record.read_text()), "bento_sha256": sha256(replaced)}))
    where = "from mlci.build.installed import cache_home; print(cache_home())"
    cache = Path(run("uv", "run", "--no-sync", "python", "-c", where, cwd=project).stdout.strip())
    shutil.rmtree(cache / "bentos" / build_seal(project, "penguin-species", version).bento_sha256, ignore_errors=True)
    config = tmp_path / "mlci.toml"
    text = (project / "mlci.toml").read_text()
    start = text.index("[store]")
    end = text.index("[deploy.staging]")
    config.write_text(text[:start] + f'[store]\nurl = "{store}"\n\n' + text[end:])
    result = mlci(project, "--config", str(config), "serve", "--port", str(free_port()), timeout=120)  # or it serves
    assert result.returncode == 2
    assert "is not the one git seals" in result.stderr


@pytest.fixture(scope="module")
def fresh(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with only the bento's own requirements, as its image installs them."""
    project, version = built
    folder = tmp_path_factory.mktemp("fresh")
    with tarfile.open(stored(project, version, ".bento")) as archive:
        requirements = archive.extractfile("./env/python/requirements.txt")
        assert requirements is not None
        (folder / "requirements.txt").write_bytes(requirements.read())
    run("uv", "venv", "--quiet", "--python", "3.11", "venv", cwd=folder)
    run("uv", "pip", "install", "--quiet", "--python", "venv/bin/python", "-r", "requirements.txt", cwd=folder)
    return folder / "venv"


def test_the_stored_build_serves_from_a_fresh_environment(built: tuple[Path, str], fresh: Path, tmp_path: Path) -> None:
    """Only the bento's own requirements installed, no project, no toolkit: the bento alone answers."""
    project, version = built
    unimportable = subprocess.run([str(fresh / "bin" / "python"), "-c", "import penguin_species"], capture_output=True)
    assert unimportable.returncode != 0  # the code can only come from the bento
    compiled = json.loads(stored(project, version, ".json").read_text())["compiled_sha256"]
    env = {
        **os.environ,
        "BENTOML_HOME": str(tmp_path / "bentoml-home"),
        "MODEL_VERSION": version,
        "MODEL_ONNX_SHA256": compiled,  # ONNX Runtime must come with the bento's requirements
    }
    run(str(fresh / "bin" / "bentoml"), "import", str(stored(project, version, ".bento")), cwd=tmp_path, env=env)
    port = free_port()
    command = [str(fresh / "bin" / "bentoml"), "serve", f"penguin-species:{version}", "--port", str(port)]
    with serving(command, port, tmp_path, env) as url:
        status, body = request(f"{url}/predict", json.dumps({"records": {"island": "Biscoe", "year": 2008}}).encode())
    assert status == 200, body
    assert json.loads(body)[0]["model_version"] == version


def test_the_image_context_serves_the_contract_through_its_own_entrypoint_read_only(
    built: tuple[Path, str], fresh: Path, tmp_path: Path
) -> None:
    """What the container runs, without a container engine: the bento's entrypoint over its unpacked context, the
    bento's requirements only, the context read-only, BentoML's files in scratch, no home directory."""
    project, version = built
    context = tmp_path / "context"
    prepared = mlci(project, "image", version, "--context", str(context))
    assert prepared.returncode == 0, prepared.stderr
    assert f"build context ready and checked in {context}" in prepared.stdout
    record = json.loads(stored(project, version, ".json").read_text())
    for path in (context, *context.rglob("*")):
        path.chmod(path.stat().st_mode & ~0o222)
    port = free_port()
    env = {
        "PATH": f"{fresh / 'bin'}:/usr/bin:/bin",
        "BENTO_PATH": str(context),  # as the Dockerfile sets it
        "BENTOML_HOME": str(tmp_path / "scratch" / "bentoml"),  # as the Deployment sets it, on its emptyDir
        "HOME": "/nonexistent",
        "MODEL_VERSION": version,
        "MODEL_SHA256": record["model_sha256"],
        "MODEL_ONNX_SHA256": record["compiled_sha256"],
        "BENTOML_DO_NOT_TRACK": "true",
    }
    entrypoint = ["bash", str(context / "env" / "docker" / "entrypoint.sh"), "--port", str(port)]
    try:
        with serving(entrypoint, port, Path("/"), env) as url:
            smoke = mlci(project, "smoke", url, "--expect-version", version, timeout=60)
            wrong = mlci(project, "smoke", url, "--expect-version", "v9.9.9", timeout=60)
    finally:
        for path in (context, *context.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)
    assert smoke.returncode == 0, smoke.stderr
    assert "the example request answered, an invalid request refused with 400" in smoke.stdout
    assert wrong.returncode == 1
    assert "was answered by another model version" in wrong.stderr


def test_an_image_is_recorded_by_digest_once_and_a_bad_reference_is_refused(built: tuple[Path, str]) -> None:
    project, version = built
    bad = mlci(project, "image", version, "--record", "ghcr.io/team/penguin-species:latest")
    assert bad.returncode == 2
    assert "is not an image by digest: give REPOSITORY@sha256:<64 hex digits>" in bad.stderr
    unpushable = mlci(project, "image", version, "--push", "GHCR.io/Team")
    assert unpushable.returncode == 2
    assert "is not an image repository" in unpushable.stderr
    image = "ghcr.io/team/penguin-species@sha256:" + "0f" * 32
    recorded = mlci(project, "image", version, "--record", image)
    assert recorded.returncode == 0, recorded.stderr
    assert image_seal(project, "penguin-species", version) == image
    other = mlci(project, "image", version, "--record", image.replace("0f", "1e"))
    assert other.returncode == 2
    assert "sealed in git, not ghcr.io/team/penguin-species@sha256:1e1e" in other.stderr
    kept = mlci(project, "image", version, "--push", "ghcr.io/team/penguin-species")  # nothing to build again
    assert kept.returncode == 0, kept.stderr
    assert f"image {image} (sealed in git)" in kept.stdout
