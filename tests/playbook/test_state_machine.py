"""The incident state machine: every allowed move works, every other one raises IllegalTransition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playbook_builders import T0, make_alert

from twin.domain.incidents import Incident, IncidentState, PlanDiff, incident_id
from twin.playbook.incidents import SYSTEM, TRANSITIONS, IllegalTransition, created, transition

S = IncidentState
ALL = list(IncidentState)


def incident(state: IncidentState = S.proposed, **changes: object) -> Incident:
    fields: dict[str, object] = {
        "id": incident_id("AL-1", "pb"),
        "alert_id": "AL-1",
        "playbook_id": "pb",
        "alert": make_alert(),
        "why": "test",
        "state": state,
        "created_at": T0,
        "updated_at": T0,
        "diff": PlanDiff(status="optimal"),
    }
    fields.update(changes)
    return Incident.model_validate(fields)


def actor_for(to: IncidentState) -> str:
    return "alice" if to in (S.approved, S.rejected) else SYSTEM


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("to", ALL)
def test_every_pair(start: IncidentState, to: IncidentState) -> None:
    later = T0 + timedelta(hours=1)
    if to in TRANSITIONS[start]:
        moved, entry = transition(incident(start), to, at=later, by=actor_for(to), why="because")
        assert moved.state is to and moved.updated_at == later
        assert (entry.from_state, entry.to_state, entry.actor, entry.why) == (
            start,
            to,
            actor_for(to),
            "because",
        )
    else:
        with pytest.raises(IllegalTransition, match=f"from {start.value} to {to.value}"):
            transition(incident(start), to, at=later, by=actor_for(to))


def test_the_documented_paths() -> None:
    assert TRANSITIONS[S.proposed] == {
        S.approved,
        S.auto_approved,
        S.rejected,
        S.expired,
        S.shadowed,
    }
    assert TRANSITIONS[S.applied] == {S.rolled_back}
    for final in (S.rolled_back, S.rejected, S.expired, S.shadowed):
        assert TRANSITIONS[final] == frozenset() and final.terminal


def test_only_people_approve_and_only_the_engine_auto_approves() -> None:
    with pytest.raises(IllegalTransition, match="only a person"):
        transition(incident(), S.approved, at=T0, by=SYSTEM)
    with pytest.raises(IllegalTransition, match="only the engine"):
        transition(incident(), S.auto_approved, at=T0, by="mallory")
    moved, _ = transition(incident(), S.approved, at=T0, by="alice", why="looks right")
    assert (moved.decided_by, moved.comment) == ("alice", "looks right")


def test_guardrails_block_auto_approval_but_not_a_person() -> None:
    waiting = incident(needs_approval=("cost +55.6% exceeds max_cost_increase_pct 40",))
    with pytest.raises(IllegalTransition, match="needs approval: cost"):
        transition(waiting, S.auto_approved, at=T0)
    assert transition(waiting, S.approved, at=T0, by="alice")[0].state is S.approved


def test_shadow_and_unusable_plans_are_never_applied() -> None:
    with pytest.raises(IllegalTransition, match="shadow"):
        transition(incident(shadow=True), S.approved, at=T0, by="alice")
    bad = incident(diff=PlanDiff(status="infeasible"))
    with pytest.raises(IllegalTransition, match="infeasible"):
        transition(bad, S.approved, at=T0, by="alice")
    assert transition(bad, S.rejected, at=T0, by="alice")[0].state is S.rejected


def test_first_audit_entry() -> None:
    entry = created(incident())
    assert (entry.from_state, entry.to_state, entry.actor, entry.action) == (
        None,
        S.proposed,
        SYSTEM,
        "propose",
    )


def test_incident_id_is_stable_per_pair() -> None:
    assert incident_id("A", "p") == incident_id("A", "p")
    assert incident_id("A", "p") != incident_id("A", "q") != incident_id("B", "p")
    assert incident_id("A", "p", "warn") != incident_id("A", "p", "critical")
