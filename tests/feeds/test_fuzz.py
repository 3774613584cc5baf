"""Garbage in, clean report out: no parser ever raises on any input."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.feeds.ingest import ingest_bytes

from .conftest import make_network

NETWORK = make_network()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

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
    assert len(result.quarantine) <= max(1, sum(r.rows for r in result.files)) + 1
    for problem in result.problems:
        assert isinstance(problem.message, str)


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
