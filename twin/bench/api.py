"""Load on the console's JSON API: the incident list and an incident's page at a steady
200 requests/s for 30 s, from a second process on loopback, against PostgreSQL.

A throwaway database is created (and dropped) on the server of TWIN_BENCH_POSTGRES_URL, else
TWIN_TEST_POSTGRES_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/test. The API runs in
uvicorn in its own process; the load generator is an open-loop async httpx client in another
(requests are sent on schedule whether or not earlier ones have answered, so a slow server
shows as latency, not as fewer requests).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RPS = 200
SECONDS = 30
EXTRA_INCIDENTS = {"S": 20, "M": 50, "L": 100}
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# One uvicorn worker per core (at most 4): a Python process serves about 120 requests/s of
# these pages on one core before latency climbs.
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _load(
    base: str, token: str, paths: list[str], rps: int, seconds: float, connections: int = 64
) -> dict[str, Any]:
    """Open-loop load at `rps` for `seconds`: request i is due at t0 + i/rps and goes out on
    the first idle keep-alive connection (a new one is opened, up to `connections`, when none is
    idle), so a slow server shows as latency, not as fewer requests. Raw HTTP/1.1 on asyncio
    streams: the generator costs little CPU next to the server it measures."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        (
            f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        for p in paths
    ]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened = 0
    slots = asyncio.Semaphore(connections)

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> int:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        return status

    async def one(raw: bytes, due: float) -> None:
        nonlocal opened
        async with slots:
            try:
                reader, writer = idle.get_nowait()
            except asyncio.QueueEmpty:
                reader, writer = await asyncio.open_connection(host, port)
                opened += 1
            try:
                status = await asyncio.wait_for(exchange(reader, writer, raw), 10.0)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
            ) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                writer.close()
                return
            # Latency from when the request was due, so waiting for a connection counts too.
            latencies.append((time.perf_counter() - due) * 1000.0)
            idle.put_nowait((reader, writer))
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
                latencies.pop()

    total = int(rps * seconds)
    tasks = []
    t0 = time.perf_counter()
    for i in range(total):
        due = t0 + i / rps
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[i % len(requests)], due)))
    sent_in = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    while not idle.empty():
        idle.get_nowait()[1].close()
    return {
        "requests": total,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies, default=float("nan")), 2),
        "offered_rps": round(total / sent_in, 1),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "connections_opened": opened,
        "generator": "python-asyncio (open loop, raw HTTP/1.1 keep-alive)",
    }


def _serve_options() -> list[str]:
    """uvloop and httptools when installed (faster event loop and HTTP parser), else defaults."""
    import importlib.util

    options = []
    if importlib.util.find_spec("uvloop"):
        options += ["--loop", "uvloop"]
    if importlib.util.find_spec("httptools"):
        options += ["--http", "httptools"]
    return options


def _wait_up(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with {proc.returncode}")
        try:
            httpx.get(base + "/api/openapi.json", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the API server did not start in time")


def run(size: str) -> dict[str, dict]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from twin.api.demo import seed_demo
    from twin.engine.service import forget_services
    from twin.store.db import make_engine, session_scope
    from twin.store.users import Role, add_token, add_user

    server = (
        os.environ.get("TWIN_BENCH_POSTGRES_URL")
        or os.environ.get("TWIN_TEST_POSTGRES_URL")
        or DEFAULT_SERVER
    )
    name = f"twin_bench_api_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = (
        make_url(server)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        now = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="twin-bench-api-") as folder:
            seeded = seed_demo(
                url, Path(folder), now=now, extra_incidents=EXTRA_INCIDENTS.get(size.upper(), 20)
            )
            forget_services()
        db = make_engine(url)
        with session_scope(db) as session:
            add_user(session, name="bench", role=Role.viewer, password=None, at=now)
            token = add_token(session, name="bench", at=now, label="bench")
        db.dispose()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "twin.api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--no-server-header",
                "--workers",
                str(WORKERS),
                *_serve_options(),
            ],
            env={**os.environ, "TWIN_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_up(base, proc)
        paths = ["/api/incidents?limit=50", f"/api/incidents/{seeded.incident_id}"]
        load = subprocess.run(
            [
                sys.executable,
                "-m",
                "twin.bench.api",
                "load",
                base,
                token,
                str(RPS),
                str(SECONDS),
                *paths,
            ],
            capture_output=True,
            text=True,
            timeout=SECONDS * 4 + 60,
            check=True,
        )
        figures = json.loads(load.stdout)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {
        "api": {
            "rps_target": RPS,
            "seconds": SECONDS,
            **figures,
            "backend": "postgresql",
            "workers": WORKERS,
            "server": " ".join(["uvicorn", *_serve_options()]),
            "paths": paths,
            "incidents": 1 + EXTRA_INCIDENTS.get(size.upper(), 20),
        }
    }


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "load":
    _, _, base_url, bearer, rate, duration, *routes = sys.argv
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.stdout.write(
        json.dumps(asyncio.run(_load(base_url, bearer, routes, int(rate), float(duration)))) + "\n"
    )
