"""An incident whose re-plan the pass's budget cut short is re-planned by a later pass while its
alert fires and nobody has decided on it, through the store (SQLite and PostgreSQL): its stored
plan is replaced, the audit log says so, and a decided incident is never replaced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twin.api.demo import demo_signals, drop_feed_file, write_demo
from twin.domain.incidents import Incident, IncidentState
from twin.engine.service import forget_services, incidents_of, routes_of, run_once, service_for
from twin.playbook.incidents import reproposed
from twin.store.db import session_scope
from twin.store.decisions import decide
from twin.store.incidents import StaleState, audit_log, get_incident, save_reproposal

S = IncidentState
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=6)


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    forget_services()
    yield
    forget_services()


def _budget(config: Path, budget: str | None) -> None:
    """Set (or drop, for the daemon's default) `[monitor] replan_budget` in the twin.toml."""
    text = config.read_text(encoding="utf-8").split("\n[monitor]")[0].rstrip("\n") + "\n"
    if budget is not None:
        text += f'\n[monitor]\nreplan_budget = "{budget}"\n'
    config.write_text(text, encoding="utf-8")
    forget_services()


def _first_incident(config: Path, folder: Path) -> tuple[Incident, datetime]:
    drop_feed_file(folder, "suez.jsonl", demo_signals(T0))
    for step in range(9):
        at = T0 + step * STEP
        report = run_once(config, now=at, base=folder)
        if report.incidents:
            return report.incidents[0], at
    raise AssertionError("the demo's Suez signals must open an incident")


def _stored(config: Path, folder: Path, ident: str) -> Incident:
    (found,) = [i for i in incidents_of(service_for(config, base=folder)) if i.id == ident]
    return found


def test_a_cut_short_incident_is_replanned_and_its_stored_plan_replaced(
    empty_url: str, tmp_path: Path
) -> None:
    config = write_demo(tmp_path, empty_url, start=T0)
    _budget(config, "0.001ms")
    cut, at = _first_incident(config, tmp_path)
    stored = _stored(config, tmp_path, cut.id)
    assert stored.state is S.proposed and stored.replan_stopped and stored.diff.changes == ()
    routes_before = dict(routes_of(service_for(config, base=tmp_path)))
    _budget(config, None)  # the daemon's default budget: time enough at this size
    report = run_once(config, now=at + STEP, base=tmp_path)
    assert cut.id in {i.id for i in report.incidents}
    again = _stored(config, tmp_path, cut.id)
    assert again.replan_stopped == () and again.created_at == cut.created_at
    assert again.updated_at == at + STEP
    assert again.diff.changes and all("SUEZ" not in c.new_path for c in again.diff.changes)
    # What an unbudgeted daemon proposes for the same signals (an independent store).
    forget_services()
    other = write_demo(tmp_path / "unbudgeted", f"sqlite:///{tmp_path / 'other.db'}", start=T0)
    truth, _ = _first_incident(other, tmp_path / "unbudgeted")
    assert [(c.shipment, c.new_path) for c in again.diff.changes] == [
        (c.shipment, c.new_path) for c in truth.diff.changes
    ]
    # The same guardrails trip (the figures differ: it is re-planned six hours later).
    tripped = [reason.split(" exceeds ")[-1] for reason in again.needs_approval]
    assert tripped == [reason.split(" exceeds ")[-1] for reason in truth.needs_approval]
    assert again.state is truth.state
    assert {a.shipment for a in again.new_routes} == {c.shipment for c in again.diff.changes}
    with session_scope(service_for(config, base=tmp_path).db) as session:
        log = audit_log(session, incident_id=cut.id)
    assert [e.action for e in log] == ["propose", "re-propose"]
    assert "cut short" in log[-1].why and log[-1].actor == "system"
    # Still waiting for a person (the detour trips the cost guardrail): no freight moved.
    assert dict(routes_of(service_for(config, base=tmp_path))) == routes_before


def test_a_decided_incident_is_left_as_the_person_left_it(empty_url: str, tmp_path: Path) -> None:
    config = write_demo(tmp_path, empty_url, start=T0)
    _budget(config, "0.001ms")
    cut, at = _first_incident(config, tmp_path)
    service = service_for(config, base=tmp_path)
    with session_scope(service.db) as session:
        decide(session, ident=cut.id, to=S.rejected, by="alice", comment="by phone", at=at)
    _budget(config, None)
    run_once(config, now=at + STEP, base=tmp_path)
    after = _stored(config, tmp_path, cut.id)
    assert after.state is S.rejected and after.diff.changes == () and after.replan_stopped
    with session_scope(service_for(config, base=tmp_path).db) as session:
        assert "re-propose" not in [e.action for e in audit_log(session, incident_id=cut.id)]
        # A re-proposal racing a person's decision is refused (the pass starts again).
        with pytest.raises(StaleState, match="no longer proposed"):
            save_reproposal(
                session,
                incident=after.model_copy(update={"state": S.proposed}),
                entry=reproposed(after, at=at + STEP, why="test"),
            )
        assert get_incident(session, id=cut.id).state is S.rejected
