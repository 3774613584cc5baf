"""Helpers for driving `twin daemon` as a user would: real processes, real files, real databases."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
TWIN = [sys.executable, "-m", "twin.cli.app"]
ADMIN_URL = os.environ.get("TWIN_DAEMON_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float, every: float = 0.2, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - not there yet (server starting, table missing)
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"twin_daemon_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN_URL}: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Receiver:
    """A local webhook: counts the notifications it gets, by Idempotency-Key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        received = self.keys

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def write_shipments(folder: Path, per_day: int = 15, days: int = 4) -> Path:
    from twin.files.networks import load_network
    from twin.files.shipments import write_shipments as write
    from twin.shipments.generate import generate_shipments

    network, _ = load_network("demo")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out = folder / "shipments.csv"
    write(generate_shipments(network, start=start, days=days, per_day=per_day, seed=11), out)
    return out


def write_config(
    folder: Path,
    url: str,
    *,
    hook: str | None = None,
    every: str = "1s",
    feed_url: str | None = None,
    lease: float = 3,
) -> Path:
    (folder / "feeds").mkdir(exist_ok=True)
    lines = [
        f'database_url = "{url}"',
        'network = "demo"',
        f'playbooks = "{REPO / "playbooks"}"',
        'shipments = "shipments.csv"',
        "",
        "[monitor]",
        f'every = "{every}"',
        "",
        "[[feeds]]",
        'name = "drop"',
        'path = "feeds/*"',
        f'every = "{every}"',
        "",
    ]
    if feed_url:
        lines += ["[[feeds]]", 'name = "remote"', f'url = "{feed_url}"', 'every = "1s"', ""]
    lines += ["[replan]", f'every = "{every}"', "", "[leader]", f"lease_seconds = {lease}", ""]
    if hook:
        # Every channel the shipped playbooks notify (an unknown one stops the daemon).
        for channel in ("oncall", "planning", "customs-brokers", "fulfilment"):
            lines += [
                "[[notify.channels]]",
                f'name = "{channel}"',
                f'url = "{hook}"',
                "attempts = 2",
                'timeout = "2s"',
                "",
            ]
    path = folder / "twin.toml"
    path.write_text("\n".join(lines) + "\n")
    if not (folder / "shipments.csv").exists():
        write_shipments(folder)
    return path


def drop_signals(folder: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    """Write a feed file the way a producer should: to a hidden temp name, then rename."""
    target = folder / "feeds" / name
    tmp = target.with_name(f".{name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(target)
    return target


def red_sea(
    source: str = "test", value: float = 6, ts: datetime | None = None
) -> list[dict[str, Any]]:
    at = (ts or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "ts": at,
            "source": source,
            "dimension": "security",
            "target": "BAB_EL_MANDEB",
            "metric": "incidents_7d",
            "value": value,
        },
        {
            "ts": at,
            "source": source,
            "dimension": "security",
            "target": "BAB_EL_MANDEB",
            "metric": "advisory_level",
            "value": 4,
        },
    ]


class Daemon:
    """One `twin daemon` process in `folder`."""

    def __init__(self, folder: Path, *, port: int | None = None, extra: tuple[str, ...] = ()):
        self.folder, self.port = folder, port or free_port()
        self.log = folder / f"daemon-{self.port}.log"
        self.proc = subprocess.Popen(
            [
                *TWIN,
                "daemon",
                "--config",
                "twin.toml",
                "--port",
                str(self.port),
                "--log-json",
                *extra,
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def health(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).json()

    def role(self) -> str | None:
        try:
            return str(self.health()["role"])
        except Exception:  # noqa: BLE001 - not up (yet)
            return None

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def logs(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts is killed at the end, whatever happened."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def query(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(
        url.replace("postgresql+psycopg", "postgresql+psycopg"), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql)))
    finally:
        engine.dispose()
