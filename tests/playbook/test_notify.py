"""Notifications against a real local HTTP server that fails the first try: retried, recorded, never fatal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from playbook_builders import T0, make_alert
from sqlalchemy.engine import Engine

from twin.domain.incidents import Incident, Notification, PlanDiff, incident_id
from twin.notify import Channel, deliver
from twin.store.db import session_scope
from twin.store.incidents import notification_attempts, record_attempts


class Receiver:
    """A local HTTP server answering 503 to the first `fail_first` requests, 200 after."""

    def __init__(self, fail_first: int = 1):
        self.fail_first = fail_first
        self.requests: list[tuple[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, body))
                code = 503 if len(receiver.requests) <= receiver.fail_first else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"busy" if code == 503 else b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(fail_first=1)
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


def incident(**alert: Any) -> Incident:
    return Incident(
        id=incident_id("AL-1", "pb"),
        alert_id="AL-1",
        playbook_id="pb",
        alert=make_alert(**alert),
        why="critical security alert on SUEZ",
        diff=PlanDiff(status="optimal"),
        created_at=T0,
        updated_at=T0,
    )


NOTE = Notification(
    channel="oncall",
    summary="SUEZ closed: freight re-planned",
    severity="critical",
    labels={"target": "SUEZ", "dimension": "security"},
)


def test_webhook_retries_after_a_failure(receiver: Receiver) -> None:
    waits: list[float] = []
    attempts = deliver(
        incident(),
        NOTE,
        Channel("oncall", receiver.url + "/hook", backoff_s=0.25),
        sleep=waits.append,
    )
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [(1, False, 503), (2, True, 200)]
    assert waits == [0.25]
    path, body = receiver.requests[-1]
    assert path == "/hook"
    assert body["summary"] == NOTE.summary and body["status"] == "firing"
    assert body["incident"]["id"] == incident().id and body["alert"]["target"] == "SUEZ"


def test_alertmanager_v2_format(receiver: Receiver) -> None:
    cleared = incident(cleared_at=T0 + timedelta(days=2))
    attempts = deliver(
        cleared,
        NOTE,
        Channel("pager", receiver.url, format="alertmanager", console_url="http://twin.local"),
        sleep=lambda s: None,
    )
    assert attempts[-1].ok and len(attempts) == 2
    path, body = receiver.requests[-1]
    assert path == "/api/v2/alerts"
    (alert,) = body
    assert set(alert) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    assert (
        alert["labels"]["alertname"] == "TwinIncident" and alert["labels"]["severity"] == "critical"
    )
    assert alert["labels"]["target"] == "SUEZ" and alert["labels"]["incident"] == cleared.id
    assert alert["annotations"]["summary"] == NOTE.summary
    assert alert["startsAt"] == "2024-01-02T06:00:00Z" and alert["endsAt"] == "2024-01-04T06:00:00Z"
    assert alert["generatorURL"] == f"http://twin.local/incidents/{cleared.id}"


def test_bounded_retries_with_backoff_and_no_exception() -> None:
    waits: list[float] = []
    # Nothing listens on port 9 (discard) here: every attempt fails to connect.
    attempts = deliver(
        incident(),
        NOTE,
        Channel("oncall", "http://127.0.0.1:9/x", attempts=3, backoff_s=0.5, timeout_s=1),
        sleep=waits.append,
    )
    assert [a.ok for a in attempts] == [False, False, False]
    assert waits == [0.5, 1.0]
    assert all(a.error for a in attempts)


def test_client_errors_are_not_retried() -> None:
    class Gone(BaseHTTPRequestHandler):  # a 404 for every POST
        def do_POST(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Gone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        attempts = deliver(
            incident(),
            NOTE,
            Channel("oncall", f"http://127.0.0.1:{server.server_port}/"),
            sleep=lambda s: None,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 404)]


def test_attempts_are_stored(engine: Engine, receiver: Receiver) -> None:
    attempts = deliver(incident(), NOTE, Channel("oncall", receiver.url), sleep=lambda s: None)
    with session_scope(engine) as session:
        record_attempts(session, attempts=attempts)
    with session_scope(engine) as session:
        stored = notification_attempts(session, incident_id=incident().id)
    assert [(a.attempt, a.ok, a.status_code) for a in stored] == [(1, False, 503), (2, True, 200)]
    assert stored[0].error.startswith("HTTP 503")
