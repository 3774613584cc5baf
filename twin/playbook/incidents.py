"""The incident state machine: which moves are allowed, and the audit entry each move writes (pure)."""

from __future__ import annotations

from datetime import datetime

from twin.domain.incidents import AuditEntry, Incident, IncidentState

S = IncidentState

# The whole life of an incident. Anything not listed is an IllegalTransition.
TRANSITIONS: dict[IncidentState, frozenset[IncidentState]] = {
    S.proposed: frozenset({S.approved, S.auto_approved, S.rejected, S.expired, S.shadowed}),
    S.approved: frozenset({S.applied, S.expired}),  # expired: the alert cleared before applying
    S.auto_approved: frozenset({S.applied, S.expired}),
    S.applied: frozenset({S.rolled_back}),
    S.rolled_back: frozenset(),
    S.rejected: frozenset(),
    S.expired: frozenset(),
    S.shadowed: frozenset(),
}
# The verb an audit entry records for a move into each state.
VERBS: dict[IncidentState, str] = {
    S.proposed: "propose",
    S.approved: "approve",
    S.auto_approved: "auto-approve",
    S.applied: "apply",
    S.rolled_back: "roll back",
    S.rejected: "reject",
    S.expired: "expire",
    S.shadowed: "shadow",
}
SYSTEM = "system"
# Moves only a person may make, and moves only the engine makes.
HUMAN_ONLY = frozenset({S.approved, S.rejected})
SYSTEM_ONLY = frozenset({S.auto_approved, S.shadowed})


class IllegalTransition(ValueError):
    """Raised when an incident is asked to move where its state machine does not allow."""

    def __init__(
        self, incident_id: str, current: IncidentState, wanted: IncidentState, why: str = ""
    ):
        self.incident_id, self.current, self.wanted = incident_id, current, wanted
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        reason = why or f"allowed from {current.value}: {allowed}"
        super().__init__(
            f"incident {incident_id} cannot go from {current.value} to {wanted.value}: {reason}"
        )


def allowed(current: IncidentState, wanted: IncidentState) -> bool:
    return wanted in TRANSITIONS[current]


def transition(
    incident: Incident,
    to: IncidentState,
    *,
    at: datetime,
    by: str = SYSTEM,
    why: str = "",
) -> tuple[Incident, AuditEntry]:
    """Move `incident` to state `to`: the new incident and the audit entry that records the move.

    Raises IllegalTransition if the move is not in TRANSITIONS, if a person tries a move only
    the engine makes (or the engine one only a person makes), or if a shadow incident would
    be applied.
    """
    if not allowed(incident.state, to):
        raise IllegalTransition(incident.id, incident.state, to)
    if to in HUMAN_ONLY and by == SYSTEM:
        raise IllegalTransition(
            incident.id, incident.state, to, "only a person may do that (--by NAME)"
        )
    if to in SYSTEM_ONLY and by != SYSTEM:
        raise IllegalTransition(incident.id, incident.state, to, "only the engine does that")
    if incident.shadow and to in (S.approved, S.auto_approved, S.applied):
        raise IllegalTransition(
            incident.id, incident.state, to, "a shadow incident is never applied"
        )
    if to is S.auto_approved and incident.needs_approval:
        raise IllegalTransition(
            incident.id, incident.state, to, "needs approval: " + "; ".join(incident.needs_approval)
        )
    if to in (S.approved, S.auto_approved, S.applied) and not incident.diff.applicable:
        raise IllegalTransition(
            incident.id,
            incident.state,
            to,
            f"its plan is {incident.diff.status} with unserved {list(incident.diff.unserved)}: never applied",
        )
    changes: dict[str, object] = {"state": to, "updated_at": at}
    if to in (S.approved, S.rejected):
        changes["decided_by"] = by
        changes["comment"] = why
    moved = incident.model_copy(update=changes)
    entry = AuditEntry(
        incident_id=incident.id,
        at=at,
        actor=by,
        action=VERBS[to],
        from_state=incident.state,
        to_state=to,
        why=why,
    )
    return moved, entry


def created(incident: Incident) -> AuditEntry:
    """The first audit entry of an incident: it was proposed, and why."""
    return AuditEntry(
        incident_id=incident.id,
        at=incident.created_at,
        actor=SYSTEM,
        action=VERBS[S.proposed],
        from_state=None,
        to_state=S.proposed,
        why=incident.why,
    )


# The audit verb of a re-proposal: a proposed incident whose plan a later pass made again.
REPROPOSE = "re-propose"


def reproposed(incident: Incident, *, at: datetime, why: str) -> AuditEntry:
    """The audit entry of a proposed incident re-planned by a later pass (it stays proposed)."""
    return AuditEntry(
        incident_id=incident.id,
        at=at,
        actor=SYSTEM,
        action=REPROPOSE,
        from_state=S.proposed,
        to_state=S.proposed,
        why=why,
    )
