"""Tables of what the feeds said: signals, quarantined rows, and where each feed left off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime

# Longest text each column takes; twin.store.signals quarantines longer values rather than let
# PostgreSQL refuse the whole file.
SOURCE_LENGTH = 200
DIMENSION_LENGTH = 80
TARGET_LENGTH = 200
METRIC_LENGTH = 120
SHIPMENT_LENGTH = 200


class SignalRow(SQLModel, table=True):
    """One row of an ingest frame (one signal on one node: an area signal makes one per node).

    (source, ref, target) is unique, which makes saving idempotent. `target` is "" (never NULL)
    for an area row read without a network: NULLs are distinct in a unique key, so a NULL
    target would let the same row in again on each ingest. The (target, ts) index answers
    "signals of one target over a window".
    """

    __tablename__ = "signals"
    __table_args__ = (
        sa.UniqueConstraint("source", "ref", "target"),
        sa.Index(None, "target", "ts"),
        sa.Index(None, "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(sa_type=sa.String(SOURCE_LENGTH))
    dimension: str = Field(sa_type=sa.String(DIMENSION_LENGTH))
    target: str = Field(default="", sa_type=sa.String(TARGET_LENGTH))
    metric: str = Field(sa_type=sa.String(METRIC_LENGTH))
    value: float
    effective_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ref: str = Field(sa_type=sa.Text)
    shipment: str | None = Field(default=None, sa_type=sa.String(SHIPMENT_LENGTH))
    area: str | None = Field(default=None, sa_type=sa.Text)
    supersedes: str | None = Field(default=None, sa_type=sa.Text)
    extras: dict[str, Any] | None = Field(default=None, sa_type=JSONValue)
    ingested_at: datetime = Field(sa_type=UTCDateTime)


class QuarantineRow(SQLModel, table=True):
    """A row (or a whole file) that did not load: where it was, which field, why, its raw text.

    `digest` is the sha256 of (file, where, field, reason, raw): the same bad row read again
    is not kept twice, while a changed row at the same place is.
    """

    __tablename__ = "quarantine"
    __table_args__ = (sa.UniqueConstraint("digest"), sa.Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(sa_type=sa.String(64))
    file: str = Field(sa_type=sa.Text)
    where: str = Field(default="", sa_type=sa.String(80))
    field: str | None = Field(default=None, sa_type=sa.String(120))
    reason: str = Field(sa_type=sa.Text)
    raw: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(sa_type=UTCDateTime)


class FeedCheckpointRow(SQLModel, table=True):
    """Where one feed left off on one file or URL: content hash, byte offset, last event id,
    HTTP validators (ETag, Last-Modified). One row per (feed, key)."""

    __tablename__ = "feed_checkpoints"
    __table_args__ = (sa.UniqueConstraint("feed", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    feed: str = Field(sa_type=sa.String(120))
    key: str = Field(sa_type=sa.Text)
    sha256: str | None = Field(default=None, sa_type=sa.String(64))
    offset: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_event_id: str | None = Field(default=None, sa_type=sa.Text)
    etag: str | None = Field(default=None, sa_type=sa.Text)
    last_modified: str | None = Field(default=None, sa_type=sa.String(64))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ShipmentEventRow(SQLModel, table=True):
    """Where a shipment's freight actually was: one carrier ACT event (DCSA ARRI/DEPA, equipment
    LOAD/DISC/GTIN/GTOT) at a UN/LOCODE. (source, event_id) is unique, so reading the same feed
    again adds nothing. `shipment` is the primary document reference and `document_refs` every
    one the event carried (any may name a stored shipment). The indexes answer "the latest
    position of a shipment" and "every event since"."""

    __tablename__ = "shipment_events"
    __table_args__ = (
        sa.UniqueConstraint("source", "event_id"),
        sa.Index(None, "shipment", "at"),
        sa.Index(None, "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=sa.String(SOURCE_LENGTH))
    # Carriers' text as they sent it, unbounded: a long id must not fail the feed's transaction.
    event_id: str = Field(sa_type=sa.Text)
    at: datetime = Field(sa_type=UTCDateTime)
    event: str = Field(sa_type=sa.String(8))  # one of the DCSA position codes
    locode: str = Field(sa_type=sa.Text)
    node: str | None = Field(default=None, sa_type=sa.Text)
    shipment: str | None = Field(default=None, sa_type=sa.Text)
    document_refs: list[str] = Field(default_factory=list, sa_type=JSONValue)
    mode: str | None = Field(default=None, sa_type=sa.Text)
    vessel: str | None = Field(default=None, sa_type=sa.Text)
    ingested_at: datetime = Field(sa_type=UTCDateTime)


class QuarantinedFileRow(SQLModel, table=True):
    """A feed file set aside whole (too large, not its format, nested too deep, every row bad):
    its feed, its key (path or URL), the content hash it had, and why. While the row exists with
    the same sha256 the feed does not read the file again; `twin feeds requeue` deletes it."""

    __tablename__ = "quarantined_files"
    __table_args__ = (sa.UniqueConstraint("feed", "key"), sa.Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    feed: str = Field(sa_type=sa.String(120))
    key: str = Field(sa_type=sa.Text)
    sha256: str = Field(sa_type=sa.String(64))
    format: str = Field(default="", sa_type=sa.String(20))
    size: int = Field(default=0, sa_type=sa.BigInteger)
    reason: str = Field(sa_type=sa.Text)
    at: datetime = Field(sa_type=UTCDateTime)
