"""DCSA T&T 2.2 events: positions, ETA drift, customs holds and inspections."""

from __future__ import annotations

import json

import pandas as pd

from twin.feeds.ingest import ingest_bytes, ingest_path

from .conftest import SAMPLES


def test_sample_events(network):
    result = ingest_path(SAMPLES / "dcsa-events.json", network)
    f = result.frame.set_index("ref")
    drift = f.loc["a2"]
    # EST 2024-01-19T18:00 - PLN 2024-01-18T06:00 = 36 h
    assert (drift.dimension, drift.metric, drift.value, drift.target, drift.shipment) == (
        "transit",
        "eta_drift_hours",
        36.0,
        "USLAX",
        "SHP-1",
    )
    assert (f.loc["a5"].metric, f.loc["a5"].value, f.loc["a5"].target) == ("hold", 1.0, "USLAX")
    assert f.loc["a6"].value == 0.0
    assert f.loc["a5"].ts == pd.Timestamp("2024-01-20T12:00:00Z")
    assert (f.loc["a4"].metric, f.loc["a4"].value) == ("inspections", 1.0)
    assert [(p.event, p.locode, p.shipment) for p in result.positions] == [
        ("DEPA", "CNYTN", "SHP-1"),
        ("ARRI", "USLAX", "SHP-1"),
    ]
    assert result.positions[0].references == ("SHP-1", "MAEU123456")
    assert [(p.where, p.field) for p in result.errors] == [
        ("event bad-1 (event 7)", "eventDateTime")
    ]
    assert len(result.quarantine) == 1


def test_events_as_list_and_as_lines(network):
    events = json.loads((SAMPLES / "dcsa-events.json").read_text())["events"][:3]
    as_list = ingest_bytes(json.dumps(events).encode(), "e.json", network)
    as_lines = ingest_bytes("\n".join(json.dumps(e) for e in events).encode(), "e.jsonl", network)
    assert as_list.files[0].format == "dcsa" and as_lines.files[0].format == "dcsa"
    assert list(as_list.frame.value) == list(as_lines.frame.value) == [36.0]


def test_est_without_plan_warns(network):
    events = json.loads((SAMPLES / "dcsa-events.json").read_text())["events"]
    result = ingest_bytes(json.dumps([events[2]]).encode(), "e.json", network)
    assert result.frame.empty and result.warnings
