"""Load on the console's JSON API: the incident list and an incident's page at a steady
200 requests/s for 30 s, from a second process on loopback, against PostgreSQL. Then
`api_signin_flood`: the same pages for a person signed in with a session cookie at 50
requests/s for 15 s while 40 connections send sign-ins with wrong passwords as fast as the
server answers (the per-address limit raised, as for an attacker with many addresses, so the
bounded password checks are what is measured); target: signed-in p99 under 200 ms.

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
FLOOD_CONNECTIONS = 40
FLOOD_SECONDS = 15
FLOOD_RPS = 50  # the signed-in person's pages during the flood
FLOOD_TARGET_P99_MS = 200.0
BENCH_PASSWORD = "bench-password-not-secret"
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
    base: str, auth: str, paths: list[str], rps: int, seconds: float, connections: int = 64
) -> dict[str, Any]:
    """Open-loop load at `rps` for `seconds`: request i is due at t0 + i/rps and goes out on
    the first idle keep-alive connection (a new one is opened, up to `connections`, when none is
    idle), so a slow server shows as latency, not as fewer requests. Raw HTTP/1.1 on asyncio
    streams: the generator costs little CPU next to the server it measures. `auth` is a header
    line: `Authorization: Bearer …` or `Cookie: …`."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        (
            f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\nAccept: application/json\r\n\r\n"
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


async def _flood(base: str, seconds: float, connections: int) -> dict[str, Any]:
    """`connections` clients each signing in with a wrong password, back to back, for `seconds`
    (each first fetches the sign-in form, then re-reads the CSRF token and cookie from every
    answer that carries new ones, as a script would). Raw HTTP/1.1 keep-alive on asyncio
    streams, like the load generator: the attacker's own CPU is not the server's to lose on a
    shared machine."""
    import re
    import secrets as random_names
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counts: dict[str, int] = {}
    stop_at = time.monotonic() + seconds
    token_in = re.compile(rb'name="csrf_token" value="([^"]*)"')
    cookie_in = re.compile(rb"set-cookie: (twin_login=[^;]*)", re.IGNORECASE)

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, bytes, bytes]:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        return int(head[9:12]), head, body

    async def attacker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        form = f"GET /login HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        _, head, body = await exchange(reader, writer, form)
        cookie = cookie_in.search(head)
        token = token_in.search(body)
        while time.monotonic() < stop_at:
            fields = urlencode(
                {
                    "username": "flood-" + random_names.token_hex(4),
                    "password": "wrong-password",
                    "csrf_token": token.group(1).decode() if token else "",
                }
            ).encode()
            raw = (
                f"POST /login HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(fields)}\r\n"
                f"Cookie: {cookie.group(1).decode() if cookie else ''}\r\n\r\n"
            ).encode() + fields
            try:
                status, head, body = await exchange(reader, writer, raw)
                key = str(status)
                cookie = cookie_in.search(head) or cookie
                token = token_in.search(body) or token
            except (OSError, asyncio.IncompleteReadError) as exc:
                key = type(exc).__name__
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            counts[key] = counts.get(key, 0) + 1
        writer.close()

    await asyncio.gather(*(attacker() for _ in range(connections)))
    return counts


def bench_app() -> Any:
    """The console with the per-address sign-in limit raised: the bench's flood comes from one
    loopback address, a real one from many."""
    from twin.api.app import create_app
    from twin.domain.settings import ServeSettings

    return create_app(serve=ServeSettings(sign_in_per_minute=1_000_000))


def _sign_in(base: str, name: str, password: str) -> str:
    """The `Cookie: twin_session=…` header line of a fresh session for `name`."""
    import re

    import httpx

    from twin.api.auth import SESSION_COOKIE

    with httpx.Client(base_url=base, timeout=30.0) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        client.post(
            "/login",
            data={
                "username": name,
                "password": password,
                "csrf_token": token.group(1) if token else "",
            },
        )
        cookie = client.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise RuntimeError(f"the bench user {name!r} could not sign in")
    return f"Cookie: {SESSION_COOKIE}={cookie}"


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
            httpx.get(base + "/login", timeout=1.0)
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
            add_user(session, name="bench", role=Role.viewer, password=BENCH_PASSWORD, at=now)
            token = add_token(session, name="bench", at=now, label="bench")
        db.dispose()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "twin.bench.api:bench_app",
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
            # One signing key for every worker: a cookie from one is good at the others.
            env={**os.environ, "TWIN_DATABASE_URL": url, "TWIN_SECRET_KEY": uuid.uuid4().hex},
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
                f"Authorization: Bearer {token}",
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
        flood = _flood_phase(base, _sign_in(base, "bench", BENCH_PASSWORD), paths)
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
        },
        "api_signin_flood": {
            **flood,
            "backend": "postgresql",
            "workers": WORKERS,
            "paths": paths,
            "signed_in_with": "session cookie",
            "target_p99_ms": FLOOD_TARGET_P99_MS,
            "met": bool(flood["p99_ms"] < FLOOD_TARGET_P99_MS and flood["errors"] == 0),
        },
    }


def _flood_phase(base: str, cookie: str, paths: list[str]) -> dict[str, Any]:
    """The signed-in load alone (the baseline), then with the sign-in flood at once, each in
    its own process."""
    command = [sys.executable, "-m", "twin.bench.api"]
    alone = subprocess.run(
        [*command, "load", base, cookie, str(FLOOD_RPS), str(FLOOD_SECONDS - 2), *paths],
        capture_output=True,
        text=True,
        timeout=FLOOD_SECONDS * 4 + 60,
        check=True,
    )
    baseline = json.loads(alone.stdout)
    flood = subprocess.Popen(
        [*command, "flood", base, str(FLOOD_SECONDS), str(FLOOD_CONNECTIONS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(1.0)  # the flood is under way before the first measured request
        load = subprocess.run(
            [*command, "load", base, cookie, str(FLOOD_RPS), str(FLOOD_SECONDS - 2), *paths],
            capture_output=True,
            text=True,
            timeout=FLOOD_SECONDS * 4 + 60,
            check=True,
        )
        sign_ins, _ = flood.communicate(timeout=FLOOD_SECONDS + 60)
    finally:
        if flood.poll() is None:
            flood.kill()
    figures = json.loads(load.stdout)
    answers = json.loads(sign_ins)
    return {
        "rps_target": FLOOD_RPS,
        "seconds": FLOOD_SECONDS - 2,
        **figures,
        "flood_connections": FLOOD_CONNECTIONS,
        "flood_seconds": FLOOD_SECONDS,
        "sign_ins": sum(answers.values()),
        "sign_in_answers": answers,
        "sign_ins_per_s": round(sum(answers.values()) / FLOOD_SECONDS, 1),
        "without_flood": {k: baseline[k] for k in ("p50_ms", "p99_ms", "max_ms", "errors")},
    }


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "flood":
    _, _, base_url, duration, clients = sys.argv
    sys.stdout.write(json.dumps(asyncio.run(_flood(base_url, float(duration), int(clients)))))

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "load":
    _, _, base_url, auth_line, rate, duration, *routes = sys.argv
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.stdout.write(
        json.dumps(asyncio.run(_load(base_url, auth_line, routes, int(rate), float(duration))))
        + "\n"
    )
