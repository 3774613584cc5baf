"""Files that cannot be read are set aside whole, with their reason; rows the store would
refuse are set aside alone; a file of nothing but bad rows is a problem, never a silent 0."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from twin.feeds.ingest import ingest_bytes, ingest_file, ingest_path
from twin.feeds.limits import FeedLimits

from .conftest import make_network

NETWORK = make_network()
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
GOOD = {
    "ts": "2024-01-02T06:00:00Z",
    "source": "broker",
    "dimension": "customs",
    "target": "USLAX",
    "metric": "clearance_hours",
    "value": 96,
}


def _lines(*rows: dict | str) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def test_cap_nested_100k_deep_is_quarantined_not_a_recursion_error() -> None:
    # Before: RecursionError out of ingest_bytes (the CLI exited 1, the feed stalled on it).
    data = (f'<alert xmlns="{CAP_NS}">' + "<a>" * 100_000 + "</a>" * 100_000 + "</alert>").encode()
    result = ingest_bytes(data, "deep.xml", NETWORK)
    (report,) = result.files
    assert report.refused == "XML nested deeper than 32 elements"
    assert result.frame.empty
    assert [q.where for q in result.quarantine] == ["file"]
    assert result.errors[0].message.startswith("file quarantined: XML nested deeper")


@pytest.mark.parametrize(
    "body",
    [
        _lines(*[json.dumps(GOOD).replace("96", "NaN")] * 5),  # NaN is not JSON
        _lines('{"ts": "2024-01-02T06:00:00Z", "sou', '{"ts": "2024'),  # cut off
        _lines(*[{**GOOD, "value": "lots"}] * 3),  # every row invalid
    ],
    ids=["nan", "cut-off", "all-invalid"],
)
def test_json_lines_with_no_good_line_is_a_problem_not_a_silent_zero(body: bytes) -> None:
    # Before: 0 signals, 0 problems, 0 quarantined: the file looked read.
    result = ingest_bytes(body, "bad.jsonl", NETWORK)
    (report,) = result.files
    assert report.refused is not None and report.refused.startswith("no row could be read")
    assert report.rows == body.count(b"\n")
    assert result.errors and result.quarantine[0].where == "file"
    # the bad rows are kept too (few of them), each with its line
    assert {q.where for q in result.quarantine[1:]} == {
        f"line {n}" for n in range(1, report.rows + 1)
    }


def test_good_rows_load_beside_rows_with_nul_or_overlong_text() -> None:
    rows = [
        GOOD,
        {**GOOD, "target": "CNYTN", "source": "bro\u0000ker"},
        {**GOOD, "target": "CNSHK", "note": "x" * 50_000},
        {**GOOD, "target": "CNNSA", "extra": {"deep": json.loads("[" * 12 + "]" * 12)}},
    ]
    limits = FeedLimits(text_chars=10_000, depth=8)
    result = ingest_bytes(_lines(*rows), "mixed.jsonl", NETWORK, limits=limits)
    assert result.files[0].refused is None
    assert result.frame["target"].tolist() == ["USLAX"]
    reasons = sorted(q.reason for q in result.quarantine)
    assert len(reasons) == 3
    assert any("NUL" in r for r in reasons)
    assert any("longer than 10000 characters (50000)" in r for r in reasons)
    assert any("nested deeper than 8 levels" in r for r in reasons)


def test_dcsa_event_with_nul_is_set_aside_alone() -> None:
    events = json.loads((Path(__file__).parent / "samples" / "dcsa-events.json").read_text())
    events = events["events"] if isinstance(events, dict) else events
    acts = [e for e in events if e.get("eventClassifierCode") == "ACT"]
    assert len(acts) >= 2
    poisoned = dict(acts[0], eventID=acts[0]["eventID"] + "\u0000")
    data = json.dumps([poisoned, *acts[1:]]).encode()
    good = ingest_bytes(json.dumps(acts).encode(), "dcsa.json", NETWORK)
    result = ingest_bytes(data, "dcsa.json", NETWORK)
    assert result.files[0].refused is None
    assert len(result.positions) == len(good.positions) - 1
    assert any("NUL" in q.reason for q in result.quarantine)


def test_too_many_bad_rows_quarantines_the_file_whole_in_bounded_memory() -> None:
    # Before: a CSV missing its required columns wrote one quarantine row per line.
    body = b"a,b,c\n" + b"1,2,3\n" * 50_000
    result = ingest_bytes(body, "wrong.csv", NETWORK)
    (report,) = result.files
    assert "missing column 'ts'" in (report.refused or "")
    assert len(result.quarantine) == 1
    # rows bad one by one: beyond the limit, the file goes whole and keeps none of them
    rows = [{**GOOD, "value": "x"}] * 30 + [GOOD]
    limited = ingest_bytes(
        _lines(*rows), "many.jsonl", NETWORK, limits=FeedLimits(quarantined_rows=20)
    )
    assert limited.files[0].refused.startswith("more than 20 bad rows; the first: line 1")
    assert limited.frame.empty and len(limited.quarantine) == 1


@pytest.mark.parametrize(
    ("fmt", "head"),
    [
        ("csv", b"ts,source,dimension,target,metric,value\n"),
        ("jsonl", b'{"ts": 1}\n'),
        ("json", b"["),
        ("cap", f'<alert xmlns="{CAP_NS}">'.encode()),
    ],
)
def test_oversized_files_are_refused_by_size(tmp_path: Path, fmt: str, head: bytes) -> None:
    limits = FeedLimits(csv_bytes=1000, jsonl_bytes=1000, json_bytes=1000, cap_bytes=1000)
    data = head + b"x" * 5000
    result = ingest_bytes(data, f"big.{fmt}", NETWORK, limits=limits)
    assert "larger than 1000 bytes" in (result.files[0].refused or "")
    path = tmp_path / f"big.{fmt}"
    path.write_bytes(data)
    read = ingest_file(path, NETWORK, limits=limits)
    assert read.refused and read.size == len(data) and len(read.sha256) == 64


def test_rows_per_file_limit() -> None:
    result = ingest_bytes(_lines(*[GOOD] * 12), "long.jsonl", NETWORK, limits=FeedLimits(rows=10))
    assert result.files[0].refused == "more than 10 lines (12)"


def test_a_folder_keeps_reading_after_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(
        f'<alert xmlns="{CAP_NS}">' + "<a>" * 5000 + "</a>" * 5000 + "</alert>"
    )
    (tmp_path / "b.jsonl").write_bytes(_lines(GOOD))
    result = ingest_path(tmp_path, NETWORK)
    assert [r.refused is not None for r in result.files] == [True, False]
    assert result.frame["target"].tolist() == ["USLAX"]


def _peak_of(code: str) -> tuple[float, float]:
    """Run `code` in a fresh interpreter; (seconds, peak RSS in MiB) of the whole process.

    The peak is the process's own VmHWM: ru_maxrss survives exec, so a child forked from a
    large test runner would report the runner's size."""
    import subprocess
    import sys

    script = (
        "import re, time\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "status = open('/proc/self/status').read()\n"
        "peak_kib = int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
        "print(time.perf_counter() - started, peak_kib / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    return float(out[-2]), float(out[-1])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "cap", "dcsa"])
def test_a_100mb_garbage_file_is_refused_fast_in_bounded_memory(tmp_path: Path, fmt: str) -> None:
    head = {
        "csv": b"a,b,c\n",
        "jsonl": b'{"x": 1}\n',
        "json": b'[{"x": ',
        "cap": f'<alert xmlns="{CAP_NS}"><info>'.encode(),
        "dcsa": b'{"events": [{"eventType": "TRANSPORT", "eventClassifierCode": "ACT", ',
    }[fmt]
    path = tmp_path / f"garbage.{fmt}"
    with path.open("wb") as out:
        out.write(head)
        chunk = (b"garbage, \x01\x02 <<<[[[{{{ \n" * 50_000)[: 1 << 20]
        for _ in range(100):
            out.write(chunk)
    assert path.stat().st_size > 100 * 1024 * 1024
    seconds, peak_mib = _peak_of(
        "from twin.feeds.ingest import ingest_file\n"
        f"read = ingest_file({str(path)!r})\n"
        "assert read.refused and 'larger than' in read.refused, read.refused\n"
    )
    assert seconds < 30 and peak_mib < 500, (seconds, peak_mib)


def test_limits_are_read_from_twin_toml() -> None:
    from twin.domain.settings import TwinConfig
    from twin.feeds.limits import MiB, feed_limits

    config = TwinConfig.from_mapping({"limits": {"csv_mb": 2, "rows_per_file": 7, "depth": 5}})
    limits = feed_limits(config.limits)
    assert (limits.csv_bytes, limits.rows, limits.depth) == (2 * MiB, 7, 5)
    assert limits.jsonl_bytes == FeedLimits().jsonl_bytes


def test_refusal_is_quick_for_deep_json(tmp_path: Path) -> None:
    started = time.perf_counter()
    deep = b"[" * 200_000 + b"]" * 200_000
    for fmt in (None, "dcsa", "jsonl"):
        result = ingest_bytes(deep, "deep.json", NETWORK, format=fmt)
        assert result.files[0].refused, fmt
    line = b'{"ts": "2024-01-02T06:00:00Z", "a": ' + b"[" * 600 + b"]" * 600 + b"}\n"
    result = ingest_bytes(line + _lines(GOOD), "deep.jsonl", NETWORK)
    assert result.frame["target"].tolist() == ["USLAX"]
    assert (
        "nested deeper" in result.quarantine[0].reason
        or "not valid JSON" in result.quarantine[0].reason
    )
    assert time.perf_counter() - started < 10


def test_csv_row_with_nul_is_quarantined_alone() -> None:
    # Before: any NUL made the whole CSV "not a text file".
    text = (
        "ts,source,dimension,target,metric,value\n"
        "2024-01-02T06:00:00Z,broker,customs,USLAX,clearance_hours,96\n"
        "2024-01-02T06:00:00Z,bro\x00ker,customs,CNYTN,clearance_hours,96\n"
    )
    result = ingest_bytes(text.encode(), "nul.csv", NETWORK)
    assert result.files[0].refused is None
    assert result.frame["target"].tolist() == ["USLAX"]
    (bad,) = result.quarantine
    assert bad.field == "source" and "NUL" in bad.reason and bad.where == "target CNYTN"
