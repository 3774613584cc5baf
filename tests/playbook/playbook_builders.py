"""Builders for playbook tests: alerts and playbooks in one line each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twin.domain.alerts import Alert
from twin.playbook.schema import Playbook, parse_playbook

T0 = datetime(2024, 1, 2, 6, tzinfo=UTC)


def make_alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": "AL-1",
        "target": "SUEZ",
        "dimension": "security",
        "severity": "critical",
        "score": 0.92,
        "peak": 0.95,
        "opened_at": T0,
        "updated_at": T0,
        "kind": "chokepoint",
        "explain": "incidents_7d=4",
    }
    fields.update(changes)
    return Alert.model_validate(fields)


def make_playbook(**changes: Any) -> Playbook:
    fields: dict[str, Any] = {
        "id": "pb",
        "description": "a test playbook for tests",
        "match": {"dimension": "security"},
        "actions": [{"notify": {"channel": "oncall"}}],
    }
    fields.update(changes)
    return parse_playbook(fields, "test.yaml")
