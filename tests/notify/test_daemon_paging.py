"""Paging through the daemon's own pass (`run_once`): the incident waiting for approval pages
once however many passes see it, the apply that follows pages once, links use external_url, and
an Alertmanager channel gets the incident on every pass with endsAt four passes ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.notify.conftest import Receiver
from twin.api.demo import demo_signals, drop_feed_file, write_demo
from twin.domain.incidents import IncidentState
from twin.engine.service import forget_services, run_once
from twin.playbook.incidents import transition
from twin.store.db import make_engine, session_scope
from twin.store.incidents import get_incident, save_transition

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=6)
EXTERNAL = "https://twin.example.org"


def _setup(tmp_path: Path, channel: str) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    config = write_demo(tmp_path, url, start=START)
    with config.open("a") as out:
        out.write(f'\n[serve]\nexternal_url = "{EXTERNAL}"\n\n{channel}')
    drop_feed_file(tmp_path, "suez.jsonl", demo_signals(START))
    return config, url


def _passes(config: Path, steps: range, *, more: int | None = None) -> tuple[str | None, int]:
    """Passes every 6 h over `steps`; with `more`, stop that many passes after the first
    incident. Returns the incident id and the next step."""
    found, after = None, 0
    step = steps.start
    for step in steps:
        report = run_once(config, now=START + step * STEP, base=config.parent)
        found = found or next((i.id for i in report.incidents), None)
        if found is not None and more is not None:
            if after == more:
                break
            after += 1
    return found, step + 1


def test_needs_approval_then_applied_each_paged_once(tmp_path: Path, receiver: Receiver) -> None:
    config, url = _setup(
        tmp_path, f'[[notify.channels]]\nname = "oncall"\nurl = "{receiver.url}/hook"\n'
    )
    try:
        # The incident waits for approval over three passes (18 h, inside its 24 h expiry).
        ident, step = _passes(config, range(12), more=2)
        assert ident is not None
        events = [(b["incident"]["id"], b["event"]) for b in receiver.bodies()]
        assert events == [(ident, "needs_approval")]
        body = receiver.bodies()[0]
        assert body["incident"]["url"] == f"{EXTERNAL}/incidents/{ident}"
        assert body["summary"].startswith("Needs approval: SUEZ closed or unsafe")
        db = make_engine(url)
        with session_scope(db) as session:
            incident = get_incident(session, id=ident)
            moved, entry = transition(
                incident, IncidentState.approved, at=START + step * STEP, by="ana", why="ok"
            )
            save_transition(session, incident=moved, entry=entry)
        db.dispose()
        _passes(config, range(step, step + 2))
        events = [b["event"] for b in receiver.bodies()]
        assert events == ["needs_approval", "applied"]
    finally:
        forget_services()


def test_alertmanager_channel_gets_the_incident_every_pass(
    tmp_path: Path, receiver: Receiver
) -> None:
    config, _ = _setup(
        tmp_path,
        f'[[notify.channels]]\nname = "oncall"\nkind = "alertmanager"\nurl = "{receiver.url}"\n',
    )
    try:
        ident, step = _passes(config, range(12), more=0)
        assert ident is not None
        before = len(receiver.requests)
        assert before == 1  # the pass that proposed it sent it
        _passes(config, range(step, step + 3))
        posts = receiver.requests[before:]
        assert [path for path, _, _ in posts] == ["/api/v2/alerts"] * 3
        # endsAt four monitor passes (default 5m) ahead of each pass's now.
        ends = [body[0]["endsAt"] for _, _, body in posts]
        assert ends == [
            (START + s * STEP + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for s in range(step, step + 3)
        ]
        assert all(body[0]["labels"]["incident"] == ident for _, _, body in posts)
        assert posts[0][2][0]["generatorURL"] == f"{EXTERNAL}/incidents/{ident}"
    finally:
        forget_services()
