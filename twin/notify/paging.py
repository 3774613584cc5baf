"""When twin pages, and what: one notification per incident and event, and Alertmanager alerts
kept up exactly as long as their cause.

Events (`Notification.labels["event"]`), each sent once per incident and channel (the outbox
id hashes the incident, channel and text, and the text names the event):

    needs_approval   the incident waits for a person (proposed, not shadow)
    applied          its plan is in force
    rolled_back      a person or the alert's clearing rolled it back
    expired          nobody decided in time
    rejected         a person said no
    resolved         (Alertmanager channels) the alert that caused it cleared

An Alertmanager channel gets no event messages: it gets the incident as one alert, re-sent on
every monitor pass with `endsAt` a few passes ahead while the cause is open (as Prometheus does,
so a daemon that dies lets the page lapse instead of leaving it up forever), then once with
`endsAt` at the clearing (the `resolved` event).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import httpx

from twin.domain.incidents import Incident, IncidentState, Notification, NotificationAttempt
from twin.notify.send import Channel, alertmanager_payload, post

S = IncidentState
EVENTS: dict[IncidentState, str] = {
    S.proposed: "needs_approval",
    S.applied: "applied",
    S.rolled_back: "rolled_back",
    S.expired: "expired",
    S.rejected: "rejected",
}
HEADLINES = {
    "needs_approval": "Needs approval",
    "applied": "Applied",
    "rolled_back": "Rolled back",
    "expired": "Expired undecided",
    "rejected": "Rejected",
    "resolved": "Resolved",
}
# Alertmanager keeps a firing alert this many monitor passes past its last re-send.
ENDS_AFTER_PASSES = 4


def _event_note(note: Notification, event: str) -> Notification:
    return note.model_copy(
        update={
            "summary": f"{HEADLINES[event]}: {note.summary}",
            "labels": {**note.labels, "event": event},
        }
    )


def _channels(incident: Incident) -> list[Notification]:
    # One message per channel, even if a playbook names a channel twice.
    seen: dict[str, Notification] = {}
    for note in incident.notifications:
        seen.setdefault(note.channel, note)
    return list(seen.values())


def incident_pages(
    incidents: Iterable[Incident],
    kinds: Mapping[str, str],
    *,
    since: datetime,
) -> list[tuple[str, Notification]]:
    """The notifications the incidents' current states call for: (incident id, notification).

    `kinds` maps channel names to their kind (a channel not configured counts as a webhook: the
    outbox records it as not sent). Only incidents that changed at or after `since` (alerts
    that cleared since then, for `resolved`) are paged, so the first pass after an upgrade does
    not page old history. The same call on a later pass returns the same notifications: the
    outbox keeps each once.
    """
    pages: list[tuple[str, Notification]] = []
    for incident in incidents:
        if incident.shadow:
            continue
        event = EVENTS.get(incident.state)
        cleared = incident.alert.cleared_at
        for note in _channels(incident):
            if kinds.get(note.channel) == "alertmanager":
                if cleared is not None and cleared >= since:
                    pages.append((incident.id, _event_note(note, "resolved")))
            elif event is not None and incident.updated_at >= since:
                pages.append((incident.id, _event_note(note, event)))
    return pages


def firing_alerts(
    incidents: Iterable[Incident],
    channels: Mapping[str, Channel],
    now: datetime,
    every: timedelta,
) -> dict[str, list[dict[str, object]]]:
    """Per Alertmanager channel, the alerts to (re-)send on this pass: one per incident whose
    cause is still open, `endsAt` ENDS_AFTER_PASSES passes ahead."""
    ends_at = now + ENDS_AFTER_PASSES * every
    out: dict[str, list[dict[str, object]]] = {}
    for incident in incidents:
        if incident.shadow or incident.alert.cleared_at is not None:
            continue
        for note in _channels(incident):
            channel = channels.get(note.channel)
            if channel is None or channel.format != "alertmanager":
                continue
            out.setdefault(channel.name, []).extend(
                alertmanager_payload(incident, note, channel, ends_at=ends_at)
            )
    return out


def resend_firing(
    incidents: Iterable[Incident],
    channels: Mapping[str, Channel],
    now: datetime,
    every: timedelta,
    *,
    client: httpx.Client | None = None,
) -> list[NotificationAttempt]:
    """POST the firing alerts of this pass, one request per Alertmanager channel (a single
    try: the next pass sends them again anyway). Returns the attempts; never raises."""
    attempts: list[NotificationAttempt] = []
    for name, alerts in firing_alerts(incidents, channels, now, every).items():
        once = Channel(**{**channels[name].__dict__, "attempts": 1})
        attempts += post(once, alerts, None, client)
    return attempts


__all__ = [
    "ENDS_AFTER_PASSES",
    "EVENTS",
    "firing_alerts",
    "incident_pages",
    "resend_firing",
]
