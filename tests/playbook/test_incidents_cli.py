"""`twin incidents …` on a real SQLite file: list/show JSON, approve, reject, rollback, exit 2 on bad ids."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from chain_world import NOW, MemoryEffector
from click.testing import Result
from test_chain import context, suez_alert
from typer.testing import CliRunner

from twin.cli.app import app
from twin.domain.incidents import IncidentState
from twin.files.playbooks import load_playbooks
from twin.playbook.incidents import transition
from twin.playbook.match import match_alert
from twin.playbook.runner import apply, opening_moves, propose
from twin.store.db import make_engine, session_scope
from twin.store.incidents import save_incident, save_transition
from twin.store.migrate import upgrade

LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"
S = IncidentState


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A migrated SQLite file holding two proposed incidents; returns its URL and their ids."""
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    engine = make_engine(url)
    upgrade(engine)
    playbooks = load_playbooks(LIBRARY)
    ids = {}
    for name, alert in (("suez", suez_alert()), ("bab", suez_alert(id="AL-SUEZ-2"))):
        incident, log = opening_moves(
            propose(match_alert(alert, playbooks), context(alert)), at=NOW
        )  # type: ignore[arg-type]
        with session_scope(engine) as session:
            save_incident(session, incident=incident, audit=log)
        ids[name] = incident.id
    engine.dispose()
    return url, ids


def twin(url: str, *args: str) -> Result:
    """Run `twin incidents ARGS` in-process (rich tables wide enough to read whole)."""
    return CliRunner().invoke(
        app, ["incidents", *args], env={"TWIN_DATABASE_URL": url, "COLUMNS": "250"}
    )


def test_list_show_approve_reject(db: tuple[str, dict[str, str]]) -> None:
    url, ids = db
    listed = twin(url, "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {r["id"] for r in rows} == set(ids.values())
    assert {"id", "alert", "playbook", "state"} <= set(rows[0])
    assert all(
        r["state"] == "proposed" and r["playbook"] == "avoid-closed-chokepoint" for r in rows
    )

    shown = json.loads(twin(url, "show", ids["suez"], "--json").stdout)
    assert shown["alert"] == "AL-SUEZ-1" and {c["shipment"] for c in shown["changes"]} == {
        "S1",
        "S2",
    }
    assert shown["changes"][0]["old_path"] != shown["changes"][0]["new_path"]
    assert shown["audit"][0]["to_state"] == "proposed"
    human = twin(url, "show", ids["suez"])
    assert human.exit_code == 0 and "YTN-RTM-CAPE" in human.stdout

    ok = twin(url, "approve", ids["suez"], "--by", "alice", "--comment", "Cape is fine", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["state"] == "approved"
    assert (
        twin(url, "reject", ids["bab"][:10], "--by", "bob").exit_code == 0
    )  # a unique prefix works

    again = twin(url, "approve", ids["suez"], "--by", "alice")
    assert again.exit_code == 2 and "cannot go from approved to approved" in again.stderr
    unknown = twin(url, "show", "INC-nope")
    assert unknown.exit_code == 2 and "no incident 'INC-nope'" in unknown.stderr
    no_rollback = twin(url, "rollback", ids["bab"], "--by", "bob")
    assert no_rollback.exit_code == 2 and "rejected" in no_rollback.stderr

    audit = json.loads(twin(url, "show", ids["suez"], "--json").stdout)["audit"]
    assert [(e["actor"], e["to_state"], e["why"]) for e in audit] == [
        ("system", "proposed", audit[0]["why"]),
        ("alice", "approved", "Cape is fine"),
    ]
    states = {r["id"]: r["state"] for r in json.loads(twin(url, "list", "--json").stdout)}
    assert states == {ids["suez"]: "approved", ids["bab"]: "rejected"}
    assert [r["id"] for r in json.loads(twin(url, "list", "--open", "--json").stdout)] == [
        ids["suez"]
    ]


def test_rollback_of_an_applied_incident(db: tuple[str, dict[str, str]]) -> None:
    url, ids = db
    engine = make_engine(url)
    from twin.store.incidents import get_incident

    with session_scope(engine) as session:
        incident = get_incident(session, id=ids["suez"])
        approved, entry = transition(incident, S.approved, at=NOW, by="alice")
        save_transition(session, incident=approved, entry=entry)
        applied, entry = apply(approved, MemoryEffector(routes={}), at=NOW + timedelta(minutes=5))
        save_transition(session, incident=applied, entry=entry)
    engine.dispose()
    done = twin(url, "rollback", ids["suez"], "--by", "carol", "--json")
    assert done.exit_code == 0, done.stderr
    body = json.loads(done.stdout)
    # Run today (long after the 2024 departures): nothing can go back any more.
    assert (
        body["state"] == "rolled_back"
        and body["restored"] == []
        and set(body["kept"]) == {"S1", "S2"}
    )
