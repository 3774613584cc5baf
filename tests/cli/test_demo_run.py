"""`make run` end to end: `twin demo` on a fresh folder reaches its first alert, one cause for the
Red Sea's first warning, and stops cleanly on Ctrl-C. Its parts are tested elsewhere; this is the
newcomer's first command, so it is run whole."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_until(process: subprocess.Popen[str], wanted: str, seconds: float) -> list[str]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=1.0):
            line = process.stdout.readline()
            lines.append(line)
            if wanted in line:
                return lines
    raise AssertionError(f"{wanted!r} not seen in {seconds:g} s; output:\n{''.join(lines)}")


def test_the_demo_opens_one_alert_cause_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "demo-run"
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "twin.cli.app", "demo", "--dir", str(folder)]
        + ["--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(process, "open:", 150)
        first = lines[-1]
        assert "1 alert cause open: warn security BAB_EL_MANDEB" in first, first
        assert "alerts they explain, folded under them" in first
        assert (folder / "playbooks").is_dir() and (folder / "twin.db").exists()
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        assert "stopped (daemon exit 0)" in rest
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
