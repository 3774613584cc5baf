"""The whole chain on the real planner and both store backends:
alert -> match -> incident -> plan diff -> approve -> applied -> clear -> rollback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from chain_world import NOW, MemoryEffector, mini_network, plan_of_record, shipments
from playbook_builders import make_alert, make_playbook
from sqlalchemy.engine import Engine
from sqlmodel import select

import twin.store.incidents as store_incidents
from twin.domain.alerts import Exposure
from twin.domain.incidents import IncidentState
from twin.files.playbooks import load_playbooks
from twin.playbook.actions import ActionContext, OptimiseReplanner
from twin.playbook.incidents import IllegalTransition, transition
from twin.playbook.match import match_alert
from twin.playbook.runner import (
    after_clear,
    apply,
    opening_moves,
    plan_rollback,
    propose,
    rollback,
    stale,
)
from twin.store.db import make_engine, session_scope
from twin.store.incidents import (
    audit_log,
    get_incident,
    list_incidents,
    save_incident,
    save_transition,
)
from twin.store.migrate import upgrade
from twin.store.tables.incidents import AuditIsAppendOnly, AuditRow

S = IncidentState
LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"


def suez_alert(**changes: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "id": "AL-SUEZ-1",
        "target": "SUEZ",
        "kind": "chokepoint",
        "opened_at": NOW,
        "updated_at": NOW,
    }
    return make_alert(**{**fields, **changes})


def context(alert, current=None):  # type: ignore[no-untyped-def]
    network, ships = mini_network(), shipments()
    current = current if current is not None else plan_of_record(network, ships)
    # The scorer says a closed Suez costs ~2 weeks to freight still planned through it.
    exposures = tuple(
        Exposure(
            shipment=sid,
            target="SUEZ",
            dimension="security",
            score=0.9,
            units=ships[sid].units,
            at=NOW,
            lane="YTN-RTM-SUEZ",
            expected_delay_days=14.0,
        )
        for sid in ("S1", "S2")
    )
    return ActionContext(
        alert=alert,
        network=network,
        shipments=ships,
        current=current,
        now=NOW,
        exposures=exposures,
        replanner=OptimiseReplanner(),
    )


def test_chain_on_the_real_planner(engine: Engine) -> None:
    playbooks = load_playbooks(LIBRARY)
    alert = suez_alert()
    matched = match_alert(alert, playbooks)
    assert matched is not None and matched.playbook.id == "avoid-closed-chokepoint"
    ctx = context(alert)

    # Propose: the diff moves S1 and S2 round the Cape; S3 is already past Suez's lane start.
    incident = propose(matched, ctx)
    by_ship = {c.shipment: c for c in incident.diff.changes}
    assert set(by_ship) == {"S1", "S2"}
    for change in by_ship.values():
        assert "YTN-RTM-SUEZ" in change.old_path and "YTN-RTM-CAPE" in change.new_path
        assert change.eta_delta_days == pytest.approx(10.0)  # Cape is 40 days vs 30
        assert change.cost_delta > 0
    # S1 is due on day 45: Suez + 14 days of risk is 5 days late, the Cape 1.
    assert by_ship["S1"].late_days_avoided > 0
    assert incident.diff.status == "optimal"
    # +55% cost is over the playbook's 40% guardrail: the `auto` playbook waits for a person.
    assert incident.needs_approval and "max_cost_increase_pct 40" in incident.needs_approval[0]

    with session_scope(engine) as session:
        incident, log = opening_moves(incident, at=NOW)
        assert incident.state is S.proposed
        stored, created = save_incident(session, incident=incident, audit=log)
        assert created
    # Re-evaluating the same alert episode: same incident, nothing new written.
    again = propose(matched, context(alert))
    with session_scope(engine) as session:
        stored, created = save_incident(
            session, incident=again, audit=opening_moves(again, at=NOW)[1]
        )
        assert not created and stored.id == incident.id
        assert len(list_incidents(session)) == 1
        assert len(audit_log(session, incident_id=incident.id)) == 1

    # Approve, apply through the effector: routes change, constraints set, on-call notified.
    effector = MemoryEffector(routes=dict(ctx.current))
    t1 = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        current = get_incident(session, id=incident.id)
        approved, entry = transition(current, S.approved, at=t1, by="alice", why="Cape is fine")
        save_transition(session, incident=approved, entry=entry)
        applied, entry = apply(approved, effector, at=t1)
        save_transition(session, incident=applied, entry=entry)
    assert [l.lane for a in effector.routes["S1"] for l in a.legs][1] == "YTN-RTM-CAPE"
    assert effector.constraints[incident.id].avoid == {"SUEZ"}
    assert [n.channel for _, n in effector.sent] == ["oncall"]
    with pytest.raises(IllegalTransition):  # applying twice is refused
        apply(applied, effector, at=t1)

    # The alert clears 8 days later: S1 (left Yantian on day 4) is past the point of no return,
    # S2 (leaves on day 11) gets its Suez route back.
    t2 = NOW + timedelta(days=8)
    with session_scope(engine) as session:
        current = get_incident(session, id=incident.id)
        assert current.state is S.applied
        done, entry, plan = rollback(current, effector, at=t2, why="alert cleared")
        save_transition(session, incident=done, entry=entry)
    assert set(plan.restore) == {"S2"} and plan.kept == ("S1",)
    assert "YTN-RTM-SUEZ" in [l.lane for a in effector.routes["S2"] for l in a.legs]
    assert "YTN-RTM-CAPE" in [l.lane for a in effector.routes["S1"] for l in a.legs]
    assert incident.id not in effector.constraints

    with session_scope(engine) as session:
        log = audit_log(session, incident_id=incident.id)
        final = get_incident(session, id=incident.id)
    assert [(e.actor, e.to_state) for e in log] == [
        ("system", S.proposed),
        ("alice", S.approved),
        ("system", S.applied),
        ("system", S.rolled_back),
    ]
    assert final.state is S.rolled_back and final.decided_by == "alice"
    assert final.diff == incident.diff and final.new_routes == incident.new_routes


def test_auto_playbook_within_guardrails_applies_itself(engine: Engine) -> None:
    playbook = make_playbook(
        id="auto-suez",
        match={"targets": ["SUEZ"]},
        approval="auto",
        actions=[{"avoid": {}}, {"replan": {"max_cost_increase_pct": 80}}],
    )
    alert = suez_alert()
    incident = propose(match_alert(alert, [playbook]), context(alert))  # type: ignore[arg-type]
    incident, log = opening_moves(incident, at=NOW)
    assert incident.state is S.auto_approved and not incident.needs_approval
    with session_scope(engine) as session:
        save_incident(session, incident=incident, audit=log)
    assert [e.to_state for e in log] == [S.proposed, S.auto_approved]


def test_shadow_records_everything_and_applies_nothing(engine: Engine) -> None:
    alert = suez_alert()
    matched = match_alert(alert, load_playbooks(LIBRARY))
    incident = propose(matched, context(alert), shadow=True)  # type: ignore[arg-type]
    incident, log = opening_moves(incident, at=NOW)
    assert incident.state is S.shadowed and incident.diff.cost_delta > 0
    with session_scope(engine) as session:
        save_incident(session, incident=incident, audit=log)
        stored = get_incident(session, id=incident.id)
    assert stored.diff.cost_delta == pytest.approx(incident.diff.cost_delta)
    with pytest.raises(IllegalTransition):
        transition(stored, S.approved, at=NOW, by="alice")


def test_hold_and_expedite_preview() -> None:
    playbook = make_playbook(
        id="hold-then-expedite",
        match={"targets": ["SUEZ"]},
        actions=[
            {"hold": {"priorities": ["standard"]}},
            {"expedite_customs": {"target": "NLRTM", "saves_days": 2, "cost_per_unit": 10}},
        ],
    )
    alert = suez_alert()
    incident = propose(match_alert(alert, [playbook]), context(alert))  # type: ignore[arg-type]
    by_ship = {c.shipment: c for c in incident.diff.changes}
    assert (
        by_ship["S1"].held and by_ship["S1"].new_path == () and by_ship["S1"].eta_delta_days == 14
    )
    assert by_ship["S2"].action == "expedite_customs"  # express: not held, expedited at Rotterdam
    assert by_ship["S2"].cost_delta == pytest.approx(200) and by_ship["S2"].eta_delta_days == -2
    assert plan_rollback(incident, NOW + timedelta(days=30)).restore.keys() >= {"S1"}


def test_shift_mode_moves_express_to_air() -> None:
    playbook = make_playbook(
        id="sea-to-air",
        match={"targets": ["SUEZ"]},
        actions=[{"shift_mode": {"from": "sea", "to": "air", "priorities": ["express"]}}],
    )
    alert = suez_alert()
    incident = propose(match_alert(alert, [playbook]), context(alert))  # type: ignore[arg-type]
    (change,) = incident.diff.changes
    assert change.shipment == "S2" and "SZX-AMS-AIR" in change.new_path
    assert change.eta_delta_days < -20 and change.cost_delta > 0


def test_an_escalated_episode_is_stored_once_more(engine: Engine) -> None:
    matched = match_alert(suez_alert(), load_playbooks(LIBRARY))
    assert matched is not None
    warned = opening_moves(propose(matched, context(suez_alert(severity="warn"))), at=NOW)
    escalated = opening_moves(propose(matched, context(suez_alert())), at=NOW + timedelta(hours=6))
    assert warned[0].id != escalated[0].id
    with session_scope(engine) as session:
        assert save_incident(session, incident=warned[0], audit=warned[1])[1]
        assert save_incident(session, incident=escalated[0], audit=escalated[1])[1]
        # Re-evaluating the critical alert: nothing new.
        stored, created = save_incident(session, incident=escalated[0], audit=escalated[1])
        assert not created and stored.id == escalated[0].id
        assert sorted(i.alert.severity.value for i in list_incidents(session)) == [
            "critical",
            "warn",
        ]


def test_incidents_survive_a_restart(empty_url: str) -> None:
    first = make_engine(empty_url)
    upgrade(first)
    alert = suez_alert()
    matched = match_alert(alert, load_playbooks(LIBRARY))
    incident, log = opening_moves(propose(matched, context(alert)), at=NOW)  # type: ignore[arg-type]
    with session_scope(first) as session:
        assert save_incident(session, incident=incident, audit=log)[1]
    first.dispose()
    second = make_engine(empty_url)  # a new process: only the database remembers
    with session_scope(second) as session:
        stored, created = save_incident(session, incident=incident, audit=log)
        assert not created and stored.state is S.proposed
        assert len(audit_log(session)) == 1
    second.dispose()


def test_audit_log_is_append_only(engine: Engine) -> None:
    public = {name for name in dir(store_incidents) if not name.startswith("_")}
    assert not any(
        word in name for name in public for word in ("delete", "remove", "update_audit", "edit")
    )
    alert = suez_alert()
    incident, log = opening_moves(
        propose(match_alert(alert, load_playbooks(LIBRARY)), context(alert)), at=NOW
    )  # type: ignore[arg-type]
    with session_scope(engine) as session:
        save_incident(session, incident=incident, audit=log)
    with pytest.raises(AuditIsAppendOnly), session_scope(engine) as session:
        row = session.exec(select(AuditRow)).first()
        assert row is not None
        row.why = "rewritten"
        session.flush()
    with pytest.raises(AuditIsAppendOnly), session_scope(engine) as session:
        session.delete(session.exec(select(AuditRow)).first())
        session.flush()
    with session_scope(engine) as session:
        (entry,) = audit_log(session)
    assert entry.why == incident.why


def test_after_clear_expires_or_rolls_back() -> None:
    alert = suez_alert()
    matched = match_alert(alert, load_playbooks(LIBRARY))
    assert matched is not None
    waiting, _ = opening_moves(propose(matched, context(alert)), at=NOW)
    effector = MemoryEffector(routes={})
    expired, log = after_clear(waiting, effector, at=NOW + timedelta(days=1))
    assert expired.state is S.expired and log[0].why.startswith("alert cleared")
    assert stale(waiting, now=NOW + timedelta(hours=25), playbook=matched.playbook)
    assert not stale(waiting, now=NOW + timedelta(hours=1), playbook=matched.playbook)
    approved, _ = transition(waiting, S.approved, at=NOW, by="alice")
    applied, _ = apply(approved, effector, at=NOW)
    rolled, log = after_clear(applied, effector, at=NOW + timedelta(days=2))
    assert rolled.state is S.rolled_back and set(effector.routes) == {"S1", "S2"}
    never = applied.model_copy(update={"rollback": "never"})
    assert after_clear(never, effector, at=NOW + timedelta(days=2)) == (never, [])
