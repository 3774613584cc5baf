"""Folder ingest: format detection, idempotence, unknown targets and metrics, Signal records."""

from __future__ import annotations

import shutil

from twin.domain.signals import Signal
from twin.feeds.detect import detect_format
from twin.feeds.ingest import ingest_path, ingest_signals

from .conftest import SAMPLES


def test_detection():
    assert detect_format((SAMPLES / "typhoon-alert.xml").read_bytes()) == "cap"
    assert detect_format((SAMPLES / "dcsa-events.json").read_bytes()) == "dcsa"
    assert detect_format((SAMPLES / "good.jsonl").read_bytes()) == "jsonl"
    assert detect_format((SAMPLES / "good.csv").read_bytes()) == "csv"
    assert detect_format(b"<html/>") == "xml"
    assert detect_format(b"  \n") == "empty"
    assert detect_format(b'[{"ts": "x"}]') == "json"


def test_reingest_adds_nothing(network, tmp_path):
    shutil.copy(SAMPLES / "good.jsonl", tmp_path / "a.jsonl")
    shutil.copy(SAMPLES / "good.jsonl", tmp_path / "b.jsonl")
    result = ingest_path(tmp_path, network)
    once = ingest_path(tmp_path / "a.jsonl", network)
    assert len(result.frame) == len(once.frame) and result.duplicates == len(once.frame)
    again = ingest_path(tmp_path / "a.jsonl", network)
    assert again.frame.equals(once.frame)  # same refs: the store's unique key drops them


def test_known_unchanged_files_are_skipped(network):
    first = ingest_path(SAMPLES / "good.csv", network)
    known = {r.path: r.sha256 for r in first.files}
    second = ingest_path(SAMPLES / "good.csv", network, known=known)
    assert second.files[0].skipped and second.frame.empty


def test_whole_folder_nothing_lost(network):
    result = ingest_path(SAMPLES, network)
    read = sum(r.rows for r in result.files)
    assert len(result.quarantine) == sum(r.quarantined for r in result.files) == 10
    assert read >= len(result.quarantine)


def test_unknown_target_and_metric_warn_once(network, tmp_path):
    lines = [
        '{"ts": "2024-01-02T06:00:00Z", "source": "s", "dimension": "customs", "target": "MARS", '
        f'"metric": "gloom", "value": {i}}}'
        for i in range(3)
    ]
    (tmp_path / "x.jsonl").write_text("\n".join(lines))
    result = ingest_path(tmp_path, network)
    # Never scored, so never stored as signals: quarantined with the reason, one warning.
    assert len(result.frame) == 0 and len(result.quarantine) == 3
    assert [p.field for p in result.warnings] == ["target"]
    reason = result.quarantine[0].reason
    assert reason.startswith(f"target 'MARS' is not a node or lane of network {network.name}")
    assert "metric 'gloom' is not scored" in reason


def test_mistyped_target_and_metric_are_quarantined_with_the_nearest_name(network, tmp_path):
    rows = [
        ("SEUZ", "incidents_7d"),  # target mistyped
        ("SUEZ", "incidnets_7d"),  # metric mistyped
        ("SUEZ", "incidents_7d"),  # fine
    ]
    (tmp_path / "x.jsonl").write_text(
        "\n".join(
            f'{{"ts": "2024-01-02T06:00:00Z", "source": "s", "dimension": "security", '
            f'"target": "{target}", "metric": "{metric}", "value": 2}}'
            for target, metric in rows
        )
    )
    result = ingest_path(tmp_path, network)
    assert list(result.frame["target"]) == ["SUEZ"] and list(result.frame["metric"]) == [
        "incidents_7d"
    ]
    reasons = sorted((q.field, q.reason) for q in result.quarantine)
    assert reasons == [
        ("metric", "metric 'incidnets_7d' is not scored (did you mean 'incidents_7d'?)"),
        (
            "target",
            f"target 'SEUZ' is not a node or lane of network {network.name} (did you mean 'SUEZ'?)",
        ),
    ]
    assert all('"value": 2' in q.raw.replace(":2", ": 2") for q in result.quarantine)


def test_signals_round_trip(network):
    result = ingest_path(SAMPLES / "good.jsonl", network)
    signals = result.signals()
    assert all(isinstance(s, Signal) for s in signals) and len(signals) == len(result.frame)
    again = ingest_signals([s for s in signals if s.ref], network)
    assert len(again.frame) == sum(1 for s in signals if s.ref)


def test_missing_path():
    result = ingest_path(SAMPLES / "nope")
    assert result.errors and result.frame.empty
