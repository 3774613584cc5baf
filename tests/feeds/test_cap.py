"""CAP 1.2 alerts: weights, areas, times, and Update / Cancel supersession."""

from __future__ import annotations

import pandas as pd
import pytest

from twin.feeds.cap import read_cap
from twin.feeds.ingest import ingest_bytes, ingest_path

from .conftest import PRD, SAMPLES

ALERT_REF = "cap@weather.example.org,TC-2023-TALIM-01,2023-07-16T12:00:00+08:00"
UPDATE_REF = "cap@weather.example.org,TC-2023-TALIM-02,2023-07-17T03:00:00+08:00"
CANCEL_REF = "cap@weather.example.org,TC-2023-TALIM-03,2023-07-17T21:00:00+08:00"
HK_CIRCLE = ["CNYTN", "CNSHK", "HKG", "SZX"]


def test_alert_alone(network):
    result = ingest_path(SAMPLES / "typhoon-alert.xml", network)
    assert result.problems == []
    f = result.frame
    assert list(f.target) == PRD  # two <info> blocks (en, zh) give one row per node
    row = f.iloc[0]
    assert row.value == pytest.approx(0.75 * 0.8 * 0.8)  # Severe x Expected x Likely
    assert (row.dimension, row.metric, row.source, row.ref) == (
        "weather",
        "cap_alert",
        "cap@weather.example.org",
        ALERT_REF,
    )
    assert row.ts == pd.Timestamp("2023-07-16T04:00:00Z")
    assert row.effective_at == pd.Timestamp("2023-07-16T14:00:00Z")  # onset
    assert row.expected_until == pd.Timestamp("2023-07-17T13:00:00Z")  # expires
    assert {k: row.extras[k] for k in ("severity", "urgency", "certainty", "event")} == {
        "severity": "Severe",
        "urgency": "Expected",
        "certainty": "Likely",
        "event": "Typhoon",
    }
    assert row.extras["onset"].startswith("2023-07-16T14:00")


def test_update_then_cancel(network):
    f = ingest_path(SAMPLES, network).frame
    cap = f[f.metric == "cap_alert"]
    alert, update, cancel = (cap[cap.ref == r] for r in (ALERT_REF, UPDATE_REF, CANCEL_REF))
    # the Update ends the alert's window at its own sent time
    assert set(alert.expected_until) == {pd.Timestamp("2023-07-16T19:00:00Z")}
    # it covers the circle at 1.0 (Extreme x Immediate x Observed) and zeroes the rest of the PRD
    values = dict(zip(update.target, update.value))
    assert values == {**{n: 1.0 for n in HK_CIRCLE}, "CNNSA": 0.0, "CAN": 0.0}
    assert set(update.supersedes) == {ALERT_REF}
    # the Cancel zeroes everything the Update covered, and ends the Update's window
    assert sorted(cancel.target) == sorted(HK_CIRCLE) and set(cancel.value) == {0.0}
    assert set(update[update.value > 0].expected_until) == {pd.Timestamp("2023-07-17T13:00:00Z")}
    # latest value per node is 0 everywhere: the scorer sees the alert gone
    latest = cap.sort_values("ts").groupby("target").value.last()
    assert set(latest) == {0.0}


def test_cancel_of_unseen_alert_without_area_warns(network):
    result = ingest_path(SAMPLES / "typhoon-cancel.xml", network)
    assert result.frame.empty
    assert [p.field for p in result.warnings] == ["references"]


def test_circle_and_bad_values_quarantined(network):
    xml = (SAMPLES / "typhoon-update.xml").read_bytes().replace(b"Extreme", b"Apocalyptic")
    read = read_cap(xml, "x.xml")
    assert read.alerts == [] and read.problems[0].field == "info[0].severity"
    assert "Apocalyptic" in read.quarantine[0].raw


def test_entity_bomb_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol2;</alert>'
    )
    result = ingest_bytes(bomb, "bomb.xml")
    assert result.frame.empty and len(result.errors) == 1 and len(result.quarantine) == 1


def test_test_alerts_are_ignored(network):
    xml = (
        (SAMPLES / "typhoon-alert.xml").read_bytes().replace(b"<status>Actual", b"<status>Exercise")
    )
    result = ingest_bytes(xml, "x.xml", network)
    assert result.frame.empty and result.warnings[0].field == "status"
