"""Load and baselines for the service benchmark, run inside a generated repository's environment.

`load URLS LEVELS SECONDS ROUNDS [RECORDS]` drives each served `/predict` (comma-separated URLs) with concurrent
clients sending RECORDS records per request (default 1), taking turns in short rounds so that a machine's drift
during the run weighs on every server alike; `inprocess` times the model's own `predict`, one record per call
and batched, and the inference log's own cost per record;
`fastapi PORT` serves the same model as a minimal FastAPI app; `bare PORT` answers a constant with the HTTP
stack the service runs on. Each prints one JSON value (but `fastapi` and `bare`, which serve until stopped).
Requests and in-process calls alike carry varied records drawn from the repository's data.
"""

from __future__ import annotations

import functools
import http.client
import importlib
import json
import pickle
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlci.core.config import load_config
from mlci.core.project import Project
from mlci_serving.schema import Schema

DATA = Path("data/penguins.csv")  # the template's own table, from which requests are drawn
CONSTANT = b'{"predictions": [{"prediction": "constant", "model_version": "none"}]}'


def package() -> str:
    """The generated package's name."""
    return Project.read(Path("."), load_config(Path("mlci.toml"))).package


def schema() -> Schema:
    """The generated package's schema, as the runtime reads it."""
    return Schema.of(importlib.import_module(f"{package()}.schema"))


def varied_records(count: int) -> list[dict[str, Any]]:
    """`count` records drawn at random from the repository's data, as a request holds them: varied rows, as
    traffic sends them (one record repeated makes the model several times faster than it is), each one a record
    the contract accepts."""
    import pandas as pd
    from mlci_serving.batch import TableScorer

    table = pd.read_csv(DATA, dtype=str)
    scorer = TableScorer(schema())
    records = [scorer.as_record(table, position) for position in range(len(table))]
    accepted = [record for record in records if scorer.reason(record) is None]
    draw = random.Random(1)
    return [draw.choice(accepted) for _ in range(count)]


@functools.cache
def body(records: int) -> bytes:
    """A request of `records` varied records, made once (`load` makes it before any client starts)."""
    return json.dumps({"records": varied_records(records)}).encode()


def client(url: str, until: float, latencies: list[float], errors: list[int], records: int = 1) -> None:
    """One client on one kept-alive connection, sending a request as soon as the last is answered."""
    parts = urlsplit(url)
    sent = body(records)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            connection.request("POST", parts.path, sent, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
        except (OSError, http.client.HTTPException):
            errors.append(0)
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        latencies.append(time.perf_counter() - start)


def drive(url: str, clients: int, seconds: float, latencies: list[float], errors: list[int], records: int = 1) -> None:
    """Send requests from `clients` concurrent clients for `seconds`, adding to `latencies` and `errors`."""
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(url, until, latencies, errors, records)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def summary(clients: int, seconds: float, latencies: list[float], errors: list[int]) -> dict[str, float]:
    """Requests per second, p50 and p99 latency in ms, and errors."""
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "rps": (len(ordered) - len(errors)) / seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "errors": len(errors),
    }


def load(
    urls: list[str], levels: list[int], seconds: float, rounds: int, records: int = 1
) -> list[list[dict[str, float]]]:
    """Per URL, the figures at each level: `seconds` of load each, given in `rounds` turns taken by the URLs;
    `records` per request."""
    figures: list[list[dict[str, float]]] = [[] for _ in urls]
    body(records)  # drawn and checked before the clock starts
    for clients in levels:
        measured: list[tuple[list[float], list[int]]] = [([], []) for _ in urls]
        for _ in range(rounds):
            for url, (latencies, errors) in zip(urls, measured, strict=True):
                drive(url, clients, seconds / rounds, latencies, errors, records)
        for per_url, (latencies, errors) in zip(figures, measured, strict=True):
            per_url.append(summary(clients, seconds, latencies, errors) | {"records": records})
    return figures


def model() -> Any:
    train = importlib.import_module(f"{package()}.train")
    return pickle.loads(train.MODEL.read_bytes())


def compiled(fitted: Any) -> Any:
    """The model as a build serves it when it compiles: ONNX, run by ONNX Runtime."""
    from mlci_serving.compile import compiled_bytes
    from mlci_serving.compiled import CompiledModel

    return CompiledModel(compiled_bytes(fitted, schema()), schema())


def inprocess(seconds: float) -> dict[str, float]:
    """Records per second of the trained model's own predict and of the compiled model's, one record per call
    and 1000 per call; the log's cost."""
    import pandas as pd

    fitted = model()
    varied = varied_records(1000)
    # each as the service hands it records: the trained model a frame, the compiled one the rows
    trained = {"per_record": as_frame(pd.DataFrame(varied[:1])), "batched": as_frame(pd.DataFrame(varied))}
    rows = {"per_record": varied[:1], "batched": varied}
    rates = {}
    for prefix, predictor, given in (("", fitted, trained), ("compiled_", compiled(fitted), rows)):
        for name, batch in given.items():
            calls, until = 0, time.monotonic() + seconds
            start = time.perf_counter()
            while time.monotonic() < until:
                predictor.predict_proba(batch)
                calls += 1
            rates[prefix + name] = calls * len(batch) / (time.perf_counter() - start)
    return {**rates, **log_cost(varied[0])}


def as_frame(frame: Any) -> Any:
    """The frame as the service hands it to the model: the features in training's order."""
    from mlci_serving.answers import as_frame as service_frame

    return service_frame(frame.to_dict("records"), schema().feature_names)


def log_cost(record: dict[str, Any], batches: int = 10_000, batch: int = 10) -> dict[str, float]:
    """Microseconds per record the inference log costs: on the request path, and in its writer thread."""
    from mlci_serving import inference_log

    rows, predictions = [dict(record) for _ in range(batch)], ["Adelie"] * batch
    ids = [f"r{index}" for index in range(batch)]
    with tempfile.TemporaryDirectory() as folder:
        settings = inference_log.Settings(url=folder, capacity=batches * batch, flush_seconds=3600)
        log = inference_log.InferenceLog(settings)
        start = time.perf_counter()
        for _ in range(batches):
            log.record("bench", ids, rows, predictions)
        request_path = time.perf_counter() - start
        log.close()
        entries = [(time.time(), "bench", "r0", row, "Adelie") for row in rows * batches]
        start = time.perf_counter()
        data = b"".join(inference_log.serialize(entry) for entry in entries)
        inference_log.write_file(log.fs, f"{folder}/bench.jsonl", data)
        writer = time.perf_counter() - start
    records = batches * batch
    return {"log_request_us": 1e6 * request_path / records, "log_writer_us": 1e6 * writer / records}


def beside_hostile(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """Good traffic's figures in windows of `seconds`: alone three times, then beside each hostile request sent
    once (and beside 50 clients gone mid-body and 3,000 unknown paths); each hostile request's status, answer
    length and time."""
    import hostile

    (record,) = varied_records(1)

    def window(action: Any) -> dict[str, float]:
        latencies: list[float] = []
        errors: list[int] = []
        worker = threading.Thread(target=drive, args=(url, clients, seconds, latencies, errors))
        worker.start()
        time.sleep(seconds / 4)  # the hostile request lands in the window's middle
        action()
        worker.join()
        return summary(clients, seconds, latencies, errors)

    alone = [window(lambda: None) for _ in range(3)]
    beside: dict[str, dict[str, float]] = {}
    answers: dict[str, tuple[int, int, float]] = {}
    for request in hostile.bodies(record):
        sent = request.body()
        beside[request.name] = window(
            lambda sent=sent, name=request.name: answers.__setitem__(name, hostile.post(url, sent))
        )
    base = url.rsplit("/", 1)[0]
    beside["50 clients gone mid-body"] = window(lambda: hostile.gone_mid_body(url, 50))
    beside["3,000 unknown paths"] = window(lambda: hostile.unknown_paths(base, 3000))
    return {"alone": alone, "beside": beside, "answers": answers}


def fastapi(port: int) -> None:
    """The same model behind a minimal FastAPI app with the same request model, served by uvicorn."""
    import uvicorn
    from fastapi import FastAPI
    from mlci_serving.answers import TrainedModel, answers, record_ids
    from mlci_serving.contract import Contract

    read, contract = schema(), Contract(schema())
    trained = TrainedModel(model(), read.feature_names)
    app = FastAPI()

    @app.post("/predict")  # type: ignore[untyped-decorator]  # fastapi runs in the generated environment only
    def predict(request: dict[str, Any]) -> Any:
        rows = contract.rows([contract.record.model_validate(record) for record in request["records"]])
        return answers(trained, rows, "fastapi", record_ids(rows, read.identifier), read.task)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def constant_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that reads the request and answers the same few bytes: the limit of the HTTP stack."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":  # startup: ready at once
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": CONSTANT})


def bare(port: int) -> None:
    """The constant answer served by uvicorn as BentoML's worker configures it (one worker, its default loop and
    HTTP parser, no server header): what the HTTP stack alone costs on this machine."""
    import uvicorn

    config = uvicorn.Config(
        constant_answer, host="127.0.0.1", port=port, log_config=None, workers=1, server_header=False
    )
    uvicorn.Server(config).run()


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "load":
        urls, levels, seconds, rounds, *records = args
        clients = [int(level) for level in levels.split(",")]
        print(
            json.dumps(load(urls.split(","), clients, float(seconds), int(rounds), int(records[0] if records else 1)))
        )
    elif command == "hostile":
        url, count, seconds = args
        print(json.dumps(beside_hostile(url, int(count), float(seconds))))
    elif command == "inprocess":
        print(json.dumps(inprocess(float(args[0]))))
    elif command == "fastapi":
        fastapi(int(args[0]))
    elif command == "bare":
        bare(int(args[0]))
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
