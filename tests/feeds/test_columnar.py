"""The columnar fast path (twin.feeds.columnar) gives exactly what the per-row reader gives:
the same frame, areas, problems and quarantine, on generated files of good and bad rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from twin.feeds import columnar
from twin.feeds.batch import Batch
from twin.feeds.csv import read_signal_csv
from twin.feeds.jsonl import read_jsonl
from twin.feeds.rows import RowNames

TIMES = st.sampled_from(
    [
        "2024-01-02T06:00:00Z",
        "2024-01-02T06:00:00.123456+02:00",
        "2024-01-02 06:00+05:30",
        "2024-01-02T06:00:00",  # naive: refused
        "2024-13-02T06:00:00Z",  # no such month
        "yesterday",
        "",
    ]
)
TEXT = st.sampled_from(["bench", "wx feed", " padded ", "", "   ", "Zürich", "上海", "a\x1c"])
TARGETS = st.sampled_from(["USLAX", "CNSHA", "", " USLAX", None])
CIRCLES = st.sampled_from([None, [22.45, 114.05, 40], [22.45, 114.05, -1], [95, 0, 10], [1, 2]])
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["12.5", "x", True, None]),
)
EXTRAS = st.sampled_from([{}, {"note": "n"}, {"severity": "Severe"}, {"note": ""}])


@st.composite
def signal_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ts": draw(TIMES),
        "source": draw(TEXT),
        "dimension": draw(st.sampled_from(["customs", "weather", " ", "capacity"])),
        "metric": draw(st.sampled_from(["clearance_hours", "wind_kt", ""])),
        "value": draw(VALUES),
    }
    target = draw(TARGETS)
    if target is not None:
        row["target"] = target
    circle = draw(CIRCLES)
    if circle is not None:
        row["area"] = {"circle": circle}
    if draw(st.booleans()):
        row["ref"] = draw(st.sampled_from(["r1", "r2", "", "ref 3"]))
    if draw(st.booleans()):
        row["effective_at"] = draw(TIMES)
    row.update(draw(EXTRAS))
    for name in list(row):
        if draw(st.integers(0, 15)) == 0:
            del row[name]  # a missing field now and then
    return row


def assert_same(fast: Batch, slow: Batch) -> None:
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    assert fast.areas == slow.areas
    assert fast.problems == slow.problems
    assert fast.quarantine == slow.quarantine
    assert fast.rows == slow.rows


def jsonl_text(rows: list[dict[str, Any]]) -> str:
    return "\n".join(orjson.dumps(r).decode() for r in rows) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(signal_rows(), min_size=1, max_size=25))
# An empty note sent one row through the model and the other through the table (once found).
@example(
    [
        {
            "ts": "2024-01-02T06:00:00Z",
            "source": "bench",
            "dimension": "customs",
            "metric": "clearance_hours",
            "value": 1.0,
            "target": "CNSHA",
            "note": "",
        }
    ]
)
def test_jsonl_fast_path_equals_per_row_reader(rows: list[dict[str, Any]]) -> None:
    text = jsonl_text(rows)
    assert_same(read_jsonl(text, "x.jsonl"), read_jsonl(text, "x.jsonl", columnar=False))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(signal_rows(), min_size=1, max_size=25))
def test_csv_fast_path_equals_per_row_reader(rows: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    columns = ["ts", "source", "dimension", "target", "metric", "value", "ref", "effective_at"]
    columns += ["area_circle", "note"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = {k: "" if v is None else str(v) for k, v in row.items() if k != "area"}
        if "area" in row:
            cells["area_circle"] = " ".join(str(x) for x in row["area"]["circle"])
        writer.writerow([cells.get(c, "") for c in columns])
    text = out.getvalue()
    assert_same(read_signal_csv(text, "x.csv"), read_signal_csv(text, "x.csv", columnar=False))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "ts": st.sampled_from(["2024-01-02T06:00:00Z", "2024-01-02T06:00:00"]),
                "source": st.sampled_from(["bench", " "]),
                "dimension": st.just("customs"),
                "metric": st.just("clearance_hours"),
                "target": st.sampled_from(["USLAX", ""]),
                "value": st.floats(-1e9, 1e9),
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_well_typed_jsonl_takes_the_fast_path(rows: list[dict[str, Any]]) -> None:
    """Files whose types are consistent are read by pyarrow (None would mean the per-row
    reader had read them, and the comparison above would prove nothing about the fast path);
    the rows it cannot vouch for still come out as the per-row reader says."""
    lines = [orjson.dumps(r).decode() for r in rows]
    fast = columnar.jsonl_batch(lines, RowNames("line", 1, len(lines)), "x.jsonl", 32, None)
    assert fast is not None
    assert_same(fast, read_jsonl("\n".join(lines), "x.jsonl", columnar=False))
    good = sum(r["source"] == "bench" and r["target"] == "USLAX" and "Z" in r["ts"] for r in rows)
    assert len(fast.frame) == good
    assert len(fast.quarantine) == len(rows) - good


def test_a_bad_row_is_named_by_line_and_field_on_the_fast_path() -> None:
    good: dict[str, Any] = {"ts": "2024-01-02T06:00:00Z", "source": "s", "dimension": "customs"}
    good |= {"metric": "clearance_hours", "target": "USLAX", "value": 1.0}
    lines = [good, {**good, "ts": "2024-01-02T06:00:00"}, good]
    text = jsonl_text(lines)
    assert columnar.jsonl_batch(text.split("\n")[:3], RowNames("line", 1, 3), "f", 32, None)
    batch = read_jsonl(text, "f.jsonl")
    assert len(batch.frame) == 2
    [problem] = batch.problems
    assert (problem.file, problem.where, problem.field) == ("f.jsonl", "line 2", "ts")
    assert batch.quarantine[0].raw == text.split("\n")[1]


def test_csv_fast_path_names_rows_like_the_per_row_reader() -> None:
    text = (
        "ts,source,dimension,target,metric,value\n"
        "2024-01-02T06:00:00Z,s,customs,USLAX,clearance_hours,96\n"
        "2024-01-02T06:00:00Z,s,customs,USLAX,clearance_hours,lots\n"
    )
    assert columnar.csv_batch(text.encode(), "f.csv", None) is not None
    batch = read_signal_csv(text, "f.csv")
    assert batch.frame["value"].tolist() == [96.0]
    [problem] = batch.problems
    assert (problem.where, problem.field) == ("row 3", "value")
    assert batch.quarantine[0].raw == "2024-01-02T06:00:00Z,s,customs,USLAX,clearance_hours,lots"
