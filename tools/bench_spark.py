"""The Spark part of `nox -s bench`: `mlci score` of one Parquet table with the local engine and with Spark
(`local[2]`), beside the build's compiled model scoring the same table in process (the limit on this machine),
at growing sizes, with each one's peak memory (its whole process tree: Spark's JVM and Python workers too).

The tables are the repository's data drawn at random, so that the model sees varied rows, not one repeated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

MASTER = "local[2,4]"
SPARK = "pyspark>=4.0,<5"

IN_PROCESS = """
import json, sys, time
from pathlib import Path
import pyarrow.parquet
from mlci.build.loaded import stored_build
from mlci.core.repository import Repository
build = stored_build(Repository.open(Path("mlci.toml")), sys.argv[2])  # its compiled model, as the service has it
start, rows = time.perf_counter(), 0
for batch in pyarrow.parquet.ParquetFile(sys.argv[1]).iter_batches(batch_size=50_000):
    frame = batch.to_pandas()
    build.model.predict_proba(build.scorer.model_inputs(frame))
    rows += len(frame)
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}))
"""


def tree_rss(pid: int) -> int:
    """The resident bytes of a process and every descendant."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(fields[21]) * 4096
    total, todo = 0, [pid]
    while todo:
        each = todo.pop()
        total += rss.get(each, 0)
        todo += children.get(each, [])
    return total


def measured(command: list[str], cwd: Path) -> tuple[str, float, int]:
    """A command's output, wall seconds and peak memory of its process tree (sampled every 0.2 s)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{stdout}\n{stderr[-3000:]}")
    return stdout, time.perf_counter() - start, peak


def table(project: Path, rows: int) -> Path:
    """The data drawn `rows` times, as Parquet in row groups of 100,000."""
    path = project.parent / f"spark-{rows}.parquet"
    script = (
        "import sys, pandas as pd; t = pd.read_csv('data/penguins.csv', dtype=str);"
        "n = int(sys.argv[1]); t = t.sample(n, replace=True, random_state=1).reset_index(drop=True);"
        "pd.read_csv(__import__('io').StringIO(t.to_csv(index=False))).to_parquet(sys.argv[2], row_group_size=100_000)"
    )
    subprocess.run(["uv", "run", "--no-sync", "python", "-c", script, str(rows), str(path)], cwd=project, check=True)
    return path


def rate_of(said: str) -> float:
    """The rows per second `mlci score` reports of its own run."""
    return float(said.split("(")[1].split(" rows/s")[0].replace(",", ""))


def spark_scoring(project: Path, sizes: list[int]) -> None:
    """The two engines and the compiled model in process, at each size."""
    subprocess.run(["uv", "run", "--no-sync", "mlci", "build", "bench-spark"], cwd=project, check=True)
    mlci = ["uv", "run", "--no-sync", "mlci", "score"]
    print(f"\nBatch scoring of Parquet tables drawn from the data: local engine and Spark ({MASTER}), rows/s")
    print("  rows        compiled model (baseline)   local engine (ratio, peak MB)   Spark (ratio, peak MB)", end="")
    print("  Spark s/M rows")
    for rows in sizes:
        source = table(project, rows)
        baseline = json.loads(
            subprocess.run(
                ["uv", "run", "--no-sync", "python", "-c", IN_PROCESS, str(source), "bench-spark"],
                cwd=project,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        own = baseline["rows"] / baseline["seconds"]
        local, _, local_peak = measured(
            [*mlci, str(source), str(source.with_suffix(".local.parquet")), "--version", "bench-spark", "--overwrite"],
            project,
        )
        spark_command = [
            "uv",
            "run",
            "--no-sync",
            "--with",
            SPARK,
            "mlci",
            "score",
            str(source),
            str(source.with_suffix(".spark.parquet")),
            "--version",
            "bench-spark",
            "--overwrite",
            "--engine",
            "spark",
            "--master",
            MASTER,
        ]
        spark, spark_wall, spark_peak = measured(spark_command, project)
        local_rate, spark_rate = rate_of(local), rate_of(spark)
        local_figures = f"{local_rate:>9,.0f} ({local_rate / own:.2f}, {local_peak / 1e6:,.0f})"
        spark_figures = f"{spark_rate:>9,.0f} ({spark_rate / own:.2f}, {spark_peak / 1e6:,.0f})"
        print(f"  {rows:>9,}   {own:>12,.0f}              {local_figures}       {spark_figures}", end="")
        print(f"   {spark_wall / rows * 1e6:8.1f}")
    print("  (Spark's rate and seconds per million rows include its start, about ten seconds, and each worker's load")
    print("   of the build: its cost per row falls toward its steady rate as the table grows)")
