"""A local fake receiver (a small HTTP server on 127.0.0.1) and incidents to page about."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "playbook"))

from playbook_builders import make_alert

from twin.domain.incidents import (
    Incident,
    IncidentState,
    Notification,
    PlanDiff,
    incident_id,
)

T0 = datetime(2024, 1, 2, 6, tzinfo=UTC)


class Receiver:
    """Answers 200 to every POST and keeps (path, headers, JSON body) of each."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(202 if self.path.endswith("enqueue") else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[Any]:
        return [body for _, _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


def make_incident(
    state: IncidentState = IncidentState.proposed,
    channels: tuple[str, ...] = ("oncall",),
    updated_at: datetime = T0,
    **alert: Any,
) -> Incident:
    return Incident(
        id=incident_id("AL-1", "pb"),
        alert_id="AL-1",
        playbook_id="pb",
        alert=make_alert(**alert),
        why="critical security alert on SUEZ",
        state=state,
        diff=PlanDiff(status="optimal"),
        notifications=tuple(
            Notification(
                channel=name,
                summary="SUEZ closed: freight re-planned",
                severity="critical",
                labels={"target": "SUEZ", "dimension": "security"},
            )
            for name in channels
        ),
        created_at=T0,
        updated_at=updated_at,
    )
