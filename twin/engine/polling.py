"""Feed polling: each configured feed read once, its new rows stored with its checkpoint.

A file feed reads every changed file of its glob (by sha256); a URL feed makes a conditional
GET (twin.feeds.http). Each read is one transaction: its signals, quarantined rows, carrier
positions and the feed's checkpoint, together.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import DataError, IntegrityError

from twin.domain.problems import Problem
from twin.domain.settings import FeedSettings
from twin.domain.signals import Quarantined
from twin.engine.context import Service, resolve
from twin.feeds.http import conditional_get
from twin.feeds.ingest import FileRead, IngestResult, ingest_bytes, ingest_file, refused_read
from twin.schedule import metrics
from twin.store.db import session_scope, write_scope
from twin.store.feed_files import held_files, hold_file
from twin.store.signals import (
    get_checkpoint,
    list_checkpoints,
    oversized_quarantine,
    save_quarantine,
    save_signals,
    set_checkpoint,
)
from twin.store.tracking import save_shipment_events

log = logging.getLogger("twin.daemon")


@dataclass
class FeedOutcome:
    """What one poll of a feed did."""

    feed: str
    files: int = 0
    skipped: int = 0
    inserted: int = 0
    rows: int = 0
    quarantined: int = 0
    files_quarantined: int = 0
    problems: list[Problem] = field(default_factory=list)
    not_modified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "files": self.files,
            "skipped": self.skipped,
            "rows": self.rows,
            "inserted": self.inserted,
            "quarantined": self.quarantined,
            "files_quarantined": self.files_quarantined,
            "problems": len(self.problems),
            "not_modified": self.not_modified,
        }


def _feed_files(base: Path, pattern: str) -> list[Path]:
    full = str(resolve(base, pattern))
    found = sorted(Path(p) for p in glob.glob(full, recursive=True))
    # Hidden files are work in progress (write to .name.tmp, then rename): never read them.
    return [
        p
        for p in found
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith((".tmp", ".part", ".partial"))
    ]


def _store_read(
    service: Service,
    feed: str,
    key: str,
    result: IngestResult,
    *,
    sha256: str,
    offset: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> tuple[int, int, int]:
    """Signals, quarantine and checkpoint of one read, in one transaction."""
    frame, too_long = oversized_quarantine(result.frame, key)
    quarantine = result.quarantine + too_long
    with write_scope(service.db) as session:
        inserted = save_signals(session, frame=frame)
        save_quarantine(session, rows=quarantine)
        save_shipment_events(session, positions=result.positions)
        set_checkpoint(
            session,
            feed=feed,
            key=key,
            sha256=sha256,
            offset=offset,
            etag=etag,
            last_modified=last_modified,
        )
    metrics.SIGNALS_INGESTED.labels(feed).inc(inserted)
    metrics.SIGNALS_QUARANTINED.labels(feed).inc(len(quarantine))
    return inserted, len(frame), len(quarantine)


def ingest_feed(
    service: Service, feed: FeedSettings, *, client: httpx.Client | None = None
) -> FeedOutcome:
    """Poll one feed once: every changed file of its glob, or its URL (conditional GET).

    Raises for a feed that cannot be read at all (an unreachable URL, an HTTP error); bad rows
    are quarantined and reported in the outcome, never raised, and a file that cannot be read
    is held out whole (quarantined) while the others are read.
    """
    forced = None if feed.format == "auto" else feed.format
    outcome = FeedOutcome(feed.name)
    if feed.path is not None:
        with session_scope(service.db) as session:
            known = {k: cp.sha256 for k, cp in list_checkpoints(session, feed=feed.name).items()}
            held = held_files(session, feed=feed.name)
        for file in _feed_files(service.base, feed.path):
            key = str(file.resolve())
            outcome.files += 1
            # Each file on its own: one that cannot be read is held out (quarantined whole)
            # and the pass moves on to the next; it is not read again until re-queued.
            read = ingest_file(
                file,
                service.network,
                format=forced,
                limits=service.limits,
                metrics=service.settings.scoring.known_metrics,
            )
            if read.sha256 and read.sha256 in (known.get(key), held.get(key)):
                outcome.skipped += 1
                continue
            _store_file(service, feed.name, key, read, outcome, offset=read.size)
        return outcome
    assert feed.url is not None
    with session_scope(service.db) as session:
        checkpoint = get_checkpoint(session, feed=feed.name, key=feed.url)
    largest = service.limits.largest
    fetched = conditional_get(
        feed.url,
        headers=feed.headers,
        etag=checkpoint.etag if checkpoint is not None else None,
        last_modified=checkpoint.last_modified if checkpoint is not None else None,
        client=client,
        largest=largest,
    )
    outcome.files = 1
    if fetched.content is None:
        outcome.not_modified, outcome.skipped = True, 1
        return outcome
    data = fetched.content
    digest = hashlib.sha256(data).hexdigest()
    if checkpoint is not None and checkpoint.sha256 == digest:
        outcome.skipped = 1
        return outcome
    with session_scope(service.db) as session:
        if held_files(session, feed=feed.name).get(feed.url) == digest:
            outcome.skipped = 1
            return outcome
    if len(data) > largest:
        reason = f"a response larger than {largest} bytes, not read"
        read = refused_read(feed.url, reason, data[:2_000], digest, len(data))
    else:
        result = ingest_bytes(
            data,
            feed.url,
            service.network,
            format=forced,
            limits=service.limits,
            metrics=service.settings.scoring.known_metrics,
        )
        read = FileRead(result, digest, len(data))
    _store_file(
        service,
        feed.name,
        feed.url,
        read,
        outcome,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )
    return outcome


# What the store may refuse in a file's rows (text, types, keys): the file is held out whole
# and the feed moves on. Other errors (the database unreachable) fail the feed's poll.
_REFUSED_BY_STORE = (DataError, IntegrityError, ValueError, TypeError, RecursionError)


def _store_file(
    service: Service,
    feed: str,
    key: str,
    read: FileRead,
    outcome: FeedOutcome,
    *,
    offset: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Store one read file (signals, quarantine, checkpoint in one transaction), or hold it out
    with its reason when it could not be read (or the store refused it)."""
    refused = read.refused
    if refused is None:
        try:
            inserted, rows, bad = _store_read(
                service,
                feed,
                key,
                read.result,
                sha256=read.sha256,
                offset=offset,
                etag=etag,
                last_modified=last_modified,
            )
        except _REFUSED_BY_STORE as exc:
            refused = (
                f"the store refused it: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            )
        else:
            outcome.inserted += inserted
            outcome.rows += rows
            outcome.quarantined += bad
            outcome.problems += read.result.errors
            return
    quarantine = [q for q in read.result.quarantine if q.where == "file"] or [
        Quarantined(file=key, where="file", field=None, reason=refused, raw="")
    ]
    with write_scope(service.db) as session:
        hold_file(
            session,
            feed=feed,
            key=key,
            sha256=read.sha256,
            reason=refused,
            format=read.report.format,
            size=read.size,
        )
        save_quarantine(session, rows=read.result.quarantine if read.refused else quarantine)
        set_checkpoint(
            session,
            feed=feed,
            key=key,
            sha256=read.sha256,
            offset=offset,
            etag=etag,
            last_modified=last_modified,
        )
    metrics.FILES_QUARANTINED.labels(feed).inc()
    metrics.SIGNALS_QUARANTINED.labels(feed).inc(len(read.result.quarantine))
    service.health.file_quarantined(feed)
    outcome.quarantined += len(read.result.quarantine)
    outcome.files_quarantined += 1
    outcome.problems.append(Problem(key, "", None, f"file quarantined: {refused}"))


def poll_feed(service: Service, feed: FeedSettings) -> FeedOutcome | None:
    """`ingest_feed` with backoff: after a failure the feed is left alone for every × 2^n (at
    most 10 minutes); a failure is logged and re-raised for the job's report. None: backing off."""
    failures, next_try = service.backoff.get(feed.name, (0, 0.0))
    if time.monotonic() < next_try:
        return None
    try:
        outcome = ingest_feed(service, feed)
    except Exception as exc:
        failures += 1
        wait = min(feed.every.total_seconds() * 2**failures, 600.0)
        service.backoff[feed.name] = (failures, time.monotonic() + wait)
        metrics.FEED_ERRORS.labels(feed.name).inc()
        log.warning(
            "feed %s failed (%d in a row; next try in %.0fs): %s: %s",
            feed.name,
            failures,
            wait,
            type(exc).__name__,
            exc,
            extra={"feed": feed.name, "failures": failures},
        )
        raise
    service.backoff.pop(feed.name, None)
    if outcome.inserted or outcome.quarantined:
        log.info(
            "feed %s: %d new signals, %d quarantined",
            feed.name,
            outcome.inserted,
            outcome.quarantined,
            extra=outcome.as_dict(),
        )
    for problem in outcome.problems[:20]:
        log.warning("feed %s: %s", feed.name, problem, extra={"feed": feed.name})
    return outcome
