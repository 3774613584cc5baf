"""JSON Lines and CSV signal rows: good rows load in bulk, bad ones are quarantined precisely."""

from __future__ import annotations

import pandas as pd

from twin.feeds.csv import read_signal_csv
from twin.feeds.ingest import ingest_bytes, ingest_path
from twin.feeds.jsonl import read_jsonl

from .conftest import PRD, SAMPLES


def test_good_jsonl_hand_checked(network):
    result = ingest_path(SAMPLES / "good.jsonl", network)
    assert result.errors == [] and result.quarantine == []
    f = result.frame
    first = f.iloc[0]
    assert (first.target, first.metric, first.value) == ("USLAX", "clearance_hours", 96.0)
    assert first.ts == pd.Timestamp("2024-01-02T06:00:00Z")
    # +08:00 is converted to UTC
    assert f.iloc[1].ts == pd.Timestamp("2024-01-01T23:00:00Z") and f.iloc[1].ref == "ytn-0102"
    rule = f[f.metric == "rule_change"].iloc[0]
    assert rule.effective_at == pd.Timestamp("2024-02-01T00:00:00Z")
    assert rule.extras == {"note": "de minimis change"}
    wind = f[f.metric == "wind_kt"]
    assert sorted(wind.target) == sorted(["CNYTN", "CNSHK", "HKG", "SZX"])
    assert wind.ref.nunique() == 1 and wind.ref.iloc[0].startswith("h")


def test_bad_jsonl_reports_file_row_field_and_keeps_good_rows():
    batch = read_jsonl((SAMPLES / "bad.jsonl").read_text(), "bad.jsonl")
    assert len(batch.frame) == 2  # lines 1 and 7
    where = {(p.where, p.field) for p in batch.problems}
    assert where == {
        ("line 2", "ts"),
        ("line 3", "value"),
        ("line 4", None),
        ("line 5", None),
        ("line 6", "area"),
    }
    assert [q.where for q in batch.quarantine] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert batch.quarantine[2].raw == "not json at all"
    assert "no zone" in batch.quarantine[0].reason


def test_good_csv_areas(network):
    result = ingest_path(SAMPLES / "good.csv", network)
    assert result.errors == []
    f = result.frame
    assert sorted(f[f.metric == "wave_m"].target) == sorted(PRD)
    assert sorted(f[f.metric == "wind_kt"].target) == sorted(["CNYTN", "CNSHK", "HKG", "SZX"])
    cap = f[f.metric == "capacity_pct"].iloc[0]
    assert cap.expected_until == pd.Timestamp("2024-01-10T00:00:00Z") and cap.ref == "ytn-1"


def test_bad_csv():
    batch = read_signal_csv((SAMPLES / "bad.csv").read_text(), "bad.csv")
    assert list(batch.frame.value) == [96.0, 80.0]
    fields = sorted((p.where, p.field or "") for p in batch.problems)
    assert fields == [("row 3", "value"), ("row 4", ""), ("row 5", "area_circle"), ("row 6", "ts")]
    assert len(batch.quarantine) == 4
    assert batch.rows == 6


def test_csv_missing_column_quarantines_the_file_whole():
    text = "ts,source,metric,value,target\n2024-01-02T06:00:00Z,s,m,1,USLAX\n"
    batch = read_signal_csv(text, "x.csv")
    assert [(p.where, p.field) for p in batch.problems] == [("row 1", "dimension")]
    assert batch.frame.empty and batch.rows == 1
    result = ingest_bytes(text.encode(), "x.csv")
    assert result.files[0].refused == "row 1: dimension: missing column 'dimension'"
    assert [q.where for q in result.quarantine] == ["file"]


def test_target_and_area_together_is_an_error():
    line = (
        '{"ts": "2024-01-02T06:00:00Z", "source": "s", "dimension": "weather", '
        '"target": "HKG", "area": {"circle": [22, 114, 10]}, "metric": "wind_kt", "value": 1}'
    )
    batch = read_jsonl(line, "x.jsonl")
    assert batch.frame.empty and batch.problems[0].field == "area"


def test_slow_path_accepts_what_bulk_checks_do_not():
    # a numeric string value and a date-time with a space are valid Signals
    line = (
        '{"ts": "2024-01-02 06:00:00.5+01:00", "source": "s", "dimension": "customs", '
        '"target": "USLAX", "metric": "clearance_hours", "value": "12.5"}'
    )
    batch = read_jsonl(line, "x.jsonl")
    assert batch.problems == []
    assert batch.frame.iloc[0].value == 12.5
    assert batch.frame.iloc[0].ts == pd.Timestamp("2024-01-02T05:00:00.5Z")
