"""Load and baselines for the service benchmark, run inside a generated repository's environment.

`load URL LEVELS SECONDS` drives a served `/predict` with concurrent clients; `inprocess` times the model's
own `predict`, one record per call and batched; `fastapi PORT` serves the same model as a minimal FastAPI app.
Each prints one JSON object (but `fastapi`, which serves until stopped).
"""

from __future__ import annotations

import http.client
import importlib
import json
import pickle
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlci.build import Project

EXAMPLE = Path("examples/predict.json")  # the repository's own example request: one record


def package() -> str:
    """The generated package's name."""
    return Project.read(Path("."), "model").package


def client(url: str, until: float, latencies: list[float], errors: list[int]) -> None:
    """One client on one kept-alive connection, sending a request as soon as the last is answered."""
    parts = urlsplit(url)
    body = EXAMPLE.read_bytes()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            connection.request("POST", parts.path, body, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
        except (OSError, http.client.HTTPException):
            errors.append(0)
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        latencies.append(time.perf_counter() - start)


def load(url: str, clients: int, seconds: float) -> dict[str, float]:
    """Requests per second, p50 and p99 latency in ms, and errors, for `clients` concurrent clients."""
    latencies: list[float] = []
    errors: list[int] = []
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(url, until, latencies, errors)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "rps": (len(ordered) - len(errors)) / seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "errors": len(errors),
    }


def model() -> Any:
    train = importlib.import_module(f"{package()}.train")
    return pickle.loads(train.MODEL.read_bytes())


def inprocess(seconds: float) -> dict[str, float]:
    """Records per second of the model's own predict: one record per call, and 1000 per call."""
    import pandas as pd

    fitted = model()
    records = json.loads(EXAMPLE.read_text())["records"]
    one = pd.DataFrame(records)
    many = pd.DataFrame(records * 1000)
    rates = {}
    for name, frame in (("per_record", one), ("batched", many)):
        calls, until = 0, time.monotonic() + seconds
        start = time.perf_counter()
        while time.monotonic() < until:
            fitted.predict_proba(frame)
            calls += 1
        rates[name] = calls * len(frame) / (time.perf_counter() - start)
    return rates


def fastapi(port: int) -> None:
    """The same model behind a minimal FastAPI app with the same request model, served by uvicorn."""
    import uvicorn
    from fastapi import FastAPI

    contract = importlib.import_module(f"{package()}.contract")
    service = importlib.import_module(f"{package()}.service")
    fitted = model()
    app = FastAPI()

    @app.post("/predict")  # type: ignore[untyped-decorator]  # fastapi runs in the generated environment only
    def predict(request: dict[str, Any]) -> Any:
        records = [contract.Record.model_validate(record) for record in request["records"]]
        return service.answers(fitted, service.as_frame(service.as_rows(records)), "fastapi")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "load":
        url, levels, seconds = args
        print(json.dumps([load(url, int(level), float(seconds)) for level in levels.split(",")]))
    elif command == "inprocess":
        print(json.dumps(inprocess(float(args[0]))))
    elif command == "fastapi":
        fastapi(int(args[0]))
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
