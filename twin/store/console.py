"""Read-only queries the on-call console needs beyond the concept modules: score history,
the newest audit entries, and a cheap "did anything change?" marker for live pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlmodel import Session

from twin.domain.alerts import RiskScore
from twin.domain.incidents import AuditEntry
from twin.store.alerts import _score
from twin.store.tables.alerts import AcknowledgementRow, AlertEpisodeRow, RiskScoreRow, SilenceRow
from twin.store.tables.incidents import AuditRow, IncidentRow, PlanChangeRow

SCORES = RiskScoreRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditRow.__table__  # type: ignore[attr-defined]
ALERTS = AlertEpisodeRow.__table__  # type: ignore[attr-defined]
INCIDENTS = IncidentRow.__table__  # type: ignore[attr-defined]
ACKS = AcknowledgementRow.__table__  # type: ignore[attr-defined]
SILENCES = SilenceRow.__table__  # type: ignore[attr-defined]
CHANGES = PlanChangeRow.__table__  # type: ignore[attr-defined]


def score_history(
    session: Session,
    *,
    target: str,
    dimension: str | None = None,
    since: datetime | None = None,
    limit: int = 2000,
) -> list[RiskScore]:
    """Scores of one target (one dimension when given) in time order, the newest `limit`."""
    query = select(SCORES).where(SCORES.c.target == target)
    if dimension is not None:
        query = query.where(SCORES.c.dimension == dimension)
    if since is not None:
        query = query.where(SCORES.c.at >= since)
    rows = session.execute(
        query.order_by(SCORES.c.at.desc(), SCORES.c.id.desc()).limit(limit)
    ).all()
    return [_score(r) for r in reversed(rows)]


def recent_audit(
    session: Session,
    *,
    since: datetime | None = None,
    limit: int = 500,
) -> list[AuditEntry]:
    """Audit entries of every incident, newest first."""
    query = select(AUDIT).order_by(AUDIT.c.seq.desc()).limit(limit)
    if since is not None:
        query = query.where(AUDIT.c.at >= since)
    return [
        AuditEntry.model_validate({k: r[k] for k in AuditEntry.model_fields})
        for r in session.execute(query).mappings()
    ]


def change_marker(session: Session) -> str:
    """A short text that changes whenever an alert, incident, audit entry, ack or silence is
    written (one round trip; live pages poll it)."""
    parts = [
        select(sa.func.count(), sa.func.max(ALERTS.c.updated_at)).select_from(ALERTS),
        select(sa.func.count(), sa.func.max(INCIDENTS.c.updated_at)).select_from(INCIDENTS),
        select(sa.func.count(), sa.func.max(AUDIT.c.seq)).select_from(AUDIT),
        select(sa.func.count(), sa.func.max(ACKS.c.seq)).select_from(ACKS),
        select(sa.func.count(), sa.func.max(SILENCES.c.ends_at)).select_from(SILENCES),
    ]
    values: list[str] = []
    for query in parts:
        count, newest = session.execute(query).one()
        values.append(f"{count}:{newest}")
    return "|".join(values)


def incident_summaries(
    session: Session,
    *,
    states: Sequence[str] | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The incident list in one query (no per-incident reads): each incident's columns and its
    plan's totals (shipments, old cost, cost delta, late unit-days avoided), newest first."""
    changes = (
        select(
            CHANGES.c.incident_id,
            sa.func.count().label("shipments"),
            sa.func.coalesce(sa.func.sum(CHANGES.c.old_cost), 0.0).label("old_cost"),
            sa.func.coalesce(sa.func.sum(CHANGES.c.new_cost - CHANGES.c.old_cost), 0.0).label(
                "cost_delta"
            ),
            sa.func.coalesce(sa.func.sum(CHANGES.c.late_days_avoided * CHANGES.c.units), 0.0).label(
                "late"
            ),
        )
        .group_by(CHANGES.c.incident_id)
        .subquery()
    )
    query = (
        select(
            INCIDENTS.c.id,
            INCIDENTS.c.alert_id,
            INCIDENTS.c.playbook_id,
            INCIDENTS.c.state,
            INCIDENTS.c.target,
            INCIDENTS.c.dimension,
            INCIDENTS.c.severity,
            INCIDENTS.c.shadow,
            INCIDENTS.c.needs_approval,
            INCIDENTS.c.created_at,
            INCIDENTS.c.updated_at,
            INCIDENTS.c.decided_by,
            INCIDENTS.c.plan_status,
            INCIDENTS.c.unserved,
            sa.func.coalesce(changes.c.shipments, 0).label("shipments"),
            sa.func.coalesce(changes.c.old_cost, 0.0).label("old_cost"),
            sa.func.coalesce(changes.c.cost_delta, 0.0).label("cost_delta"),
            sa.func.coalesce(changes.c.late, 0.0).label("late"),
        )
        .select_from(INCIDENTS.outerjoin(changes, changes.c.incident_id == INCIDENTS.c.id))
        .order_by(INCIDENTS.c.created_at.desc(), INCIDENTS.c.id)
        .limit(limit)
    )
    if states:
        query = query.where(INCIDENTS.c.state.in_(list(states)))
    return [dict(row) for row in session.execute(query).mappings()]
