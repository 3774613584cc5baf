"""Notifications out of twin: a generic JSON webhook and the Prometheus Alertmanager v2 API."""

from twin.notify.send import Channel, alertmanager_payload, deliver, webhook_payload

__all__ = ["Channel", "alertmanager_payload", "deliver", "webhook_payload"]
