"""The Spark part of `nox -s bench`: `mlci score` of one Parquet table with the local engine and with Spark
(`local[2]`), beside the build's compiled model scoring the same table in process (the limit on this machine),
at growing sizes, with each one's peak memory and the cores it kept busy (its whole process tree: Spark's JVM
and Python workers too). Beside them, the other way a Spark job could score: Spark reading the Parquet itself
and handing each Arrow batch to the same part contract (`DataFrame.mapInArrow`), which the engine does not use.

The tables are the repository's data drawn at random, so that the model sees varied rows, not one repeated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_results import figure

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

# Spark reads the table and hands Arrow batches to the part contract; the row numbers are left out (Spark's own
# ids are not the table's rows) and so are the refusals (a second output of one pass): the rate is an upper bound.
MAP_IN_ARROW = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
import pyarrow.parquet
from pyspark.sql.pandas.types import from_arrow_schema
from mlci.build.loaded import ticket_for, ticketed_build
from mlci.core.repository import Repository
from mlci.scoring.local import column_types
from mlci.scoring.partition import as_arrow, layout, score_part
from mlci.scoring.parts import loaded
from mlci.scoring.spark import spark_session
source, output, version, master = sys.argv[1:5]
start = time.perf_counter()
ticket = ticket_for(Repository.open(Path("mlci.toml")), version)
columns = pyarrow.parquet.ParquetFile(source).schema_arrow.names
shape = layout(columns, ticketed_build(ticket), "none", source)
schema, at = shape.scored_schema(column_types(source)), datetime.now(UTC)
def scored(batches):
    build = loaded(ticket)
    for batch in batches:
        answered, _ = score_part(batch.to_pandas(), 0, build, shape, at)
        yield from as_arrow(answered, schema).to_batches()
with spark_session(master) as spark:
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
    table = spark.read.parquet(source)
    table.mapInArrow(scored, from_arrow_schema(schema)).write.mode("overwrite").parquet(output)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def process_tree(pid: int) -> dict[int, tuple[int, float]]:
    """Each process of a tree, by its id: its resident bytes and the CPU seconds it has used so far."""
    children: dict[int, list[int]] = {}
    use: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        use[int(entry.name)] = (int(fields[21]) * 4096, (int(fields[11]) + int(fields[12])) / tick)
    tree, todo = {}, [pid]
    while todo:
        each = todo.pop()
        if each in use:
            tree[each] = use[each]
        todo += children.get(each, [])
    return tree


class Measured:
    """A command's output, wall seconds, peak memory and busy cores (its process tree, sampled every 0.2 s)."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.peak = 0
        cpu: dict[int, float] = {}  # the last reading of each process: one that has ended keeps its last

        def sample() -> None:
            while process.poll() is None:
                tree = process_tree(process.pid)
                self.peak = max(self.peak, sum(rss for rss, _ in tree.values()))
                cpu.update({each: seconds for each, (_, seconds) in tree.items()})
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        self.stdout, stderr = process.communicate()
        sampler.join()
        self.seconds = time.perf_counter() - start
        if process.returncode != 0:
            sys.exit(f"bench: {' '.join(command)} failed:\n{self.stdout}\n{stderr[-3000:]}")
        self.cores = sum(cpu.values()) / self.seconds

    def figures(self, rows: int, rate: float, baseline: float) -> str:
        share = f"{rate / baseline:.2f}, {self.peak / 1e6:,.0f} MB, {self.cores:.1f} cores"
        return f"{rate:,.0f} rows/s ({share}), {self.seconds / rows * 1e6:.1f} s per million rows"


def table(project: Path, rows: int) -> Path:
    """The data drawn `rows` times, as Parquet in row groups of 100,000, and the same rows as CSV beside it."""
    path = project.parent / f"spark-{rows}.parquet"
    script = (
        "import sys, pandas as pd; t = pd.read_csv('data/penguins.csv', dtype=str);"
        "n = int(sys.argv[1]); t = t.sample(n, replace=True, random_state=1).reset_index(drop=True);"
        "t.to_csv(sys.argv[2].replace('.parquet', '.csv'), index=False);"
        "pd.read_csv(sys.argv[2].replace('.parquet', '.csv')).to_parquet(sys.argv[2], row_group_size=100_000)"
    )
    subprocess.run(["uv", "run", "--no-sync", "python", "-c", script, str(rows), str(path)], cwd=project, check=True)
    return path


def rate_of(said: str) -> float:
    """The rows per second `mlci score` reports of its own run."""
    return float(said.split("(")[1].split(" rows/s")[0].replace(",", ""))


def spark_scoring(project: Path, sizes: list[int]) -> None:
    """The two engines, Spark's `mapInArrow` and the compiled model in process, at each size."""
    subprocess.run(["uv", "run", "--no-sync", "mlci", "build", "bench-spark"], cwd=project, check=True)
    local_mlci = ["uv", "run", "--no-sync", "mlci", "score"]
    with_spark = ["uv", "run", "--no-sync", "--with", SPARK, "python"]
    print("\nBatch scoring of Parquet tables drawn from the data (ratio to the baseline, peak memory, cores busy):")
    print(f"the compiled model in process (the baseline), the local engine, Spark ({MASTER}), Spark's mapInArrow")
    for rows in sizes:
        source = table(project, rows)
        command = ["uv", "run", "--no-sync", "python", "-c", IN_PROCESS, str(source), "bench-spark"]
        baseline = json.loads(subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout)
        own = baseline["rows"] / baseline["seconds"]
        scored = [str(source), "--version", "bench-spark", "--overwrite"]
        local = Measured([*local_mlci, *scored[:1], str(source.with_suffix(".local.parquet")), *scored[1:]], project)
        text = source.with_suffix(".csv")
        local_csv = Measured([*local_mlci, str(text), str(text.with_suffix(".local.csv")), *scored[1:]], project)
        on_spark = [*with_spark, "-m", "mlci", "score", str(source), str(source.with_suffix(".spark.parquet"))]
        spark = Measured([*on_spark, *scored[1:], "--engine", "spark", "--master", MASTER], project)
        arrow_output = str(source.with_suffix(".arrow.parquet"))
        arrow = Measured([*with_spark, "-c", MAP_IN_ARROW, str(source), arrow_output, "bench-spark", MASTER], project)
        print(f"  {rows:,} rows: baseline {own:,.0f} rows/s")
        print(f"    local engine {local.figures(rows, rate_of(local.stdout), own)}")
        csv_rate = rate_of(local_csv.stdout)
        goals = rows >= 1_000_000  # below, the command's fixed start weighs on its rate
        figure(
            f"local engine, {rows:,} Parquet rows / the compiled model's",
            rate_of(local.stdout) / own,
            "ratio",
            "the build's compiled model over pyarrow batches in process",
            ">= 0.95" if goals else "",
        )
        figure(
            f"local engine, {rows:,} CSV rows / Parquet's",
            csv_rate / rate_of(local.stdout),
            "ratio",
            "the local engine on the same rows as Parquet",
            ">= 0.8" if goals else "",
        )
        parquet_share = csv_rate / rate_of(local.stdout)
        print(f"    ... of CSV   {local_csv.figures(rows, csv_rate, own)}, {parquet_share:.2f} of Parquet's rate")
        print(f"    Spark        {spark.figures(rows, rate_of(spark.stdout), own)}")
        print(f"    mapInArrow   {arrow.figures(rows, rows / arrow.seconds, own)}")
    print("  (Spark's figures include its start, about ten seconds, and each worker's load of the build: its cost")
    print("   per row falls toward its steady rate as the table grows; mapInArrow's write no row numbers nor refusals)")
