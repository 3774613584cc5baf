"""Tables of the engine's judgement: risk scores, alert episodes, silences, acks, alerting state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime

ID_LENGTH = 120
EPISODE_ID_LENGTH = 200  # TARGET/DIMENSION/OPENED_AT


class RiskScoreRow(SQLModel, table=True):
    """One score of one (target, dimension) at one pass. The (target, dimension, at) index
    answers "latest score per target" (a B-tree is read backwards for `at DESC`)."""

    __tablename__ = "risk_scores"
    __table_args__ = (sa.Index(None, "target", "dimension", "at"), sa.Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    target: str = Field(sa_type=sa.String(ID_LENGTH))
    dimension: str = Field(sa_type=sa.String(40))
    score: float
    explain: str = Field(default="", sa_type=sa.Text)
    kind: str = Field(default="", sa_type=sa.String(40))
    country: str | None = Field(default=None, sa_type=sa.String(2))
    via: list[str] = Field(default_factory=list, sa_type=JSONValue)
    sources: list[str] = Field(default_factory=list, sa_type=JSONValue)
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertEpisodeRow(SQLModel, table=True):
    """One alert episode, open (cleared_at null) or cleared; `record` is the full Alert."""

    __tablename__ = "alert_episodes"
    __table_args__ = (sa.Index(None, "target", "dimension"), sa.Index(None, "cleared_at"))

    id: str = Field(sa_type=sa.String(EPISODE_ID_LENGTH), primary_key=True)
    target: str = Field(sa_type=sa.String(ID_LENGTH))
    dimension: str = Field(sa_type=sa.String(40))
    severity: str = Field(sa_type=sa.String(20))
    score: float
    peak: float
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    forecast_cross_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warning_lead_h: float | None = None
    inhibited_by: str | None = Field(default=None, sa_type=sa.String(EPISODE_ID_LENGTH))
    silenced_by: str | None = Field(default=None, sa_type=sa.String(ID_LENGTH))
    acked_by: str | None = Field(default=None, sa_type=sa.String(ID_LENGTH))
    record: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)


class SilenceRow(SQLModel, table=True):
    """A silence: matchers, its window, who made it and why."""

    __tablename__ = "silences"
    __table_args__ = (sa.Index(None, "ends_at"),)

    id: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    matchers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(sa_type=sa.String(ID_LENGTH))
    comment: str = Field(default="", sa_type=sa.Text)


class AcknowledgementRow(SQLModel, table=True):
    """Someone said "I'm on it" for an alert episode (append-only)."""

    __tablename__ = "alert_acks"
    __table_args__ = (sa.Index(None, "alert_id"),)

    seq: int | None = Field(default=None, primary_key=True)
    alert_id: str = Field(sa_type=sa.String(EPISODE_ID_LENGTH))
    by: str = Field(sa_type=sa.String(ID_LENGTH))
    at: datetime = Field(sa_type=UTCDateTime)
    comment: str = Field(default="", sa_type=sa.Text)


class AlertStateRow(SQLModel, table=True):
    """The alerting state machine's memory (AlertState as JSON), so it survives a restart."""

    __tablename__ = "alert_state"

    name: str = Field(sa_type=sa.String(40), primary_key=True)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    updated_at: datetime = Field(sa_type=UTCDateTime)
