"""On-call decisions, as the store records them: approve, reject or roll back an incident;
acknowledge an alert episode; silence alerts and end a silence early.

One implementation for every front end (`twin incidents …`, `twin alerts …`, the console and
its API): each checks what it is asked against what is stored, writes the decision in the
caller's session, and refuses with `Refused` (nothing written) otherwise. Who may decide is
the front end's business (the console's roles); what a decision does is decided here. The
daemon's next pass acts on what was decided (applies an approval, restores rolled-back routes,
mutes silenced alerts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from twin.domain.alerts import Acknowledgement, Silence
from twin.domain.durations import format_timestamp
from twin.domain.incidents import Incident, IncidentState
from twin.playbook.incidents import IllegalTransition, transition
from twin.playbook.runner import RollbackPlan, plan_rollback
from twin.store.alerts import list_alerts, list_silences, save_ack, save_alerts, save_silence
from twin.store.common import NotFound
from twin.store.incidents import StaleState, get_incident, save_transition

S = IncidentState


class Refused(Exception):
    """A decision that cannot be taken; nothing was written.

    kind: `unknown` (no such incident, alert or silence) or `conflict` (not possible from
    what is stored now: the wrong state, already cleared or ended, changed meanwhile).
    """

    def __init__(self, kind: Literal["unknown", "conflict"], subject: str, message: str):
        super().__init__(message)
        self.kind, self.subject, self.message = kind, subject, message


@dataclass(frozen=True)
class IncidentDecision:
    """An incident moved by a person: before and after, and for a rollback which shipments
    get their earlier routes back and which stay (past the point of no return), in words
    (`note`, also in the audit entry)."""

    before: Incident
    incident: Incident
    restored: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    note: str = ""


def _ids(ids: list[str], most: int = 6) -> str:
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def rollback_note(incident: Incident, plan: RollbackPlan) -> str:
    """What a roll back does, in words: how many shipments get their earlier routes back, how
    many stay on the new route because they are past their point of no return, and which."""
    restored = sorted(plan.restore)
    departed = {c.shipment: c.no_return_at for c in incident.diff.changes}
    parts = [
        f"restores {len(restored)} shipment{'' if len(restored) == 1 else 's'} to "
        f"{'its' if len(restored) == 1 else 'their'} earlier route"
        + (f" ({_ids(restored)})" if restored else "")
    ]
    kept = list(plan.kept)
    if kept:
        first = min(t for t in (departed.get(k) for k in kept) if t is not None)
        parts.append(
            f"keeps {len(kept)} on the new route ({_ids(kept)}): past "
            f"{'its' if len(kept) == 1 else 'their'} point of no return, the freight left on it "
            f"from {first:%Y-%m-%d %H:%M}Z"
        )
    else:
        parts.append("keeps 0 on the new route (none is past its point of no return)")
    return "; ".join(parts)


def decide(
    session: Session,
    *,
    ident: str,
    to: IncidentState,
    by: str,
    comment: str,
    at: datetime,
    expected_state: str | None = None,
) -> IncidentDecision:
    """Move incident `ident` (or a unique prefix of its id) to `to` (approved, rejected,
    rolled_back) as `by`, audited with `comment`. `expected_state`: refuse if the incident
    is no longer in that state (a person decided on what they saw)."""
    try:
        incident = get_incident(session, id=ident)
    except NotFound:
        raise Refused("unknown", ident, f"no incident {ident!r}") from None
    if expected_state is not None and incident.state.value != expected_state:
        who = f" by {incident.decided_by}" if incident.decided_by else ""
        raise Refused(
            "conflict",
            incident.id,
            f"incident {incident.id} changed since this page was opened: it is now "
            f"{incident.state.value}{who}. Reload the page and decide again.",
        )
    if incident.shadow:
        raise Refused(
            "conflict",
            incident.id,
            f"incident {incident.id} is a shadow incident: it is never applied",
        )
    restored: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    note = ""
    why = comment.strip()
    if to is S.rolled_back and incident.state is S.applied:
        plan = plan_rollback(incident, at)
        restored, kept = tuple(sorted(plan.restore)), plan.kept
        note = rollback_note(incident, plan)
        why = f"{why}; {note}" if why else note
    try:
        moved, entry = transition(incident, to, at=at, by=by, why=why)
        save_transition(session, incident=moved, entry=entry)
    except (IllegalTransition, StaleState) as exc:
        raise Refused("conflict", incident.id, str(exc)) from None
    return IncidentDecision(incident, moved, restored, kept, note)


def acknowledge(
    session: Session, *, alert_id: str, by: str, comment: str, at: datetime
) -> Acknowledgement:
    """Record that `by` is on the open alert episode `alert_id` ("I'm on it"). Every
    acknowledgement is kept; the episode shows the first person who said so."""
    found = next((a for a in list_alerts(session) if a.id == alert_id), None)
    if found is None:
        raise Refused("unknown", alert_id, f"no such alert episode {alert_id!r}")
    if found.cleared_at is not None:
        raise Refused(
            "conflict",
            alert_id,
            f"alert {alert_id} cleared at {format_timestamp(found.cleared_at)}: "
            "nothing to acknowledge",
        )
    made = Acknowledgement(alert_id=alert_id, by=by, at=at, comment=comment.strip())
    save_ack(session, ack=made)
    if found.acked_by is None:
        save_alerts(session, alerts=[found.model_copy(update={"acked_by": by, "acked_at": at})])
    return made


def add_silence(
    session: Session,
    *,
    matchers: dict[str, str | list[str]],
    starts_at: datetime,
    length: timedelta,
    by: str,
    comment: str,
) -> Silence:
    """Mute alerts matching `matchers` from `starts_at` for `length`, recorded under `by`."""
    made = Silence(
        id=f"s-{uuid.uuid4().hex[:12]}",
        matchers=matchers,
        starts_at=starts_at,
        ends_at=starts_at + length,
        created_by=by,
        comment=comment.strip(),
    )
    save_silence(session, silence=made)
    return made


def expire_silence(
    session: Session, *, ident: str, by: str | None, comment: str, at: datetime
) -> Silence:
    """End silence `ident` at `at`; it stays on record, its comment saying who ended it when.
    Refused (`conflict`) if it has already ended."""
    found = next((s for s in list_silences(session) if s.id == ident), None)
    if found is None:
        raise Refused("unknown", ident, f"no silence {ident!r}")
    if found.ends_at <= at:
        raise Refused(
            "conflict", ident, f"silence {ident} already ended at {format_timestamp(found.ends_at)}"
        )
    note = f"expired{f' by {by}' if by else ''} at {format_timestamp(at)}"
    note += f": {comment.strip()}" if comment.strip() else ""
    ended = found.model_copy(
        update={
            "ends_at": max(at, found.starts_at),
            "comment": f"{found.comment}; {note}" if found.comment else note,
        }
    )
    save_silence(session, silence=ended)
    return ended


__all__ = [
    "IncidentDecision",
    "Refused",
    "acknowledge",
    "add_silence",
    "decide",
    "expire_silence",
    "rollback_note",
]
