"""`nox -s score -- ... --engine spark`: real Spark in local mode scores a table with the stored build, giving
the rows the local engine gives, and survives a Python worker killed mid-job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run
from mlci.scoring.splits import csv_splits

pytestmark = pytest.mark.slow

MASTER = "local[2,4]"  # two task slots, as CI's two cores, each task tried up to 4 times
ANSWERS = ["prediction", "probability_Adelie", "probability_Chinstrap", "probability_Gentoo", "model_version"]


@pytest.fixture(scope="module")
def built(reproduced: Path) -> tuple[Path, str]:
    """The shared repository's HEAD built (`nox -s build`), and its version."""
    run("nox", "-s", "build", cwd=reproduced)
    return reproduced, "git-" + run("git", "rev-parse", "--short=12", "HEAD", cwd=reproduced).stdout.strip()


def score(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`nox -s score -- ARGS` in the project, as a user runs it; fails the test after `timeout` seconds."""
    try:
        return subprocess.run(
            ["nox", "-s", "score", "--", *args], cwd=project, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"nox -s score -- {' '.join(args)} still ran after {timeout:g} s")


def submit(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`spark-submit OPTION VALUE <mlci's entry point> ARGS`, with pyspark beside the project's environment."""
    with_spark = ["uv", "run", "--no-sync", "--with", "pyspark>=4.0,<5"]
    where = "import mlci.scoring.spark_submit as job; print(job.__file__)"
    entry = run(*with_spark, "python", "-c", where, cwd=project).stdout.strip()
    command = [*with_spark, "spark-submit", *args[:2], entry, *args[2:]]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)


def installed_home(project: Path, version: str) -> Path:
    """Where this machine keeps the stored build of `version` once imported (importing it if need be)."""
    script = (
        "import sys; from pathlib import Path; from mlci.build.installed import install\n"
        "from mlci.core.store import Store\n"
        "print(install(Store(sys.argv[1]), Path('.'), 'penguin-species', sys.argv[2]).home)"
    )
    store = str(project.parent / "storage" / "bentos")
    return Path(run("uv", "run", "--no-sync", "python", "-c", script, store, version, cwd=project).stdout.strip())


def score_on_spark(project: Path, folder: Path, version: str) -> subprocess.CompletedProcess[str]:
    """`folder/in.csv` scored on Spark into `folder/out.parquet` with the build of `version`."""
    table, output = str(folder / "in.csv"), str(folder / "out.parquet")
    return score(project, table, output, "--version", version, "--engine", "spark", "--master", MASTER)


def table_to_score(project: Path, rows: int) -> pd.DataFrame:
    """The repository's data drawn `rows` times, with a value of each kind the contract refuses."""
    data = pd.read_csv(project / "data" / "penguins.csv", dtype=str)
    table = data.sample(rows, replace=True, random_state=7).reset_index(drop=True)
    table.loc[3, "bill_length_mm"] = "long"  # not a number
    table.loc[rows // 2, "flipper_length_mm"] = "-5"  # below the domain's bound
    table.loc[rows - 1, "year"] = None  # missing where the schema needs a value
    table.loc[10, "island"] = "Dream, north"  # quoted in the CSV: a comma inside
    return table


def parts(folder: Path, kind: str) -> pd.DataFrame:
    """A folder of part files read as one table, as Spark and pyarrow read it; it must be marked whole."""
    assert (folder / "_SUCCESS").is_file(), sorted(folder.iterdir())
    if kind == "parquet":
        return pd.read_parquet(folder)
    return pd.concat([pd.read_csv(part, dtype=str) for part in sorted(folder.glob("part-*.csv"))], ignore_index=True)


def assert_same_rows(local: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == list(local.columns)
    assert spark["row"].tolist() == local["row"].tolist()
    probabilities = [name for name in local.columns if name.startswith("probability_")]
    others = [name for name in local.columns if name not in (*probabilities, "scored_at")]
    pd.testing.assert_frame_equal(spark[others], local[others], check_dtype=False)
    assert np.abs(spark[probabilities].to_numpy(float) - local[probabilities].to_numpy(float)).max() <= 1e-5


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_spark_scores_the_rows_the_local_engine_scores(built: tuple[Path, str], tmp_path: Path, kind: str) -> None:
    project, version = built
    table = table_to_score(project, 120_000)
    source = tmp_path / f"in.{kind}"
    if kind == "csv":
        table.to_csv(source, index=False)
        keep = ["--keep", "all"]
    else:
        table.to_parquet(source, row_group_size=25_000)  # five row groups, each cut in turn
        keep = ["--keep", "island,sex"]
    common = [str(source), "--version", version, "--chunk-rows", "10000", *keep]
    local = score(project, common[0], str(tmp_path / "local.parquet"), *common[1:])
    assert local.returncode == 0, local.stdout + local.stderr
    target = [common[0], str(tmp_path / "spark.parquet"), *common[1:]]
    if kind == "csv":  # through spark-submit, as on a cluster, with the entry point mlci ships
        spark = submit(project, "--master", MASTER, *target)
    else:
        spark = score(project, *target, "--engine", "spark", "--master", MASTER)
    assert spark.returncode == 0, spark.stdout + spark.stderr
    assert "119997 rows scored" in spark.stdout
    assert "3 refused" in spark.stdout
    scored_locally = pd.read_parquet(tmp_path / "local.parquet")
    scored = parts(tmp_path / "spark.parquet", "parquet")
    assert len(list((tmp_path / "spark.parquet").glob("part-*.parquet"))) >= 4  # the table was cut
    assert_same_rows(scored_locally, scored)
    assert scored["scored_at"].nunique() == 1
    expected_kept = list(table.columns) if kind == "csv" else ["island", "sex"]
    assert list(scored.columns) == ["row", *expected_kept, *ANSWERS, "scored_at"]
    refused = parts(tmp_path / "spark.refused.csv", "csv")
    refused_locally = pd.read_csv(tmp_path / "local.refused.csv", dtype=str)
    pd.testing.assert_frame_equal(refused, refused_locally)
    assert refused["row"].tolist() == ["4", "60001", "120000"]


def test_refusals_come_before_spark_starts_and_write_nothing(built: tuple[Path, str], tmp_path: Path) -> None:
    project, version = built
    table = table_to_score(project, 50)
    table.to_csv(tmp_path / "in.csv", index=False)
    table.drop(columns="island").to_csv(tmp_path / "short.csv", index=False)
    (tmp_path / "there.parquet").mkdir()
    spark = ["--engine", "spark", "--master", MASTER]
    cases = {
        "unknown version": (["in.csv", "out.parquet", "--version", "v9.9.9"], "v9.9.9"),
        "missing column": (["short.csv", "out.parquet", "--version", version], "no column 'island'"),
        "output there": (["in.csv", "there.parquet", "--version", version], "add --overwrite to replace it"),
        "master alone": (
            ["in.csv", "out.parquet", "--version", version, "--master", MASTER],
            "for --engine spark only",
        ),
    }
    for name, (args, message) in cases.items():
        done = score(
            project,
            *(str(tmp_path / arg) if arg.endswith((".csv", ".parquet")) else arg for arg in args),
            *(spark if "--master" not in args else []),
        )
        assert done.returncode != 0, name
        assert message in done.stdout + done.stderr, (name, done.stdout[-2000:], done.stderr[-2000:])
        assert "log4j" not in done.stdout + done.stderr, name  # Spark never started: its logging says so first
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "short.csv", "there.parquet"]
    assert list((tmp_path / "there.parquet").iterdir()) == []


def test_a_build_gone_from_the_store_is_refused_before_spark_starts(built: tuple[Path, str], tmp_path: Path) -> None:
    """A version git records as built, its build gone from the store and from this machine's cache: as on a
    cluster's driver, which has never imported it."""
    project, version = built
    table_to_score(project, 50).to_csv(tmp_path / "in.csv", index=False)
    store = project.parent / "storage" / "bentos"
    home = installed_home(project, version)
    kept = tmp_path / "kept"
    kept.mkdir()
    stored = sorted((store / "penguin-species").glob(f"{version}.*"))
    assert stored, f"no files of {version} in {store}"
    for path in [*stored, home]:
        path.rename(kept / path.name)
    try:
        done = score_on_spark(project, tmp_path, version)
    finally:
        for path in [*stored, home]:
            (kept / path.name).rename(path)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"no build of penguin-species {version}, which git records as built" in said
    assert "log4j" not in said  # Spark never started: its logging says so first
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "kept"]


def test_an_altered_build_is_refused_before_a_task_loads_it(built: tuple[Path, str], tmp_path: Path) -> None:
    """The driver loads the build as every load does, each file checked against git's seal, before any task."""
    project, version = built
    table_to_score(project, 50).to_csv(tmp_path / "in.csv", index=False)
    home = installed_home(project, version)
    compiled = home / "bentos" / "penguin-species" / version / "src" / "models" / "model.onnx"
    compiled.parent.parent.chmod(0o755)
    compiled.chmod(0o644)
    compiled.write_bytes(compiled.read_bytes() + b"\0")
    try:
        spark = score_on_spark(project, tmp_path, version)
    finally:
        shutil.rmtree(home)  # the next load imports the build afresh from the store
    assert spark.returncode != 0
    said = spark.stdout + spark.stderr  # nox prints what its commands print on its output
    assert "the imported build is not the one built and sealed in git (changed: src/models/model.onnx)" in said
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]


def test_a_csv_whose_quoted_field_spans_a_cut_is_refused_naming_the_engine_that_reads_it(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    project, version = built
    table = table_to_score(project, 4_000)
    table.loc[1_000, "sex"] = "male\n" * 400_000  # 2 MB in one quoted field, lines and all
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    header_end = len(source.read_bytes().split(b"\n", 1)[0]) + 1
    assert len(csv_splits(header_end, source.stat().st_size, 4)) > 1
    spark = score(
        project,
        str(source),
        str(tmp_path / "out.parquet"),
        "--version",
        version,
        "--engine",
        "spark",
        "--master",
        MASTER,
    )
    assert spark.returncode != 0
    said = spark.stdout + spark.stderr
    assert "a quoted field holds a line break" in said, said[-3000:]
    assert "score it with the local engine, or as Parquet" in said
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]
    local = score(project, str(source), str(tmp_path / "out.parquet"), "--version", version)
    assert local.returncode == 0, (
        local.stdout + local.stderr
    )  # the local engine reads the field whole, and refuses its value
    assert len(pd.read_csv(tmp_path / "out.refused.csv")) == 4


def python_workers() -> list[int]:
    """Spark's Python workers on this machine: the processes its `pyspark.daemon` forked."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_command = Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if b"pyspark.daemon" in command and b"pyspark.daemon" in parent_command:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has spent, or -1 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_python_workers() -> list[int]:
    """Spark's Python workers that spent CPU time in the last fifth of a second: those running a task."""
    before = {pid: cpu_seconds(pid) for pid in python_workers()}
    time.sleep(0.2)
    return [pid for pid, spent in before.items() if cpu_seconds(pid) > spent >= 0]


def test_a_worker_killed_mid_job_leaves_each_row_in_the_output_once(built: tuple[Path, str], tmp_path: Path) -> None:
    project, version = built
    table = table_to_score(project, 600_000)
    table.to_parquet(tmp_path / "in.parquet", row_group_size=25_000)  # 24 splits: the job outlasts the kill
    output, staged = tmp_path / "out.parquet", tmp_path / "out.parquet.partial"
    command = ["nox", "-s", "score", "--", str(tmp_path / "in.parquet"), str(output), "--version", version]
    command += ["--engine", "spark", "--master", MASTER]
    job = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while not (staged.is_dir() and any(staged.glob("part-*.parquet"))):  # a part done, others under way
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "no part file was written within 300 s"
            time.sleep(0.05)
        while not killed:  # an idle worker killed fails no task: only one under way counts
            assert job.poll() is None, "the job ended before a Python worker of Spark's was seen scoring"
            assert time.monotonic() < deadline, "no Python worker of Spark's was seen scoring within 300 s"
            for pid in busy_python_workers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        stdout, stderr = job.communicate(timeout=600)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, (stdout + stderr)[-3000:]
    assert "ran again after a task failed" in stdout, stdout
    scored = parts(output, "parquet")
    refused = parts(tmp_path / "out.refused.csv", "csv")
    assert len(scored) + len(refused) == 600_000
    assert sorted([*scored["row"], *refused["row"].astype(int)]) == list(range(1, 600_001))
    assert not staged.exists()
