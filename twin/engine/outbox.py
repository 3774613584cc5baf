"""The notification outbox: queued notifications delivered, each marked in the store after its
round (delivered, failed for now, or given up)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from twin.domain.incidents import Incident
from twin.engine.context import Service
from twin.notify.paging import resend_firing
from twin.notify.send import Channel, deliver
from twin.schedule import metrics
from twin.store.db import session_scope, write_scope
from twin.store.incidents import get_incident, record_attempts
from twin.store.routes import mark_notification, pending_notifications

log = logging.getLogger("twin.daemon")
# A notification that failed this many delivery attempts in all is given up (and reported).
GIVE_UP_AFTER = 20


def deliver_pending(service: Service, now: datetime | None = None) -> int:
    """Send queued notifications; each is marked delivered (or given up) at `now` (default: the
    wall clock). Its outbox id goes out as the `Idempotency-Key` header. Returns how many got
    through."""
    at = now or datetime.now(UTC)
    with session_scope(service.db) as session:
        pending = pending_notifications(session)
    sent = 0
    for item in pending:
        channel = service.channels.get(item.channel)
        if channel is None:
            with write_scope(service.db) as session:
                mark_notification(
                    session,
                    id=item.id,
                    attempts=0,
                    at=at,
                    outcome=f"no channel named {item.channel!r} in [notify]: not sent",
                )
            metrics.NOTIFICATIONS.labels("no_channel").inc()
            log.warning("notification %s: no channel %r configured", item.id, item.channel)
            continue
        with session_scope(service.db) as session:
            incident = get_incident(session, id=item.incident_id)
        keyed = Channel(
            **{**channel.__dict__, "headers": (*channel.headers, ("Idempotency-Key", item.id))}
        )
        attempts = deliver(incident, item.notification, keyed)
        ok = bool(attempts) and attempts[-1].ok
        done = ok or item.attempts + len(attempts) >= GIVE_UP_AFTER
        outcome = "delivered" if ok else (attempts[-1].error if attempts else "not sent")
        with write_scope(service.db) as session:
            record_attempts(session, attempts=attempts)
            mark_notification(
                session,
                id=item.id,
                attempts=len(attempts),
                at=at if done else None,
                outcome=outcome,
            )
        metrics.NOTIFICATIONS.labels(
            "delivered" if ok else ("given_up" if done else "failed")
        ).inc()
        sent += ok
    return sent


def resend_firing_alerts(service: Service, incidents: Iterable[Incident], now: datetime) -> None:
    """Re-send the open incidents to Alertmanager channels, `endsAt` a few passes ahead; only
    failures are recorded (a success every pass would flood the attempt log)."""
    attempts = resend_firing(incidents, service.channels, now, service.config.monitor.every)
    failed = [a for a in attempts if not a.ok]
    if failed:
        with write_scope(service.db) as session:
            record_attempts(session, attempts=failed)
    for attempt in attempts:
        metrics.NOTIFICATIONS.labels("refreshed" if attempt.ok else "failed").inc()
