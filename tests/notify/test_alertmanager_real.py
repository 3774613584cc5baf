"""Paging into a real Alertmanager (Debian's `prometheus-alertmanager`, started on a free local
port with a temporary configuration and storage): the incident stays firing while twin re-sends
it, resolves when twin says the cause cleared, and lapses if twin stops sending."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.notify.conftest import make_incident
from twin.domain.incidents import IncidentState as S
from twin.notify import Channel, deliver, incident_pages, resend_firing

BINARIES = ("prometheus-alertmanager", "alertmanager")


def _binary() -> str | None:
    found = next((shutil.which(name) for name in BINARIES if shutil.which(name)), None)
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        # Like `make browser` for chromium: install Debian's package when it is missing.
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "prometheus-alertmanager"],
            capture_output=True,
            check=False,
        )
        found = next((shutil.which(name) for name in BINARIES if shutil.which(name)), None)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _binary()
    if binary is None:
        pytest.skip("prometheus-alertmanager is not installed and apt-get could not install it")
    folder = tmp_path_factory.mktemp("alertmanager")
    config = folder / "alertmanager.yml"
    config.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"alertmanager did not start: {Path(folder / 'log').read_text()[-500:]}")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _active(url: str, incident: str) -> list[dict[str, object]]:
    alerts = httpx.get(f"{url}/api/v2/alerts", params={"filter": f'incident="{incident}"'}).json()
    return [a for a in alerts if a["status"]["state"] == "active"]


def test_firing_while_resent_then_resolved_when_the_cause_clears(alertmanager: str) -> None:
    every = timedelta(seconds=1)
    now = datetime.now(UTC)
    incident = make_incident(
        S.proposed, channels=("am",), opened_at=now - timedelta(minutes=10), updated_at=now
    )
    channels = {"am": Channel("am", alertmanager, format="alertmanager")}
    # Re-sent on every pass (one a second here) for longer than one endsAt window: stays up.
    started = time.monotonic()
    while time.monotonic() - started < 6:
        attempts = resend_firing([incident], channels, datetime.now(UTC), every)
        assert [a.ok for a in attempts] == [True], attempts
        time.sleep(every.total_seconds())
        (alert,) = _active(alertmanager, incident.id)
    assert alert["labels"]["alertname"] == "TwinIncident"  # type: ignore[index]
    assert alert["annotations"]["state"] == "proposed"  # type: ignore[index]
    # The cause clears: twin sends the incident once more, with endsAt now.
    cleared = incident.model_copy(
        update={"alert": incident.alert.model_copy(update={"cleared_at": datetime.now(UTC)})}
    )
    ((_, note),) = incident_pages([cleared], {"am": "alertmanager"}, since=now)
    assert note.labels["event"] == "resolved"
    assert deliver(cleared, note, channels["am"])[-1].ok
    time.sleep(0.5)
    assert _active(alertmanager, incident.id) == []


def test_a_page_twin_stops_sending_lapses(alertmanager: str) -> None:
    # A daemon that dies must not leave a page up forever: endsAt four passes ahead lapses.
    every = timedelta(seconds=1)
    now = datetime.now(UTC)
    incident = make_incident(S.applied, channels=("am",), opened_at=now, updated_at=now)
    incident = incident.model_copy(update={"id": "INC-lapses"})
    channels = {"am": Channel("am", alertmanager, format="alertmanager")}
    assert resend_firing([incident], channels, now, every)[-1].ok
    assert len(_active(alertmanager, incident.id)) == 1
    time.sleep(5.5)
    assert _active(alertmanager, incident.id) == []
