"""Measure a generated repository: its validation suite against plain pandas, a no-op `dvc repro` against `dvc status`.

Each figure is printed beside its baseline, both measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]


def run(*command: str, cwd: Path) -> str:
    """Run a command, stopping the benchmark with its output if it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def median_seconds(*command: str, cwd: Path, repeat: int) -> float:
    """The median wall time of a command over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(*command, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    cores = len(os.sched_getaffinity(0))
    return f"{platform.system()} {platform.machine()}, {cores} cores, Python {platform.python_version()}"


def validation(project: Path, rows: int) -> None:
    script = TEMPLATE / "tools" / "bench_validation.py"
    figures = json.loads(run("uv", "run", "python", str(script), str(rows), cwd=project))
    gx, pandas = figures["gx"], figures["pandas"]
    print(f"\nValidation of {rows:,} rows (the suite against the same checks in plain pandas)")
    print(f"  {'':34} {'seconds':>9} {'peak MB':>9}")
    print(f"  {'Great Expectations (mlci validate)':34} {gx['seconds']:9.2f} {gx['peak_mb']:9.0f}")
    print(f"  {'plain pandas (baseline)':34} {pandas['seconds']:9.2f} {pandas['peak_mb']:9.0f}")
    print(f"  ratio {gx['seconds'] / pandas['seconds']:.1f}x time, {gx['peak_mb'] / pandas['peak_mb']:.1f}x memory")
    print(f"  import great_expectations: {figures['import_seconds']:.1f} s, paid once per `validate` stage run")
    print(f"  failed, Great Expectations: {figures['gx_failed']}; pandas: {figures['pandas_failed']}")


def pipeline(project: Path, repeat: int) -> None:
    run("uv", "run", "dvc", "repro", cwd=project)
    status = median_seconds("uv", "run", "--no-sync", "dvc", "status", cwd=project, repeat=repeat)
    noop = median_seconds("uv", "run", "--no-sync", "dvc", "repro", cwd=project, repeat=repeat)
    print(f"\nUp-to-date pipeline, median of {repeat} runs")
    print(f"  dvc status (baseline)  {status:6.2f} s")
    print(f"  dvc repro (no-op)      {noop:6.2f} s   ratio {noop / status:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic frame")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each DVC command")
    parser.add_argument("--workdir", type=Path, default=TEMPLATE / "build" / "bench", help="emptied, then used")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    extra = {"storage": str(workdir / "storage"), "mlci_source": str(TEMPLATE / "ci")}
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(workdir), extra_context=extra))
    run("uv", "sync", "--quiet", cwd=project)
    print(f"Machine: {machine()}")
    validation(project, args.rows)
    pipeline(project, args.repeat)


if __name__ == "__main__":
    main()
