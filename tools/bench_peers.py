"""The peers part of `nox -s bench`: the stored bento under `mlci serve` against a plain BentoML service of the
same model (`bench_plain.py`), the peer a user would pick, on the same varied records, rounds taken in turns.
MLflow's `models serve` is left out: it installs a second ML stack (minutes, and a pinned scikit-learn)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from bench_results import figure
from demo import TEMPLATE
from local_server import local_server

BENCH_SERVICE = TEMPLATE / "tools" / "bench_service.py"
PEER = "a plain BentoML service of the same trained model"


def peers(project: Path, seconds: float, rounds: int) -> None:
    """mlci's service over the plain one: one record at one client, 1000 records, one record at 32 clients."""
    bento_server = ["uv", "run", "--no-sync", "mlci", "serve", "--port", "{port}"]
    plain = ["uv", "run", "--no-sync", "bentoml", "serve", "bench_plain:Plain", "--port", "{port}"]
    tools = {"PYTHONPATH": str(TEMPLATE / "tools")}
    load = ["uv", "run", "--no-sync", "python", str(BENCH_SERVICE), "load"]

    def both(urls: str, clients: str, records: int) -> list[dict[str, float]]:
        said = subprocess.run(
            [*load, urls, clients, str(seconds), str(rounds), str(records)],
            cwd=project,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [figures[0] for figures in json.loads(said)]

    with contextlib.ExitStack() as servers:
        ours = servers.enter_context(local_server(bento_server, "/readyz", project))
        theirs = servers.enter_context(local_server(plain, "/readyz", project, tools))
        urls = f"{ours}/predict,{theirs}/predict"
        levels = [
            ("1 record, 1 client", "1", 1),
            ("1000 records, 1 client", "1", 1000),
            ("1 record, 32 clients", "32", 1),
        ]
        measured: list[tuple[str, dict[str, float], dict[str, float]]] = []
        for name, clients, records in levels:
            mlci, peer = both(urls, clients, records)
            measured.append((name, mlci, peer))
    print(f"\nPeers: the stored bento under `mlci serve` against {PEER}, varied records")
    print(f"  {'':24} {'mlci rows/s':>12} {'peer rows/s':>12} {'mlci p99 ms':>12} {'peer p99 ms':>12} {'ratio':>6}")
    for name, mlci, peer in measured:
        rows, peer_rows = mlci["rps"] * mlci["records"], peer["rps"] * peer["records"]
        ratio = figure(f"rows/s, {name}: mlci / the plain BentoML service", rows / peer_rows, "ratio", PEER)
        print(
            f"  {name:24} {rows:12,.0f} {peer_rows:12,.0f} {mlci['p99_ms']:12.1f} {peer['p99_ms']:12.1f}"
            f" {ratio.value:6.1f}x  (errors {int(mlci['errors'])} and {int(peer['errors'])})"
        )
