"""Garbage in, clean report out: no parser ever raises on any input."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.feeds.ingest import ingest_bytes

from .conftest import make_network

NETWORK = make_network()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "ts",
    "source",
    "dimension",
    "target",
    "metric",
    "value",
    "area",
    "ref",
    "effective_at",
    "expected_until",
    "eventType",
    "eventClassifierCode",
    "eventID",
    "eventDateTime",
    "transportCall",
    "documentTypeCode",
    "documentID",
]
signalish = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), json_values, max_size=8)


def _check(data: bytes, fmt: str | None = None) -> None:
    result = ingest_bytes(data, "fuzz", NETWORK, format=fmt)
    assert set(result.frame.columns) >= {"ts", "source", "target", "value", "ref"}
    (report,) = result.files
    assert len(result.quarantine) <= max(1, report.rows) + 1
    for problem in result.problems:
        assert isinstance(problem.message, str)
    if report.refused is not None:  # set aside whole: nothing of it loads, and it says why
        assert result.frame.empty and not result.positions
        assert result.quarantine[0].where == "file" and result.errors
    if report.rows and result.frame.empty and not result.positions:
        assert result.problems, "rows read and none loaded must never be silent"
    # what loads, the store can keep: no NUL, nothing over the text limit
    for column in ("source", "dimension", "target", "metric", "ref", "shipment"):
        for value in result.frame[column].dropna():
            assert "\x00" not in value and len(value) <= 10_000


@FAST
@given(st.binary(max_size=300))
def test_bytes(data):
    _check(data)


@FAST
@given(st.lists(signalish, max_size=5))
def test_json_lines(rows):
    _check("\n".join(json.dumps(r) for r in rows).encode())


@FAST
@given(st.lists(signalish, max_size=5), st.sampled_from(["jsonl", "dcsa", "csv", "cap"]))
def test_json_documents_any_forced_format(rows, fmt):
    _check(json.dumps(rows).encode(), fmt)
    _check(json.dumps({"events": rows}).encode(), fmt)


@FAST
@given(st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=6))
def test_csv(cells):
    header = "ts,source,dimension,target,metric,value,area_circle,area_polygon\n"
    body = "\n".join(",".join(row) for row in cells)
    _check((header + body).encode(), "csv")


CAP_HEAD = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                b"<identifier>x</identifier>",
                b"<sender>s</sender>",
                b"<sent>2024-01-02T00:00:00Z</sent>",
                b"<sent>yesterday</sent>",
                b"<status>Actual</status>",
                b"<msgType>Alert</msgType>",
                b"<msgType>Cancel</msgType>",
                b"<references>a,b,c</references>",
                b"<info>",
                b"</info>",
                b"<severity>Extreme</severity>",
                b"<urgency>Immediate</urgency>",
                b"<certainty>Likely</certainty>",
                b"<area><polygon>22,113 23,113 23,114 22,113</polygon></area>",
                b"<area><circle>22.4,114.1 50</circle></area>",
                b"<area><circle>x</circle></area>",
                (
                    b"<area><areaDesc>Inland Harris</areaDesc><geocode><valueName>UGC</valueName>"
                    b"<value>TXZ213</value></geocode></area>"
                ),
                b"<area><geocode><valueName>SAME</valueName></geocode></area>",
                b"<area><geocode><valueName>ISO3166</valueName><value>CN</value></geocode></area>",
                b"<area></area>",
                b"<area><polygon>1,2</polygon></area>",
                b"&amp;",
                b"<",
                b"]]>",
                b"\xff",
            ]
        ),
        max_size=14,
    )
)
def test_broken_cap(parts):
    _check(CAP_HEAD + b"".join(parts) + b"</alert>")


def test_billion_laughs_and_external_entities():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY a%d "&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;">'
            % (i, *(str(i - 1).encode() if i > 1 else b"",) * 10)
            for i in range(1, 10)
        )
        + b"]>"
        + CAP_HEAD
        + b"&a9;</alert>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + CAP_HEAD
        + b"<identifier>&e;</identifier></alert>"
    )
    for data in (laughs, external):
        result = ingest_bytes(data, "evil.xml", NETWORK)
        assert result.frame.empty and result.errors and "root:" not in str(result.quarantine)


dcsa_events = st.fixed_dictionaries(
    {
        "eventID": st.one_of(st.text(max_size=10), st.integers(), st.none()),
        "eventType": st.sampled_from(["SHIPMENT", "TRANSPORT", "EQUIPMENT", "X", ""]),
        "eventClassifierCode": st.sampled_from(["PLN", "EST", "ACT", "?"]),
        "eventDateTime": st.sampled_from(
            ["2024-01-02T06:00:00Z", "2024-01-02T06:00:00", "soon", ""]
        ),
    },
    optional={
        "eventCreatedDateTime": st.sampled_from(["2024-01-01T00:00:00Z", "x"]),
        "transportEventTypeCode": st.sampled_from(["ARRI", "DEPA", "??"]),
        "equipmentEventTypeCode": st.sampled_from(["LOAD", "DISC", "GTIN", "INSP"]),
        "shipmentEventTypeCode": st.sampled_from(["HOLD", "RELS"]),
        "documentTypeCode": st.sampled_from(["CUS", "BKG"]),
        "documentID": st.text(max_size=6),
        "transportCall": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"UNLocationCode": st.sampled_from(["CNYTN", "USLAX", "ZZZZZ", "\x00"])},
                optional={"transportCallID": st.text(max_size=5), "location": json_values},
            ),
        ),
        "documentReferences": st.lists(
            st.fixed_dictionaries(
                {
                    "documentReferenceType": st.sampled_from(["BKG", "TRD"]),
                    "documentReferenceValue": st.text(max_size=6),
                }
            ),
            max_size=2,
        ),
    },
)


@FEWER
@given(st.lists(dcsa_events, min_size=1, max_size=6), st.booleans())
def test_dcsa_events(events, as_lines):
    if as_lines:
        _check("\n".join(json.dumps(e) for e in events).encode())
    else:
        _check(json.dumps({"events": events}).encode())


@FEWER
@given(
    st.lists(signalish, max_size=4),
    st.integers(1, 3000),
    st.sampled_from(["\x00", "x" * 20_000, "\ud7ff"]),
)
def test_deep_and_poisoned_values(rows, depth, text):
    deep = json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
    rows = [
        *rows,
        {
            "ts": "2024-01-02T06:00:00Z",
            "source": text,
            "dimension": "customs",
            "target": "USLAX",
            "metric": "clearance_hours",
            "value": 1,
            "x": deep,
        },
    ]
    _check("\n".join(json.dumps(r) for r in rows).encode())
    _check(json.dumps(rows).encode())


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store brought to the newest schema by `twin db upgrade`, once: each example below gets
    its own copy."""
    from typer.testing import CliRunner

    from twin.cli.app import app

    path = tmp_path_factory.mktemp("store") / "twin.db"
    env = {"TWIN_DATABASE_URL": f"sqlite:///{path}", "TWIN_DEBUG": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    return path


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(signalish, max_size=4).map(lambda r: "\n".join(map(json.dumps, r)).encode()),
    )
)
def test_twin_ingest_exits_0_or_2(tmp_path_factory, migrated_store, data):
    import os

    from typer.testing import CliRunner

    from twin.cli.app import app

    folder = tmp_path_factory.mktemp("ingest")
    (folder / "feed.bin").write_bytes(data)
    # SQLite's backup reads through the write-ahead log the upgrading engine may still hold.
    with (
        closing(sqlite3.connect(migrated_store)) as source,
        closing(sqlite3.connect(folder / "twin.db")) as copy,
    ):
        source.backup(copy)
    url = f"sqlite:///{folder / 'twin.db'}"
    env = {"TWIN_DATABASE_URL": url, "TWIN_DEBUG": ""}
    runner = CliRunner()
    previous = os.environ.get("TWIN_DATABASE_URL")
    os.environ["TWIN_DATABASE_URL"] = url
    try:
        result = runner.invoke(app, ["ingest", str(folder / "feed.bin")], env=env)
    finally:
        if previous is None:
            os.environ.pop("TWIN_DATABASE_URL", None)
        else:
            os.environ["TWIN_DATABASE_URL"] = previous
    assert result.exit_code in (0, 2), result.output[-500:]
    assert "Traceback" not in result.output
