"""Measure a generated repository: validation against plain pandas, a no-op `dvc repro` against `dvc status`,
the served bento against the compiled model in process, a bare ASGI server and a minimal FastAPI app, against
a plain BentoML service of the same model (the peers part), and a promotion to a kubernetes stage
(a commit in git) against one to a local stage (a server started and smoke-tested), with the rendered overlays,
batch scoring of a table against the model scoring it in process, one experiment against a plain `dvc repro`
and a sweep run two at a time against one at a time, and the DVC remote in an S3 bucket (moto's
server on this machine) against a local folder, and good traffic's latency while hostile requests arrive
against the same traffic alone.

Each figure is printed beside its baseline, both measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench_experiments import experiments
from bench_page import recorded
from bench_peers import peers
from bench_results import figure, verdict, write
from bench_spark import spark_scoring
from demo import TEMPLATE, generate
from local_server import free_port, local_server

BENCH_SERVICE = TEMPLATE / "tools" / "bench_service.py"


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


def commit_reproduced(project: Path) -> None:
    """The reproduced pipeline committed, once."""
    if run("git", "status", "--porcelain", cwd=project).strip():
        identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        run("git", "add", "--all", cwd=project)
        run("git", *identity, "commit", "--quiet", "-m", "Reproduce the pipeline", cwd=project)


def stored_build(project: Path) -> None:
    """HEAD's build in the store, the reproduced pipeline committed first."""
    commit_reproduced(project)
    run("uv", "run", "mlci", "build", cwd=project)


def load_in_turns(project: Path, levels: str, seconds: float, rounds: int) -> tuple[list[list[dict[str, float]]], int]:
    """Figures of the stored bento without and with the inference log, again without, and of FastAPI; records logged."""
    stored_build(project)
    bento_server = ["uv", "run", "--no-sync", "mlci", "serve", "--port", "{port}"]
    log = project.parent / "inference-log"
    logging = {"INFERENCE_LOG_URL": str(log), "INFERENCE_LOG_SAMPLE": "1", "INFERENCE_LOG_FLUSH_SECONDS": "1"}
    fastapi_app = ["uv", "run", "--with", "fastapi", "python", str(BENCH_SERVICE), "fastapi", "{port}"]
    with contextlib.ExitStack() as servers:  # all up at once, loaded in turns
        urls = [
            servers.enter_context(local_server(bento_server, "/readyz", project)),
            servers.enter_context(local_server(bento_server, "/readyz", project, logging)),
            servers.enter_context(local_server(bento_server, "/readyz", project)),  # the same again: the noise
            servers.enter_context(local_server(fastapi_app, "/docs", project)),
        ]
        load = ["python", str(BENCH_SERVICE), "load", ",".join(f"{url}/predict" for url in urls), levels]
        output = run("uv", "run", "--no-sync", *load, str(seconds), str(rounds), cwd=project)
    records = sum(len(file.read_text().splitlines()) for file in log.glob("*.jsonl"))
    return json.loads(output), records


def service(project: Path, levels: str, seconds: float, rounds: int) -> None:
    (served, logged, control, baseline), records = load_in_turns(project, levels, seconds, rounds)
    rates = json.loads(run("uv", "run", "--no-sync", "python", str(BENCH_SERVICE), "inprocess", "5", cwd=project))
    print(
        f"\nService: the stored bento under `mlci serve`, one record per request, {seconds:.0f} s per level"
        f" and server in {rounds} rounds taken in turns"
    )
    print(f"  {'clients':>7} {'':22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for bento, with_log, again, fast in zip(served, logged, control, baseline, strict=True):
        rows = (
            ("BentoML (mlci serve)", bento),
            ("  + inference log", with_log),
            ("  again, no log", again),
            ("FastAPI (baseline)", fast),
        )
        for name, figures in rows:
            print(
                f"  {int(figures['clients']):7} {name:22} {figures['rps']:8.0f} {figures['p50_ms']:8.0f}"
                f" {figures['p99_ms']:8.0f} {int(figures['errors']):7}"
            )
    print(f"  inference log on every record, 1 s files ({records:,} records written), throughput against no log:")
    for off, on, again in zip(served, logged, control, strict=True):
        no_log = (off["rps"] + again["rps"]) / 2
        print(
            f"  {int(off['clients']):7} clients: {on['rps'] / no_log:.0%} of the two no-log servers' mean,"
            f" which differ from each other by {abs(again['rps'] - off['rps']) / no_log:.0%}"
        )
    print(
        f"  in process: {rates['per_record']:.0f} records/s one per predict call (the floor),"
        f" {rates['batched']:.0f} records/s 1000 per call (the ceiling)"
    )
    print(
        f"  the log's own cost: {rates['log_request_us']:.1f} us per record on the request path,"
        f" {rates['log_writer_us']:.1f} us in its writer thread;"
        f" the model batched: {1e6 / rates['batched']:.1f} us per record"
    )


TWO_WORKERS = {"BENTOML_CONFIG_OPTIONS": "services.Predictor.workers=2"}  # as a local stage's `workers = 2`
IN_PROCESS_REFERENCE = "the build's compiled model in process, 1000 varied rows per call"
BARE_REFERENCE = "a bare ASGI app answering a constant, on the service's HTTP stack"


def serving_speed(project: Path, seconds: float, rounds: int) -> None:
    """The stored bento against the limits: the compiled model in process on the same varied rows, and a bare
    ASGI server on the same HTTP stack that answers a constant; beside them, the same service with a model that
    costs nothing (what the service's own Python costs). One client with 1, 100 and 1000 records per request,
    then 32 clients with one record, then one client again after that burst; last, one worker against two."""
    stored_build(project)
    bento_server = ["uv", "run", "--no-sync", "mlci", "serve", "--port", "{port}"]
    model_less = ["uv", "run", "--no-sync", "bentoml", "serve", "bench_modelless:ModelLess", "--port", "{port}"]
    bare_server = ["uv", "run", "--no-sync", "python", str(BENCH_SERVICE), "bare", "{port}"]
    tools = {"PYTHONPATH": str(TEMPLATE / "tools")}
    bench = ("uv", "run", "--no-sync", "python", str(BENCH_SERVICE))

    def levels(urls: str, clients: str, size: int = 1) -> list[dict[str, float]]:
        """Per URL, the figures at the one level asked."""
        said = json.loads(run(*bench, "load", urls, clients, str(seconds), str(rounds), str(size), cwd=project))
        return [figures[0] for figures in said]

    with contextlib.ExitStack() as servers:
        bento = servers.enter_context(local_server(bento_server, "/readyz", project))
        free = servers.enter_context(local_server(model_less, "/readyz", project, tools))
        limit = servers.enter_context(local_server(bare_server, "/readyz", project))
        three = f"{bento}/predict,{free}/predict,{limit}/predict"
        served_one, free_one, bare_one = levels(three, "1")
        batches = [levels(f"{bento}/predict", "1", size)[0] for size in (100, 1000)]
        served_32, free_32, bare_32 = levels(three, "32")
        after_burst, free_after_burst, _ = levels(three, "1")
        two = servers.enter_context(local_server(bento_server, "/readyz", project, TWO_WORKERS))
        one_worker, two_workers = levels(f"{bento}/predict,{two}/predict", "32")
    rates = json.loads(run(*bench, "inprocess", "5", cwd=project))
    print("\nServing speed: the stored bento against a bare ASGI server and the same service with a free model")
    print(f"  {'':44} {'req/s':>8} {'rows/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    rows = [
        ("1 record, 1 client: the bento", served_one),
        ("1 record, 1 client: model-less", free_one),
        ("1 record, 1 client: bare ASGI (the limit)", bare_one),
        *((f"{int(level['records'])} varied records, 1 client: the bento", level) for level in batches),
        ("1 record, 32 clients: the bento", served_32),
        ("1 record, 32 clients: model-less", free_32),
        ("1 record, 32 clients: bare ASGI (the limit)", bare_32),
        ("1 record, 1 client, after 32: the bento", after_burst),
        ("1 record, 1 client, after 32: model-less", free_after_burst),
        ("1 record, 32 clients: the bento, 1 worker", one_worker),
        ("1 record, 32 clients: the bento, 2 workers", two_workers),
    ]
    for name, figures in rows:
        print(
            f"  {name:44} {figures['rps']:8.0f} {figures['rps'] * figures['records']:9.0f} {figures['p50_ms']:8.1f}"
            f" {figures['p99_ms']:8.1f} {int(figures['errors']):7}"
        )
    print(
        f"  in process, 1000 varied rows per call: the compiled model (which the bento serves)"
        f" {rates['compiled_batched']:,.0f} rows/s, the trained one {rates['batched']:,.0f}; one row per call:"
        f" {1e3 / rates['compiled_per_record']:.2f} ms and {1e3 / rates['per_record']:.2f} ms"
    )
    thousand = batches[1]
    ratios = [
        figure(
            "rows/s at 1000 varied records per request / the compiled model's",
            thousand["rps"] * 1000 / rates["compiled_batched"],
            "ratio",
            IN_PROCESS_REFERENCE,
            ">= 0.6",
        ),
        figure(
            "p50 of 1 record at 1 client / the bare server's",
            served_one["p50_ms"] / bare_one["p50_ms"],
            "ratio",
            BARE_REFERENCE,
            "<= 2",
        ),
        figure(
            "req/s at 32 clients / the bare server's",
            served_32["rps"] / bare_32["rps"],
            "ratio",
            BARE_REFERENCE,
            ">= 0.5",
        ),
        figure(
            "p50 of 1 record at 1 client after 32 clients / model-less's (batching's waits)",
            after_burst["p50_ms"] / free_after_burst["p50_ms"],
            "ratio",
            "the service with a free model, after the same burst",
            "<= 1.5",
        ),
        figure("p99 / p50 at 32 clients", served_32["p99_ms"] / served_32["p50_ms"], "ratio", "its own p50", "<= 3"),
        figure("req/s at 32 clients, 2 workers / 1", two_workers["rps"] / one_worker["rps"], "ratio", "one worker"),
        figure(
            "req/s at 32 clients / model-less", served_32["rps"] / free_32["rps"], "ratio", "the service, a free model"
        ),
    ]
    print("  ratios against the limits (issue 41's goals) and the service's own:")
    for each in ratios:
        print(f"  {each.name:70} {each.value:6.2f}  {'goal ' + each.goal if each.goal else '':12} {verdict(each)}")


def hostile(project: Path, seconds: float) -> None:
    """Eight clients of good traffic on the stored bento, alone and beside each hostile request of the integrity
    probe (issue 37), sent once in the middle of a window."""
    stored_build(project)
    bento_server = ["uv", "run", "--no-sync", "mlci", "serve", "--port", "{port}"]
    with local_server(bento_server, "/readyz", project) as url:
        command = ("uv", "run", "--no-sync", "python", str(BENCH_SERVICE), "hostile", f"{url}/predict", "8")
        said = json.loads(run(*command, str(seconds), cwd=project))  # the script's folder gives it `hostile`
    alone = said["alone"]
    spread = (min(w["p99_ms"] for w in alone), max(w["p99_ms"] for w in alone))
    print(f"\nHostile requests beside 8 clients of good traffic, windows of {seconds:.0f} s on the stored bento")
    print(f"  {'':40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  the hostile request's answer")
    for index, figures in enumerate(alone, 1):
        print(
            f"  {'alone, window ' + str(index):40} {figures['rps']:8.0f} {figures['p50_ms']:8.1f}"
            f" {figures['p99_ms']:8.1f}"
        )
    for name, figures in said["beside"].items():
        answer = said["answers"].get(name)
        told = f"{answer[0]}, {answer[1]:,} bytes in {answer[2]:.2f} s" if answer else ""
        print(
            f"  {'beside ' + name:40} {figures['rps']:8.0f} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f}"
            f" {int(figures['errors']):7}  {told}"
        )
    worst = max(figures["p99_ms"] for figures in said["beside"].values())
    print(
        f"  good traffic's p99 alone: {spread[0]:.1f} to {spread[1]:.1f} ms;"
        f" beside the worst hostile request: {worst:.1f} ms"
    )


def timed(*command: str, cwd: Path) -> float:
    start = time.perf_counter()
    run(*command, cwd=cwd)
    return time.perf_counter() - start


def to_kubernetes(config: str, stage: str) -> str:
    """mlci.toml with one stage moved to the kubernetes target (its local settings removed)."""
    start = config.index(f"[deploy.{stage}]")
    end = config.index("\n[", start + 1)
    return config[:start] + f'[deploy.{stage}]\ntarget = "kubernetes"\n' + config[end:]


def promotion(project: Path) -> None:
    """One version promoted to staging on the kubernetes target, then to production on the local one."""
    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@e.com", "GIT_COMMITTER_NAME": "bench"}
    os.environ.update({**identity, "GIT_COMMITTER_EMAIL": "b@e.com"})
    origin = project.parent / "origin.git"
    run("git", "init", "--quiet", "--bare", str(origin), cwd=project.parent)
    run("git", "remote", "add", "origin", str(origin), cwd=project)
    config = project / "mlci.toml"
    text = to_kubernetes(config.read_text(), "staging")
    config.write_text(text.replace("port = 3000", f"port = {free_port()}"))
    run("git", "commit", "--quiet", "--all", "-m", "Staging on Kubernetes", cwd=project)
    run("git", "push", "--quiet", "origin", "main", cwd=project)
    run("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=project)
    run("uv", "run", "--no-sync", "mlci", "register", cwd=project)
    run("uv", "run", "--no-sync", "mlci", "build", cwd=project)
    # No container engine is needed here: a digest stands in for the pushed image, which only the cluster pulls.
    bento = project.parent / "storage" / "bentos" / project.name / "v0.0.1.json"
    digest = json.loads(bento.read_text())["bento_sha256"]
    image = f"ghcr.io/bench/{project.name}@sha256:{digest}"
    run("uv", "run", "--no-sync", "mlci", "image", "v0.0.1", "--record", image, cwd=project)
    mlci = ("uv", "run", "--no-sync", "mlci")
    kubernetes = timed(*mlci, "promote", "v0.0.1", "--to", "staging", cwd=project)
    local = timed(*mlci, "promote", "v0.0.1", "--to", "production", cwd=project)
    local += timed(*mlci, "deploy", "production", cwd=project)
    run(*mlci, "stop", "production", cwd=project)
    print("\nPromotion of one version, from the command to the stage declared or serving (one run each)")
    print(f"  local stage: tag, start, smoke-test (baseline)   {local:6.2f} s")
    print(f"  kubernetes stage: tag, overlay commit, push      {kubernetes:6.2f} s   ratio {kubernetes / local:.2f}x")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("  rendered overlays: kubectl not found")
        return
    for stage in ("staging", "production"):
        rendered = run(kubectl, "kustomize", f"deploy/kubernetes/overlays/{stage}", cwd=project)
        objects = rendered.count("\nkind: ") + rendered.startswith("kind: ")
        lines = len(rendered.splitlines())
        print(f"  rendered {stage} overlay: {objects} objects, {lines} lines, {len(rendered):,} bytes")


IN_PROCESS_SCORING = """
import json, pickle, sys, time
import numpy as np
import pandas as pd
from {package}.data import read_csv
model = pickle.load(open("models/model.pkl", "rb"))
start = time.perf_counter()
table = read_csv(sys.argv[1])
scores = model.predict_proba(table[model.feature_names_in_])
table["prediction"] = np.asarray(model.classes_)[scores.argmax(axis=1)]
for index, label in enumerate(model.classes_):
    table[f"probability_{{label}}"] = scores[:, index]
table["model_version"] = "in-process"
table.to_csv(sys.argv[2], index=False)
print(json.dumps({{"rows": len(table), "seconds": time.perf_counter() - start}}))
"""


def scoring(project: Path, rows: int) -> None:
    """`mlci score` of a table with a stored build, against the same model scoring the same table in process."""
    run("uv", "run", "--no-sync", "mlci", "build", "bench-scoring", cwd=project)
    raw = (project / "data" / "penguins.csv").read_text().splitlines()
    header, body = raw[0], raw[1:]
    table = project.parent / "to-score.csv"
    table.write_text("\n".join([header, *(body[i % len(body)] for i in range(rows))]) + "\n")
    package = project.name.replace("-", "_")
    script = IN_PROCESS_SCORING.format(package=package)
    baseline = json.loads(
        run("uv", "run", "--no-sync", "python", "-c", script, str(table), "in-process.csv", cwd=project)
    )
    command = ("uv", "run", "--no-sync", "mlci", "score", str(table), "scored.csv", "--version", "bench-scoring")
    wall = timed(*command, cwd=project)
    said = run(*command, cwd=project)
    rate = float(said.split("(")[1].split(" rows/s")[0].replace(",", ""))
    own = baseline["rows"] / baseline["seconds"]
    print(f"\nScoring a table of {rows:,} rows (CSV in, CSV out)")
    print(f"  the model in process: read, predict, write the same columns (baseline) {own:10,.0f} rows/s")
    print(f"  mlci score: every row checked by the build's contract                  {rate:10,.0f} rows/s", end="")
    print(f"   ratio {rate / own:.2f}")
    print(f"  mlci score, the whole command (imports, build fetched and checked): {wall:.1f} s")


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, with test credentials in this process's environment."""
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"bench: moto's S3 server did not start on port {port}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()


def push_and_pull(workdir: Path, storage: str, endpoint: str = "") -> tuple[float, float, int]:
    """`dvc push` of a reproduced pipeline, and `dvc pull` in a fresh clone of it: seconds each, bytes pushed."""
    project = generate(workdir, storage)
    if endpoint:
        config = project / "mlci.toml"
        config.write_text(config.read_text().replace('endpoint = ""', f'endpoint = "{endpoint}"'))
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint  # what the noxfile passes DVC from mlci.toml
    run("uv", "sync", "--quiet", cwd=project)
    run("uv", "run", "--no-sync", "dvc", "repro", "--quiet", cwd=project)
    run("git", "add", "--all", cwd=project)
    run("git", "-c", "user.name=bench", "-c", "user.email=b@e.com", "commit", "-qm", "Reproduce", cwd=project)
    push = timed("uv", "run", "--no-sync", "dvc", "push", "--quiet", cwd=project)
    cache = project / ".dvc" / "cache"
    pushed = sum(path.stat().st_size for path in cache.rglob("*") if path.is_file())
    clone = workdir / "clone"
    run("git", "clone", "--quiet", str(project), str(clone), cwd=workdir)
    run("uv", "sync", "--quiet", cwd=clone)
    pull = timed("uv", "run", "--no-sync", "dvc", "pull", "--quiet", cwd=clone)
    return push, pull, pushed


def storage(workdir: Path) -> None:
    """The DVC remote in a local folder, then in a bucket of an S3 server on this machine."""
    local = push_and_pull(workdir / "local-remote", "")
    with s3_server() as endpoint:
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        bucket = push_and_pull(workdir / "s3-remote", "s3://bench/penguins", endpoint)
    print(
        f"\nThe DVC remote: push of the reproduced pipeline ({local[2]:,} bytes), pull in a fresh clone (one run each)"
    )
    print(f"  {'':34} {'push s':>7} {'pull s':>7}")
    print(f"  {'local folder (baseline)':34} {local[0]:7.2f} {local[1]:7.2f}")
    print(f"  {'S3 bucket (moto, 127.0.0.1)':34} {bucket[0]:7.2f} {bucket[1]:7.2f}")
    print(f"  ratio push {bucket[0] / local[0]:.1f}x, pull {bucket[1] / local[1]:.1f}x (includes DVC's start, ~1 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic frame")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each DVC command")
    parser.add_argument("--score-rows", type=int, default=500_000, help="rows of the table `mlci score` scores")
    parser.add_argument(
        "--spark-rows", default="100000,1000000,3000000", help="table sizes of the Spark part, comma-separated"
    )
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients for the service, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of load per server at each level")
    parser.add_argument("--rounds", type=int, default=4, help="turns the servers take at each level")
    parser.add_argument("--workdir", type=Path, default=TEMPLATE / "build" / "bench", help="emptied, then used")
    parts = (
        "validation",
        "pipeline",
        "service",
        "serving",
        "peers",
        "hostile",
        "promotion",
        "scoring",
        "experiments",
        "spark",
        "storage",
    )
    parser.add_argument("--parts", default=",".join(parts), help=f"which to measure, of {', '.join(parts)}")
    parser.add_argument(
        "--page", type=Path, default=TEMPLATE / "docs" / "benchmarks.md", help="the docs page the run is written to"
    )
    args = parser.parse_args()
    chosen = args.parts.split(",")
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)}; choose among {', '.join(parts)}")
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with recorded(args.page, sys.argv[1:], TEMPLATE):
        measure(args, chosen, workdir)
        write(workdir / "results.json")


def measure(args: argparse.Namespace, chosen: list[str], workdir: Path) -> None:
    """Each chosen part, in order, on one generated repository."""
    project = generate(workdir)
    run("uv", "sync", "--quiet", cwd=project)
    print(f"Machine: {machine()}")
    if "validation" in chosen:
        validation(project, args.rows)
    if {"pipeline", "service", "serving", "peers", "hostile", "promotion", "scoring", "experiments", "spark"} & set(
        chosen
    ):
        pipeline(project, args.repeat)  # the model the later parts serve and promote
    if "service" in chosen:
        service(project, args.levels, args.seconds, args.rounds)
    if "serving" in chosen:
        serving_speed(project, args.seconds, args.rounds)
    if "peers" in chosen:
        stored_build(project)
        peers(project, args.seconds, args.rounds)
    if "hostile" in chosen:
        hostile(project, min(args.seconds, 6))
    if "promotion" in chosen:
        commit_reproduced(project)
        promotion(project)
    if "scoring" in chosen:
        scoring(project, args.score_rows)
    if "experiments" in chosen:
        commit_reproduced(project)  # experiments start from a commit
        experiments(project)
    if "spark" in chosen:
        commit_reproduced(project)  # a build is made of a commit
        spark_scoring(project, [int(rows) for rows in args.spark_rows.split(",")])
    if "storage" in chosen:
        storage(workdir / "storage-parts")


if __name__ == "__main__":
    main()
