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


async def _load(base: str, token: str, paths: list[str], rps: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                 limits=limits, timeout=10.0) as client:
        async def one(path: str) -> None:
            started = time.perf_counter()
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    return
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append((time.perf_counter() - started) * 1000.0)

        total = int(rps * seconds)
        tasks = []
        t0 = time.perf_counter()
        for i in range(total):
            delay = t0 + i / rps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(paths[i % len(paths)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    return {"requests": total, "errors": sum(errors.values()), "error_kinds": errors,
            "p50_ms": round(_percentile(latencies, 0.50), 2), "p99_ms": round(_percentile(latencies, 0.99), 2),
            "max_ms": round(max(latencies, default=float("nan")), 2),
            "achieved_rps": round(total / elapsed, 1)}


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

    server = (os.environ.get("TWIN_BENCH_POSTGRES_URL") or os.environ.get("TWIN_TEST_POSTGRES_URL")
              or DEFAULT_SERVER)
    name = f"twin_bench_api_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    proc: subprocess.Popen[bytes] | None = None
    try:
        now = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="twin-bench-api-") as folder:
            seeded = seed_demo(url, Path(folder), now=now, extra_incidents=EXTRA_INCIDENTS.get(size.upper(), 20))
            forget_services()
        db = make_engine(url)
        with session_scope(db) as session:
            add_user(session, name="bench", role=Role.viewer, password=None, at=now)
            token = add_token(session, name="bench", at=now, label="bench")
        db.dispose()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "twin.api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(WORKERS)],
            env={**os.environ, "TWIN_DATABASE_URL": url}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_up(base, proc)
        paths = ["/api/incidents?limit=50", f"/api/incidents/{seeded.incident_id}"]
        load = subprocess.run(
            [sys.executable, "-m", "twin.bench.api", "load", base, token, str(RPS), str(SECONDS), *paths],
            capture_output=True, text=True, timeout=SECONDS * 4 + 60, check=True,
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
    return {"api": {"rps_target": RPS, "seconds": SECONDS, **figures, "backend": "postgresql", "workers": WORKERS,
                    "paths": paths, "incidents": 1 + EXTRA_INCIDENTS.get(size.upper(), 20)}}


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "load":
    _, _, base_url, bearer, rate, duration, *routes = sys.argv
    sys.stdout.write(json.dumps(asyncio.run(_load(base_url, bearer, routes, int(rate), float(duration)))) + "\n")
