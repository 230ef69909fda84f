"""Requests an attacker or an unlucky client sends a served model, as the integrity probe measured them: each
sent once over HTTP, its status and time kept. Shared by the slow HTTP test and `nox -s bench -- --parts
hostile`; standard library only, so it runs in any environment.

Before the guard's bounds, the first took 47 s and 2.8 GB, stalling every other client; the second 13 GB; the
third 18 s; 50 disconnects wrote 50 tracebacks; 3,000 unknown paths added 60,000 series to `/metrics`.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


def empty_records(count: int) -> bytes:
    return b'{"records": [' + b",".join([b"{}"] * count) + b"]}"


def unknown_fields(count: int) -> bytes:
    return json.dumps({"records": [{f"k{index}": 0 for index in range(count)}]}).encode()


def long_name(characters: int) -> bytes:
    return json.dumps({"records": [{"n" * characters: 1}]}).encode()


def wrong_values(example: dict[str, object], records: int) -> bytes:
    """`records` copies of the example with every value of the wrong kind: a problem per value."""
    wrong = {name: 7 if isinstance(value, str) else "text" for name, value in example.items()}
    return json.dumps({"records": [wrong] * records}).encode()


def forged_line() -> bytes:
    return json.dumps({"records": [{"x\nERROR forged line \x1b[31m": 1}]}).encode()


@dataclass(frozen=True)
class Hostile:
    """One hostile request: what it is, and its body."""

    name: str
    body: Callable[[], bytes]


def bodies(example: dict[str, object]) -> list[Hostile]:
    return [
        Hostile("1,000,000 empty records (2.9 MiB)", lambda: empty_records(1_000_000)),
        Hostile("5,000,000 empty records (15 MiB)", lambda: empty_records(5_000_000)),
        Hostile("one record of 900,000 unknown fields", lambda: unknown_fields(900_000)),
        Hostile("1,000 records, every value wrong", lambda: wrong_values(example, 1000)),
        Hostile("an unknown field name of 8 MiB", lambda: long_name(8 << 20)),
        Hostile("a field name that forges a log line", forged_line),
    ]


def post(url: str, body: bytes) -> tuple[int, int, float]:
    """Status, answer's length and seconds of one POST of `body`."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    start = time.perf_counter()
    try:
        connection.request("POST", parts.path, body, {"content-type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        return response.status, len(answer), time.perf_counter() - start
    finally:
        connection.close()


def gone_mid_body(url: str, clients: int) -> None:
    """`clients` clients that announce a body, send part of it and hang up."""
    parts = urlsplit(url)
    for _ in range(clients):
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
            head = f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            head += "Content-Length: 1000\r\n\r\n"
            sock.sendall(head.encode() + b'{"records": [')


def unknown_paths(base: str, count: int) -> list[int]:
    """The statuses of GETs of `count` paths the service does not have."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    statuses = []
    try:
        for index in range(count):
            connection.request("GET", f"/no-such-path-{index}")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        connection.close()
    return statuses
