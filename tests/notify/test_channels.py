"""Slack and PagerDuty channels and the console link, each against a local fake receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.notify.conftest import T0, Receiver, make_incident
from twin.domain.incidents import IncidentState as S
from twin.domain.problems import InputError
from twin.domain.settings import PAGERDUTY_EVENTS_URL, TwinConfig
from twin.notify import Channel, deliver, incident_pages

EXTERNAL = "https://twin.example.org"


def _page(incident, event: str):  # type: ignore[no-untyped-def]
    ((_, note),) = incident_pages([incident], {}, since=T0)
    assert note.labels["event"] == event
    return note


def test_slack_incoming_webhook(receiver: Receiver) -> None:
    incident = make_incident(S.proposed)
    note = _page(incident, "needs_approval")
    channel = Channel(
        "chat", receiver.url + "/services/T0/B0/x", format="slack", console_url=EXTERNAL
    )
    attempts = deliver(incident, note, channel)
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 200)]
    path, _, body = receiver.requests[-1]
    assert path == "/services/T0/B0/x"
    assert body["text"] == ":red_circle: Needs approval: SUEZ closed: freight re-planned"
    detail = body["blocks"][1]["text"]["text"]
    assert f"<{EXTERNAL}/incidents/{incident.id}|Open incident {incident.id}>" in detail
    assert "state *proposed*" in detail


def test_pagerduty_events_v2_trigger_then_resolve(receiver: Receiver) -> None:
    channel = Channel(
        "pd",
        receiver.url + "/v2/enqueue",
        format="pagerduty",
        routing_key="R0UT1NG",
        console_url=EXTERNAL,
    )
    waiting = make_incident(S.proposed)
    deliver(waiting, _page(waiting, "needs_approval"), channel)
    expired = make_incident(S.expired, updated_at=T0 + timedelta(hours=24))
    deliver(expired, _page(expired, "expired"), channel)
    trigger, resolve = receiver.bodies()
    assert trigger["routing_key"] == "R0UT1NG" and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == waiting.id == resolve["dedup_key"]  # one page per incident
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == "Needs approval: SUEZ closed: freight re-planned"
    assert trigger["payload"]["source"] == "twin SUEZ"
    assert trigger["links"] == [
        {"href": f"{EXTERNAL}/incidents/{waiting.id}", "text": f"Incident {waiting.id}"}
    ]
    assert resolve == {"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": waiting.id}


def test_webhook_links_use_external_url(receiver: Receiver) -> None:
    incident = make_incident(S.applied)
    deliver(
        incident, _page(incident, "applied"), Channel("hook", receiver.url, console_url=EXTERNAL)
    )
    body = receiver.bodies()[-1]
    assert body["incident"]["url"] == f"{EXTERNAL}/incidents/{incident.id}"
    assert body["event"] == "applied" and body["summary"].startswith("Applied: ")


def test_channel_settings() -> None:
    config = TwinConfig.from_mapping(
        {
            "serve": {"port": 9000, "external_url": "https://twin.example.org/"},
            "notify": {
                "channels": [
                    {"name": "pd", "kind": "pagerduty", "routing_key": "k"},
                    {"name": "chat", "kind": "slack", "url": "https://hooks.slack.com/services/x"},
                ]
            },
        }
    )
    assert config.serve.base_url == "https://twin.example.org"
    assert config.notify.channels[0].url == PAGERDUTY_EVENTS_URL
    assert (
        TwinConfig.from_mapping({"serve": {"port": 9000}}).serve.base_url == "http://127.0.0.1:9000"
    )
    with pytest.raises(InputError, match="needs `routing_key`"):
        TwinConfig.from_mapping({"notify": {"channels": [{"name": "pd", "kind": "pagerduty"}]}})
    with pytest.raises(InputError, match="needs `url`"):
        TwinConfig.from_mapping({"notify": {"channels": [{"name": "c", "kind": "slack"}]}})
    with pytest.raises(InputError, match="external_url"):
        TwinConfig.from_mapping({"serve": {"external_url": "twin.example.org"}})
