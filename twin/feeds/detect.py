"""Tell a feed file's format from its content: CAP XML, DCSA JSON, JSON Lines or CSV."""

from __future__ import annotations

from typing import Literal

import orjson

from twin.feeds.cap import is_cap
from twin.feeds.dcsa import event_list, is_dcsa_event

FeedFormat = Literal["cap", "xml", "dcsa", "dcsa-lines", "json", "jsonl", "csv", "empty", "binary"]
FORMATS = ("cap", "dcsa", "jsonl", "csv")  # what a user may name (twin.toml `format`)


def detect_format(data: bytes) -> FeedFormat:
    """The format of a feed file, judged by content alone.

    XML declaring the CAP namespace -> `cap` (other XML -> `xml`, refused); a JSON document
    that is a list of DCSA events or {"events": [...]} -> `dcsa`; JSON Lines whose first object
    is a DCSA event -> `dcsa-lines`; a JSON list of signal objects -> `json`; other text that
    starts with `{` -> `jsonl`; anything else -> `csv`.
    """
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return "empty"
    sample = head[:4096]
    # A stray NUL in a text feed is a row problem (quarantined with its row); many of them
    # mean binary data (or UTF-16, which feeds do not use).
    if sample.count(b"\x00") * 100 > len(sample):
        return "binary"
    if head.startswith(b"<"):
        return "cap" if is_cap(head) else "xml"
    if head[:1] in (b"[", b"{"):
        first_line = head.split(b"\n", 1)[0]
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            first = None
        if isinstance(first, dict) and b"\n" in head.strip():
            # one object a line: DCSA events or signals
            return "dcsa-lines" if is_dcsa_event(first) else "jsonl"
        try:
            doc = orjson.loads(head)
        except orjson.JSONDecodeError:
            return "jsonl" if head.startswith(b"{") else "json"
        if event_list(doc) is not None:
            return "dcsa"
        if isinstance(doc, list):
            return "json"
        return "jsonl"
    return "csv"
