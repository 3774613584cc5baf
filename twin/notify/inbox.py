"""A local webhook receiver: where the demo's notify channels deliver, so a page is seen.

Each POST to `/CHANNEL` is appended to a JSON Lines file and handed to a callback (the demo
prints it in the terminal). Local only: it binds 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Inbox:
    """A webhook receiver on 127.0.0.1 (port 0: any free one) writing what it gets to `log`."""

    def __init__(self, log: Path, on_page: Callable[[str, dict[str, Any]], None] | None = None):
        self.log = log
        self.on_page = on_page
        self.lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                channel = self.path.strip("/") or "default"
                inbox.record(channel, body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, channel: str, body: Any) -> None:
        with self.lock, self.log.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"channel": channel, "body": body}) + "\n")
        if self.on_page is not None and isinstance(body, dict):
            self.on_page(channel, body)

    def start(self) -> Inbox:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def channels_toml(names: list[str], url: str) -> str:
    """`[[notify.channels]]` tables sending each named channel to the inbox at `url`."""
    return "".join(
        f'\n[[notify.channels]]\nname = "{name}"\nurl = "{url}/{name}"\nattempts = 2\n'
        for name in names
    )


def page_line(channel: str, body: dict[str, Any]) -> str:
    """A webhook notification as one terminal line: channel, summary, link."""
    incident = body.get("incident") or {}
    return f"page → {channel}: {body.get('summary', '')}  {incident.get('url', '')}".rstrip()
