"""Deliver an incident's notification to a webhook or Alertmanager: bounded retries with backoff,
every attempt recorded, and never an exception into the pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from twin.domain.durations import format_timestamp
from twin.domain.incidents import Incident, Notification, NotificationAttempt

Format = Literal["webhook", "alertmanager"]
# Worth another try: the receiver was down, overloaded or rate-limiting. A 4xx other than 408/429
# says the request itself is wrong: repeating it would fail the same way.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Channel:
    """Where a playbook's `notify: {channel: NAME}` goes.

    url: the webhook's URL, or Alertmanager's base URL (`/api/v2/alerts` is appended).
    console_url: the twin console, linked from each alert as its generatorURL.
    """

    name: str
    url: str
    format: Format = "webhook"
    console_url: str = "http://localhost:8000"
    attempts: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def endpoint(self) -> str:
        if self.format == "alertmanager":
            return self.url.rstrip("/") + "/api/v2/alerts"
        return self.url


def webhook_payload(incident: Incident, note: Notification, channel: Channel) -> dict[str, Any]:
    """The generic JSON body: the notification, the incident's essentials and its plan summary."""
    alert = incident.alert
    return {
        "version": "1",
        "source": "twin",
        "channel": channel.name,
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
            "url": f"{channel.console_url.rstrip('/')}/incidents/{incident.id}",
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
    incident: Incident, note: Notification, channel: Channel
) -> list[dict[str, Any]]:
    """The body of Alertmanager's `POST /api/v2/alerts`: a list of postable alerts.

    Labels identify the alert (Alertmanager groups and deduplicates on them); annotations carry
    the text; endsAt is set once the alert cleared, so Alertmanager resolves it.
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
            **{k: str(v) for k, v in note.labels.items() if k not in ("target", "dimension")},
        },
        "annotations": {
            "summary": note.summary,
            "description": incident.why,
            "plan": ", ".join(f"{k}={v}" for k, v in incident.diff.summary().items()),
            "state": incident.state.value,
        },
        "startsAt": format_timestamp(alert.opened_at),
        "generatorURL": f"{channel.console_url.rstrip('/')}/incidents/{incident.id}",
    }
    if alert.cleared_at is not None:
        item["endsAt"] = format_timestamp(alert.cleared_at)
    return [item]


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
    body: Any = (
        alertmanager_payload(incident, note, channel)
        if channel.format == "alertmanager"
        else webhook_payload(incident, note, channel)
    )
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
                    incident_id=incident.id,
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
                incident_id=incident.id,
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
