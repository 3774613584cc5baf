"""Deliver an incident's notification to a webhook, Alertmanager, Slack or PagerDuty: bounded
retries with backoff, every attempt recorded, and never an exception into the pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from twin.domain.durations import format_timestamp
from twin.domain.incidents import Incident, Notification, NotificationAttempt

ChannelKind = Literal["webhook", "alertmanager", "slack", "pagerduty"]
# Worth another try: the receiver was down, overloaded or rate-limiting. A 4xx other than 408/429
# says the request itself is wrong: repeating it would fail the same way.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Channel:
    """Where a playbook's `notify: {channel: NAME}` goes.

    url: the webhook's URL, Alertmanager's base URL (`/api/v2/alerts` is appended), a Slack
    incoming webhook, or PagerDuty's Events API v2 endpoint.
    console_url: the twin console as people reach it (`[serve] external_url`): every link.
    routing_key: PagerDuty's integration key.
    """

    name: str
    url: str
    format: ChannelKind = "webhook"
    console_url: str = "http://127.0.0.1:8080"
    attempts: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()
    routing_key: str | None = None

    @property
    def endpoint(self) -> str:
        if self.format == "alertmanager":
            return self.url.rstrip("/") + "/api/v2/alerts"
        return self.url

    def link(self, incident: Incident) -> str:
        return f"{self.console_url.rstrip('/')}/incidents/{incident.id}"


def webhook_payload(incident: Incident, note: Notification, channel: Channel) -> dict[str, Any]:
    """The generic JSON body: the notification, the incident's essentials and its plan summary."""
    alert = incident.alert
    return {
        "version": "1",
        "source": "twin",
        "channel": channel.name,
        "event": note.labels.get("event", ""),
        "status": "resolved" if alert.cleared_at else "firing",
        "summary": note.summary,
        "severity": note.severity,
        "labels": note.labels,
        "incident": {
            "id": incident.id,
            "state": incident.state.value,
            "playbook": incident.playbook_id,
            "why": incident.why,
            "needs_approval": list(incident.needs_approval),
            "shadow": incident.shadow,
            "plan": incident.diff.summary(),
            "url": channel.link(incident),
        },
        "alert": {
            "id": alert.id,
            "target": alert.target,
            "dimension": alert.dimension,
            "severity": alert.severity.value,
            "score": alert.score,
            "opened_at": format_timestamp(alert.opened_at),
            "cleared_at": format_timestamp(alert.cleared_at) if alert.cleared_at else None,
        },
    }


def alertmanager_payload(
    incident: Incident,
    note: Notification,
    channel: Channel,
    ends_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The body of Alertmanager's `POST /api/v2/alerts`: a list of postable alerts.

    Labels identify the alert (Alertmanager groups and deduplicates on them: one alert per
    incident); annotations carry the text. `endsAt` is `ends_at` when given (a firing alert
    re-sent each pass with its end a few passes ahead, as Prometheus does), else the time the
    alert cleared, so Alertmanager resolves it then.
    """
    alert = incident.alert
    item: dict[str, Any] = {
        "labels": {
            "alertname": "TwinIncident",
            "severity": note.severity,
            "target": alert.target,
            "dimension": alert.dimension,
            "playbook": incident.playbook_id,
            "incident": incident.id,
            "channel": channel.name,
            **{
                k: str(v)
                for k, v in note.labels.items()
                if k not in ("target", "dimension", "event")  # an event must not split the alert
            },
        },
        "annotations": {
            "summary": note.summary,
            "description": incident.why,
            "plan": ", ".join(f"{k}={v}" for k, v in incident.diff.summary().items()),
            "state": incident.state.value,
        },
        "startsAt": format_timestamp(alert.opened_at),
        "generatorURL": channel.link(incident),
    }
    end = ends_at if ends_at is not None else alert.cleared_at
    if end is not None:
        item["endsAt"] = format_timestamp(end)
    return [item]


def slack_payload(incident: Incident, note: Notification, channel: Channel) -> dict[str, Any]:
    """A Slack incoming-webhook message: one line of text (what notifications show) and a
    section with the link to the incident."""
    alert = incident.alert
    icon = {"critical": ":red_circle:", "warn": ":large_yellow_circle:"}.get(note.severity, "")
    text = f"{icon} {note.summary}".strip()
    plan = ", ".join(f"{k} {v}" for k, v in incident.diff.summary().items())
    detail = (
        f"*{alert.severity.value} {alert.dimension}* at *{alert.target}* · playbook "
        f"`{incident.playbook_id}` · state *{incident.state.value}*"
        + (f"\nplan: {plan}" if plan else "")
        + f"\n<{channel.link(incident)}|Open incident {incident.id}>"
    )
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": detail}},
        ],
    }


# An incident's events as PagerDuty actions: a decision is wanted (trigger, deduplicated on the
# incident so a repeat adds to the same page), or the matter is settled (resolve).
PAGERDUTY_ACTIONS = {
    "needs_approval": "trigger",
    "applied": "trigger",
    "rolled_back": "resolve",
    "expired": "resolve",
    "rejected": "resolve",
    "resolved": "resolve",
}


def pagerduty_payload(incident: Incident, note: Notification, channel: Channel) -> dict[str, Any]:
    """A PagerDuty Events API v2 event, deduplicated on the incident id."""
    alert = incident.alert
    action = PAGERDUTY_ACTIONS.get(note.labels.get("event", ""), "trigger")
    body: dict[str, Any] = {
        "routing_key": channel.routing_key or "",
        "event_action": action,
        "dedup_key": incident.id,
    }
    if action == "trigger":
        body["payload"] = {
            "summary": note.summary[:1024],
            "source": f"twin {alert.target}",
            "severity": "critical" if note.severity == "critical" else "warning",
            "timestamp": format_timestamp(alert.opened_at),
            "component": alert.target,
            "group": incident.playbook_id,
            "class": alert.dimension,
            "custom_details": {
                "state": incident.state.value,
                "why": incident.why,
                "plan": incident.diff.summary(),
            },
        }
        body["links"] = [{"href": channel.link(incident), "text": f"Incident {incident.id}"}]
        body["client"] = "twin"
        body["client_url"] = channel.link(incident)
    return body


def payload(incident: Incident, note: Notification, channel: Channel) -> Any:
    """The request body for the channel's kind."""
    if channel.format == "alertmanager":
        return alertmanager_payload(incident, note, channel)
    if channel.format == "slack":
        return slack_payload(incident, note, channel)
    if channel.format == "pagerduty":
        return pagerduty_payload(incident, note, channel)
    return webhook_payload(incident, note, channel)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def deliver(
    incident: Incident,
    note: Notification,
    channel: Channel,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = _utcnow,
) -> list[NotificationAttempt]:
    """POST the notification, retrying up to `channel.attempts` times with exponential backoff.

    Returns every attempt (the caller stores them); the last one says whether it got through.
    Never raises: a notifier that is down must not stop the engine's tick.
    """
    return post(channel, payload(incident, note, channel), incident.id, client, sleep, clock)


def post(
    channel: Channel,
    body: Any,
    incident_id: str | None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = _utcnow,
) -> list[NotificationAttempt]:
    """POST `body` to the channel with bounded retries; every attempt returned, never raises."""
    own = client is None
    http = client or httpx.Client(timeout=channel.timeout_s)
    attempts: list[NotificationAttempt] = []
    try:
        for number in range(1, max(1, channel.attempts) + 1):
            status: int | None = None
            error = ""
            try:
                response = http.post(channel.endpoint, json=body, headers=dict(channel.headers))
                status = response.status_code
                ok = 200 <= status < 300
                if not ok:
                    error = f"HTTP {status}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            attempts.append(
                NotificationAttempt(
                    incident_id=incident_id,
                    channel=channel.name,
                    url=channel.endpoint,
                    format=channel.format,
                    attempt=number,
                    at=clock(),
                    ok=ok,
                    status_code=status,
                    error=error,
                )
            )
            if ok or (status is not None and status not in RETRY_STATUS):
                break
            if number < channel.attempts:
                sleep(channel.backoff_s * 2 ** (number - 1))
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong, the pipeline goes on
        attempts.append(
            NotificationAttempt(
                incident_id=incident_id,
                channel=channel.name,
                url=channel.endpoint,
                format=channel.format,
                attempt=len(attempts) + 1,
                at=clock(),
                ok=False,
                error=f"{type(exc).__name__}: {exc}",
            )
        )
    finally:
        if own:
            http.close()
    return attempts
