"""Store queries for scores, alert episodes, silences, acks and the alerting state (keyword-only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlmodel import Session

from twin.alerting.episodes import AlertState
from twin.domain.alerts import Acknowledgement, Alert, RiskScore, Silence
from twin.store.tables.alerts import (
    AcknowledgementRow,
    AlertEpisodeRow,
    AlertStateRow,
    RiskScoreRow,
    SilenceRow,
)
from twin.store.tables.base import table_of


def save_scores(session: Session, *, scores: Iterable[RiskScore]) -> int:
    """Append a pass's scores (one executemany); returns how many were written."""
    rows = [
        {
            "at": s.at,
            "target": s.target,
            "dimension": s.dimension,
            "score": s.score,
            "explain": s.explain,
            "kind": s.kind,
            "country": s.country,
            "via": list(s.via),
            "sources": list(s.sources),
            "starts_at": s.starts_at,
            "until": s.until,
        }
        for s in scores
    ]
    if rows:
        session.execute(insert(table_of(RiskScoreRow)), rows)
    return len(rows)


def _score(row: Any) -> RiskScore:
    return RiskScore(
        target=row.target,
        dimension=row.dimension,
        score=row.score,
        explain=row.explain,
        at=row.at,
        kind=row.kind,
        country=row.country,
        via=tuple(row.via or ()),
        sources=tuple(row.sources or ()),
        starts_at=row.starts_at,
        until=row.until,
    )


def latest_scores(
    session: Session, *, target: str | None = None, at: datetime | None = None
) -> list[RiskScore]:
    """The latest score of each (target, dimension), at or before `at` when given."""
    table = table_of(RiskScoreRow)
    inner = select(table.c.target, table.c.dimension, sa.func.max(table.c.at).label("at"))
    if target is not None:
        inner = inner.where(table.c.target == target)
    if at is not None:
        inner = inner.where(table.c.at <= at)
    newest = inner.group_by(table.c.target, table.c.dimension).subquery()
    query = (
        select(table)
        .join(
            newest,
            sa.and_(
                table.c.target == newest.c.target,
                table.c.dimension == newest.c.dimension,
                table.c.at == newest.c.at,
            ),
        )
        .order_by(table.c.target, table.c.dimension, table.c.id.desc())
    )
    seen: dict[tuple[str, str], RiskScore] = {}
    for row in session.execute(query):
        seen.setdefault((row.target, row.dimension), _score(row))
    return list(seen.values())


def save_alerts(session: Session, *, alerts: Iterable[Alert]) -> int:
    """Insert or update alert episodes by id (an episode is written again as it changes)."""
    table = table_of(AlertEpisodeRow)
    rows = [
        {
            "id": a.id,
            "target": a.target,
            "dimension": a.dimension,
            "severity": a.severity.value,
            "score": a.score,
            "peak": a.peak,
            "opened_at": a.opened_at,
            "updated_at": a.updated_at,
            "cleared_at": a.cleared_at,
            "forecast_cross_at": a.forecast_cross_at,
            "warning_lead_h": a.warning_lead_h,
            "inhibited_by": a.inhibited_by,
            "silenced_by": a.silenced_by,
            "acked_by": a.acked_by,
            "record": a.model_dump(mode="json"),
        }
        for a in alerts
    ]
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    known = set(session.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
    fresh = [r for r in rows if r["id"] not in known]
    if fresh:
        session.execute(insert(table), fresh)
    for row in rows:
        if row["id"] in known:
            session.execute(table.update().where(table.c.id == row["id"]).values(**row))
    return len(rows)


def list_alerts(session: Session, *, open_only: bool = False) -> list[Alert]:
    """Alert episodes, newest first; only open ones with `open_only`."""
    table = table_of(AlertEpisodeRow)
    query = select(table.c.record)
    if open_only:
        query = query.where(table.c.cleared_at.is_(None))
    query = query.order_by(table.c.opened_at.desc(), table.c.id)
    return [Alert.model_validate(record) for record in session.execute(query).scalars()]


def save_silence(session: Session, *, silence: Silence) -> None:
    table = table_of(SilenceRow)
    session.execute(table.delete().where(table.c.id == silence.id))
    session.execute(insert(table), [silence.model_dump()])


def list_silences(session: Session, *, active_at: datetime | None = None) -> list[Silence]:
    table = table_of(SilenceRow)
    query = select(table).order_by(table.c.starts_at, table.c.id)
    if active_at is not None:
        query = query.where(table.c.starts_at <= active_at, table.c.ends_at > active_at)
    return [
        Silence(
            id=r.id,
            matchers=r.matchers,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            created_by=r.created_by,
            comment=r.comment,
        )
        for r in session.execute(query)
    ]


def save_ack(session: Session, *, ack: Acknowledgement) -> None:
    session.execute(insert(table_of(AcknowledgementRow)), [ack.model_dump()])


def list_acks(session: Session, *, alert_id: str | None = None) -> list[Acknowledgement]:
    table = table_of(AcknowledgementRow)
    query = select(table).order_by(table.c.seq)
    if alert_id is not None:
        query = query.where(table.c.alert_id == alert_id)
    return [
        Acknowledgement(alert_id=r.alert_id, by=r.by, at=r.at, comment=r.comment)
        for r in session.execute(query)
    ]


def save_state(session: Session, *, state: AlertState, at: datetime, name: str = "default") -> None:
    """Keep the alerting state machine's memory (one row per name), replacing the last one."""
    table = table_of(AlertStateRow)
    session.execute(table.delete().where(table.c.name == name))
    session.execute(
        insert(table), [{"name": name, "state": state.model_dump(mode="json"), "updated_at": at}]
    )


def load_state(session: Session, *, name: str = "default") -> AlertState:
    """The stored alerting state, or a fresh one."""
    table = table_of(AlertStateRow)
    found = session.execute(select(table.c.state).where(table.c.name == name)).scalar_one_or_none()
    return AlertState() if found is None else AlertState.model_validate(found)
