"""Notifications out of twin: a generic JSON webhook, the Prometheus Alertmanager v2 API, Slack
incoming webhooks and PagerDuty Events API v2; which incident events page (twin.notify.paging)."""

from twin.notify.paging import firing_alerts, incident_pages, resend_firing
from twin.notify.send import (
    Channel,
    alertmanager_payload,
    deliver,
    pagerduty_payload,
    slack_payload,
    webhook_payload,
)

__all__ = [
    "Channel",
    "alertmanager_payload",
    "deliver",
    "firing_alerts",
    "incident_pages",
    "pagerduty_payload",
    "resend_firing",
    "slack_payload",
    "webhook_payload",
]
