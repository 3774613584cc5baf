"""Store queries for signals, quarantined feed rows and feed checkpoints (keyword-only).

Saving is idempotent: a signal is keyed by (source, ref, target) and a quarantined row by a
hash of its content, and both are inserted with ON CONFLICT DO NOTHING, so saving the same
ingest again adds nothing. Functions never commit: the caller's `session_scope` does.

    from twin.feeds.ingest import ingest_path
    from twin.store.db import make_engine, session_scope
    from twin.store.signals import save_quarantine, save_signals, signals_between

    result = ingest_path("feeds/", network)
    with session_scope(make_engine()) as session:
        inserted = save_signals(session, frame=result.frame)
        save_quarantine(session, rows=result.quarantine)
    with session_scope(engine) as session:
        history = signals_between(session, start=day_ago, end=now)   # the ingest frame's shape
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from twin.domain.signals import SIGNAL_COLUMNS, Quarantined
from twin.store.tables.base import _jsonable, utcnow
from twin.store.tables.signals import (
    DIMENSION_LENGTH,
    METRIC_LENGTH,
    SHIPMENT_LENGTH,
    SOURCE_LENGTH,
    TARGET_LENGTH,
    FeedCheckpointRow,
    QuarantineRow,
    SignalRow,
)

_TIME_COLUMNS = ("ts", "effective_at", "expected_until")
_LIMITS = {
    "source": SOURCE_LENGTH,
    "dimension": DIMENSION_LENGTH,
    "target": TARGET_LENGTH,
    "metric": METRIC_LENGTH,
    "shipment": SHIPMENT_LENGTH,
}
# Rows per INSERT statement sent: bounds memory, the driver batches further within it.
_BATCH = 20_000


@dataclass(frozen=True)
class FeedCheckpoint:
    """Where a feed left off on one file or URL (any field may be unset)."""

    feed: str
    key: str
    sha256: str | None = None
    offset: int | None = None
    last_event_id: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    updated_at: datetime | None = None


def _insert(session: Session, table: sa.Table) -> Any:
    """An INSERT of the session's dialect that can take ON CONFLICT clauses."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {name!r}")


def oversized(frame: pd.DataFrame) -> pd.Series:
    """A boolean mask of rows whose text is longer than a column of the store takes
    (source, dimension, target, metric, shipment); `save_signals` refuses such rows."""
    mask = pd.Series(False, index=frame.index)
    for name, limit in _LIMITS.items():
        if name in frame.columns:
            mask |= (
                frame[name].map(lambda v, n=limit: isinstance(v, str) and len(v) > n).astype(bool)
            )
    return mask


def oversized_quarantine(frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Quarantined]]:
    """Split off rows `save_signals` would refuse, as Quarantined entries naming the field."""
    mask = oversized(frame)
    if not mask.any():
        return frame, []
    bad: list[Quarantined] = []
    for _, row in frame[mask].iterrows():
        field = next(
            n for n, lim in _LIMITS.items() if isinstance(row[n], str) and len(row[n]) > lim
        )
        bad.append(
            Quarantined(
                file=file,
                where=f"ref {row['ref']}",
                field=field,
                reason=f"longer than {_LIMITS[field]} characters",
                raw=str(row[field])[:2000],
            )
        )
    return frame[~mask].reset_index(drop=True), bad


def _column(values: pd.Series, *, time: bool = False) -> list[Any]:
    if time:
        series = pd.to_datetime(values, utc=True)
        out = np.array(series.dt.to_pydatetime(), dtype=object)  # a copy: writable
        out[series.isna().to_numpy()] = None
        return out.tolist()
    array = values.to_numpy(dtype=object)
    missing = pd.isna(array)
    if missing.any():
        array = array.copy()
        array[missing] = None
    return array.tolist()


def save_signals(
    session: Session, *, frame: pd.DataFrame, ingested_at: datetime | None = None
) -> int:
    """Insert the rows of an ingest frame (SIGNAL_COLUMNS); returns how many were new.

    Rows already stored (same source, ref, target) are left as they are: saving the same frame
    twice inserts 0. A missing target is stored as "" (see SignalRow). Raises ValueError if a
    row has no ref or text longer than its column (split those off with `oversized_quarantine`).
    """
    if frame.empty:
        return 0
    if frame["ref"].isna().any():
        raise ValueError("every signal needs a ref (ingest fills it with a content hash)")
    if oversized(frame).any():
        raise ValueError(
            "text longer than the store's columns: split it off with oversized_quarantine()"
        )
    at = ingested_at or utcnow()
    columns: dict[str, list[Any]] = {}
    for name in SIGNAL_COLUMNS:
        columns[name] = _column(frame[name], time=name in _TIME_COLUMNS)
    columns["value"] = frame["value"].astype(float).tolist()
    columns["target"] = ["" if t is None else t for t in columns["target"]]
    names = list(SIGNAL_COLUMNS)
    rows = [
        dict(zip(names, values, strict=True), ingested_at=at)
        for values in zip(*(columns[n] for n in names), strict=True)
    ]
    if session.get_bind().dialect.name == "postgresql":
        return _save_postgres(session, rows)
    return _save_sqlite(session, rows)


def _save_sqlite(session: Session, rows: list[dict[str, Any]]) -> int:
    # One executemany (no RETURNING: that would go row batch by row batch); total_changes()
    # counts the rows the connection really inserted, conflicts excluded.
    statement = sqlite.insert(SignalRow.__table__).on_conflict_do_nothing(
        index_elements=["source", "ref", "target"]
    )
    changes = sa.text("SELECT total_changes()")
    before = session.execute(changes).scalar_one()
    for start in range(0, len(rows), _BATCH):
        session.execute(statement, rows[start : start + _BATCH])
    return int(session.execute(changes).scalar_one() - before)


# One INSERT ... SELECT FROM unnest(arrays): 14 parameters however many rows, so psycopg does
# not parse a statement of thousands of VALUES tuples (6k rows/s that way, ~10x this).
_PG_COLUMNS = (*SIGNAL_COLUMNS, "ingested_at")
_PG_TYPES = {
    "ts": "timestamptz",
    "effective_at": "timestamptz",
    "expected_until": "timestamptz",
    "ingested_at": "timestamptz",
    "value": "float8",
    "extras": "text",
}
_PG_INSERT = (
    f"INSERT INTO signals ({', '.join(_PG_COLUMNS)}) "
    f"SELECT {', '.join('u.extras::json' if c == 'extras' else 'u.' + c for c in _PG_COLUMNS)} "
    f"FROM unnest({', '.join('%s::' + _PG_TYPES.get(c, 'text') + '[]' for c in _PG_COLUMNS)}) "
    f"AS u({', '.join(_PG_COLUMNS)}) "
    "ON CONFLICT (source, ref, target) DO NOTHING"
)


def _save_postgres(session: Session, rows: list[dict[str, Any]]) -> int:
    connection = session.connection()
    inserted = 0
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        arrays = []
        for name in _PG_COLUMNS:
            values = [row[name] for row in part]
            if name == "extras":
                values = [None if v is None else json.dumps(v, default=_jsonable) for v in values]
            arrays.append(values)
        inserted += int(connection.exec_driver_sql(_PG_INSERT, tuple(arrays)).rowcount)
    return inserted


def signals_between(
    session: Session, *, start: datetime | None, end: datetime | None, target: str | None = None
) -> pd.DataFrame:
    """Stored signals with `start <= ts < end` (either bound may be None: open), of one target
    when given, as a frame shaped like an ingest's (SIGNAL_COLUMNS, same dtypes), ordered by
    ts then insertion."""
    table = SignalRow.__table__
    query = sa.select(*(table.c[name] for name in SIGNAL_COLUMNS))
    if start is not None:
        query = query.where(table.c.ts >= start)
    if end is not None:
        query = query.where(table.c.ts < end)
    if target is not None:
        query = query.where(table.c.target == target)
    rows = session.execute(query.order_by(table.c.ts, table.c.id)).all()
    data = list(zip(*rows, strict=True)) if rows else [() for _ in SIGNAL_COLUMNS]
    out: dict[str, Any] = {}
    for name, values in zip(SIGNAL_COLUMNS, data, strict=True):
        if name in _TIME_COLUMNS:
            out[name] = pd.Series(
                pd.to_datetime(pd.Series(values, dtype=object), utc=True)
            ).dt.as_unit("us")
        elif name == "value":
            out[name] = pd.Series(values, dtype=float)
        elif name == "target":
            out[name] = pd.Series([v or None for v in values], dtype=object)
        else:
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=list(SIGNAL_COLUMNS))


def _digest(row: Quarantined) -> str:
    parts = (row.file, row.where, row.field or "", row.reason, row.raw)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="replace")).hexdigest()


def _storable(text: str) -> str:
    """Text PostgreSQL takes: NUL written as `\\x00`, anything not UTF-8 replaced. A
    quarantined row is kept to show what arrived, so its NULs are shown, not dropped."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def save_quarantine(
    session: Session, *, rows: Iterable[Quarantined], at: datetime | None = None
) -> int:
    """Keep bad feed rows; the same row (file, where, field, reason, raw) is kept once.
    Returns how many were new."""
    when = at or utcnow()
    values = [
        {
            "digest": _digest(r),
            "file": _storable(r.file),
            "where": _storable(r.where)[:80],
            "field": None if r.field is None else _storable(r.field)[:120],
            "reason": _storable(r.reason),
            "raw": _storable(r.raw),
            "at": when,
        }
        for r in rows
    ]
    if not values:
        return 0
    table = QuarantineRow.__table__
    statement = (
        _insert(session, table)
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(table.c.id)
    )
    return len(session.execute(statement, values).all())


def list_quarantine(
    session: Session, *, file: str | None = None, limit: int | None = None
) -> list[Quarantined]:
    """Quarantined rows, oldest first (of one file when given)."""
    table = QuarantineRow.__table__
    query = sa.select(table).order_by(table.c.id)
    if file is not None:
        query = query.where(table.c.file == file)
    if limit is not None:
        query = query.limit(limit)
    return [
        Quarantined(file=r.file, where=r.where, field=r.field, reason=r.reason, raw=r.raw)
        for r in session.execute(query)
    ]


def _checkpoint(row: Any) -> FeedCheckpoint:
    return FeedCheckpoint(
        feed=row.feed,
        key=row.key,
        sha256=row.sha256,
        offset=row.offset,
        last_event_id=row.last_event_id,
        etag=row.etag,
        last_modified=row.last_modified,
        updated_at=row.updated_at,
    )


def get_checkpoint(session: Session, *, feed: str, key: str) -> FeedCheckpoint | None:
    """Where `feed` left off on `key` (a file path or URL), or None if it never read it."""
    table = FeedCheckpointRow.__table__
    row = session.execute(
        sa.select(table).where(table.c.feed == feed, table.c.key == key)
    ).one_or_none()
    return None if row is None else _checkpoint(row)


def list_checkpoints(session: Session, *, feed: str) -> dict[str, FeedCheckpoint]:
    """Every checkpoint of `feed`, by key (e.g. to pass `{key: sha256}` as ingest's `known`)."""
    table = FeedCheckpointRow.__table__
    rows = session.execute(sa.select(table).where(table.c.feed == feed).order_by(table.c.key))
    return {row.key: _checkpoint(row) for row in rows}


_CHECKPOINT_FIELDS = ("sha256", "offset", "last_event_id", "etag", "last_modified")


def set_checkpoint(
    session: Session,
    *,
    feed: str,
    key: str,
    sha256: str | None = None,
    offset: int | None = None,
    last_event_id: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    at: datetime | None = None,
) -> FeedCheckpoint:
    """Record where `feed` left off on `key` (insert or replace: fields not given become unset,
    so a checkpoint always describes one read). Returns the checkpoint stored."""
    values = {
        "feed": feed,
        "key": key,
        "sha256": sha256,
        "offset": offset,
        "last_event_id": last_event_id,
        "etag": etag,
        "last_modified": last_modified,
        "updated_at": at or utcnow(),
    }
    table = FeedCheckpointRow.__table__
    statement = _insert(session, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["feed", "key"],
        set_={name: statement.excluded[name] for name in (*_CHECKPOINT_FIELDS, "updated_at")},
    )
    session.execute(statement)
    return FeedCheckpoint(**values)


def delete_checkpoints(session: Session, *, feed: str, keys: Sequence[str] | None = None) -> int:
    """Forget where `feed` left off (on `keys` only, when given), so it is read again."""
    table = FeedCheckpointRow.__table__
    statement = table.delete().where(table.c.feed == feed)
    if keys is not None:
        statement = statement.where(table.c.key.in_(list(keys)))
    return int(session.execute(statement).rowcount or 0)


__all__ = [
    "FeedCheckpoint",
    "delete_checkpoints",
    "get_checkpoint",
    "list_checkpoints",
    "list_quarantine",
    "oversized",
    "oversized_quarantine",
    "save_quarantine",
    "save_signals",
    "set_checkpoint",
    "signals_between",
]
