"""Feed files quarantined whole, and putting them back (keyword-only; callers commit).

A feed that cannot read a file as a whole (twin.feeds.ingest: FileReport.refused) holds it here
with its content hash and the reason. The feed skips a held file while its content is unchanged,
so one bad file never blocks the files after it nor is read again on every pass; a person puts
it back with `twin feeds requeue` (`requeue_file`), which also forgets its checkpoint so the
next pass reads it. A file whose content changes is a new file and is read again.

    with session_scope(engine) as session:
        hold_file(session, feed="drop", key="/feeds/a.xml", sha256=digest, reason="...")
        held = held_files(session, feed="drop")           # {key: sha256}
        requeue_file(session, key="/feeds/a.xml")         # [(feed, key)] put back
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from twin.store.signals import _insert
from twin.store.tables.base import utcnow
from twin.store.tables.signals import FeedCheckpointRow, QuarantinedFileRow

_HELD: sa.Table = QuarantinedFileRow.__table__  # type: ignore[attr-defined]
_CHECKPOINTS: sa.Table = FeedCheckpointRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HeldFile:
    """A quarantined feed file: which feed, where, its content hash, format, size and why."""

    feed: str
    key: str
    sha256: str
    format: str
    size: int
    reason: str
    at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "feed": self.feed,
            "key": self.key,
            "sha256": self.sha256,
            "format": self.format,
            "size": self.size,
            "reason": self.reason,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


def hold_file(
    session: Session,
    *,
    feed: str,
    key: str,
    sha256: str,
    reason: str,
    format: str = "",
    size: int = 0,
    at: datetime | None = None,
) -> None:
    """Hold `key` of `feed` out of the feed (insert or replace the held entry)."""
    values = {
        "feed": feed,
        "key": key,
        "sha256": sha256,
        "format": format[:20],
        "size": size,
        "reason": reason.replace("\x00", "\\x00"),
        "at": at or utcnow(),
    }
    table = _HELD
    statement = _insert(session, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["feed", "key"],
        set_={
            name: statement.excluded[name] for name in ("sha256", "format", "size", "reason", "at")
        },
    )
    session.execute(statement)


def held_files(session: Session, *, feed: str) -> dict[str, str]:
    """The files `feed` holds out, as {key: sha256 of the content held}."""
    table = _HELD
    rows = session.execute(sa.select(table.c.key, table.c.sha256).where(table.c.feed == feed))
    return {row.key: row.sha256 for row in rows}


def list_held_files(
    session: Session, *, feed: str | None = None, since: datetime | None = None
) -> list[HeldFile]:
    """Quarantined feed files, newest first (of one feed, or held since a time, when given)."""
    table = _HELD
    query = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc())
    if feed is not None:
        query = query.where(table.c.feed == feed)
    if since is not None:
        query = query.where(table.c.at >= since)
    return [
        HeldFile(
            feed=r.feed,
            key=r.key,
            sha256=r.sha256,
            format=r.format,
            size=r.size,
            reason=r.reason,
            at=r.at,
        )
        for r in session.execute(query)
    ]


def requeue_file(session: Session, *, key: str, feed: str | None = None) -> list[tuple[str, str]]:
    """Put a held file back (of every feed holding `key`, or of `feed`): its held entry and its
    checkpoint are deleted, so the next pass reads it. Returns the (feed, key) pairs put back."""
    table = _HELD
    query = sa.select(table.c.feed, table.c.key).where(table.c.key == key)
    if feed is not None:
        query = query.where(table.c.feed == feed)
    found = [(row.feed, row.key) for row in session.execute(query)]
    checkpoints = _CHECKPOINTS
    for held_feed, held_key in found:
        session.execute(table.delete().where(table.c.feed == held_feed, table.c.key == held_key))
        session.execute(
            checkpoints.delete().where(
                checkpoints.c.feed == held_feed, checkpoints.c.key == held_key
            )
        )
    return found


__all__ = ["HeldFile", "held_files", "hold_file", "list_held_files", "requeue_file"]
