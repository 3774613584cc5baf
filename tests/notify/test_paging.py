"""Which events page, once each per incident; Alertmanager alerts re-sent while the cause lasts."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.conftest import T0, Receiver, make_incident
from twin.domain.incidents import IncidentState as S
from twin.notify import Channel, firing_alerts, incident_pages, resend_firing

HOUR = timedelta(hours=1)


def test_each_state_pages_its_event_on_every_channel() -> None:
    expected = {
        S.proposed: "needs_approval",
        S.applied: "applied",
        S.rolled_back: "rolled_back",
        S.expired: "expired",
        S.rejected: "rejected",
        S.approved: None,  # a person approved: the apply that follows pages
        S.auto_approved: None,
        S.shadowed: None,
    }
    for state, event in expected.items():
        incident = make_incident(state, channels=("oncall", "planning", "oncall"))
        pages = incident_pages([incident], {}, since=T0)
        if event is None:
            assert pages == [], state
            continue
        assert [(i, n.channel, n.labels["event"]) for i, n in pages] == [
            (incident.id, "oncall", event),
            (incident.id, "planning", event),
        ]


def test_a_repeat_pass_pages_the_same_notification_so_the_outbox_keeps_one() -> None:
    from twin.store.routes import outbox_id

    incident = make_incident(S.proposed)
    first = incident_pages([incident], {}, since=T0)
    again = incident_pages([incident], {}, since=T0 - HOUR)
    assert first == again
    ids = {outbox_id(i, 0, n) for i, n in first + again}
    assert len(ids) == 1
    applied = incident_pages([make_incident(S.applied, updated_at=T0 + HOUR)], {}, since=T0)
    assert outbox_id(applied[0][0], 0, applied[0][1]) not in ids  # a new event: a new page


def test_old_history_and_shadow_incidents_do_not_page() -> None:
    assert incident_pages([make_incident(S.proposed)], {}, since=T0 + HOUR) == []
    shadow = make_incident(S.proposed).model_copy(update={"shadow": True})
    assert incident_pages([shadow], {}, since=T0) == []


def test_alertmanager_channels_get_the_cause_not_the_events() -> None:
    kinds = {"am": "alertmanager", "oncall": "webhook"}
    open_ = make_incident(S.applied, channels=("am", "oncall"))
    pages = incident_pages([open_], kinds, since=T0)
    assert [(n.channel, n.labels["event"]) for _, n in pages] == [("oncall", "applied")]
    cleared = make_incident(S.rolled_back, channels=("am",), cleared_at=T0 + 5 * HOUR)
    pages = incident_pages([cleared], kinds, since=T0 + 4 * HOUR)
    assert [(n.channel, n.labels["event"]) for _, n in pages] == [("am", "resolved")]


def test_firing_alerts_end_four_passes_ahead_until_the_cause_clears(receiver: Receiver) -> None:
    channels = {
        "am": Channel("am", receiver.url, format="alertmanager", console_url="http://twin:8080"),
        "oncall": Channel("oncall", receiver.url + "/hook"),
    }
    every = timedelta(minutes=5)
    incident = make_incident(S.proposed, channels=("am", "oncall"))
    for minutes in (0, 5, 10):  # three passes while the alert is open: re-sent each time
        now = T0 + timedelta(minutes=minutes)
        attempts = resend_firing([incident], channels, now, every)
        assert [a.ok for a in attempts] == [True]
    assert [path for path, _, _ in receiver.requests] == ["/api/v2/alerts"] * 3
    ends = [body[0]["endsAt"] for body in receiver.bodies()]
    assert ends == ["2024-01-02T06:20:00Z", "2024-01-02T06:25:00Z", "2024-01-02T06:30:00Z"]
    (alert,) = receiver.bodies()[-1]
    assert alert["labels"]["incident"] == incident.id and "event" not in alert["labels"]
    assert alert["generatorURL"] == f"http://twin:8080/incidents/{incident.id}"
    cleared = make_incident(S.proposed, channels=("am",), cleared_at=T0 + 15 * every)
    assert firing_alerts([cleared], channels, T0 + 16 * every, every) == {}
