"""How much one feed file may hold before it is set aside: sizes, rows, text, nesting.

Every limit has a default (below, listed in docs/signals.md) and a `[limits]` key in twin.toml
(twin.domain.settings.LimitSettings). A file over a file-wide limit is quarantined whole with
the reason; a row over a per-row limit (text length, nesting) is quarantined alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twin.domain.settings import LimitSettings

MiB = 1024 * 1024


@dataclass(frozen=True)
class FeedLimits:
    """Limits on one feed file (a file on disk or one HTTP response)."""

    csv_bytes: int = 64 * MiB
    jsonl_bytes: int = 64 * MiB
    json_bytes: int = 32 * MiB  # a JSON list of signals, DCSA JSON (either form)
    cap_bytes: int = 16 * MiB
    rows: int = 200_000  # lines (CSV, JSON Lines), items, alerts or events
    text_chars: int = 10_000  # any one text value of a row
    quarantined_rows: int = 1_000  # beyond it the file is quarantined whole
    depth: int = 32  # nesting of JSON values and XML elements

    def max_bytes(self, fmt: str) -> int:
        """The size limit of a detected format (twin.feeds.detect.FeedFormat)."""
        return {
            "csv": self.csv_bytes,
            "jsonl": self.jsonl_bytes,
            "json": self.json_bytes,
            "dcsa": self.json_bytes,
            "dcsa-lines": self.json_bytes,
            "cap": self.cap_bytes,
            "xml": self.cap_bytes,
        }.get(fmt, max(self.csv_bytes, self.jsonl_bytes, self.json_bytes, self.cap_bytes))

    @property
    def largest(self) -> int:
        """No format takes a file larger than this (checked before the format is told)."""
        return max(self.csv_bytes, self.jsonl_bytes, self.json_bytes, self.cap_bytes)


DEFAULT_LIMITS = FeedLimits()


def feed_limits(settings: LimitSettings) -> FeedLimits:
    """The feed limits of twin.toml's `[limits]`."""
    return FeedLimits(
        csv_bytes=int(settings.csv_mb * MiB),
        jsonl_bytes=int(settings.jsonl_mb * MiB),
        json_bytes=int(settings.json_mb * MiB),
        cap_bytes=int(settings.cap_mb * MiB),
        rows=settings.rows_per_file,
        text_chars=settings.text_chars,
        quarantined_rows=settings.quarantined_rows_per_file,
        depth=settings.depth,
    )


def deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` levels deep.

    Iterative (a value nested 100,000 deep must not exhaust the stack) and stops at the first
    branch over the limit. A scalar has depth 0, `[]` and `{}` depth 1.
    """
    stack: list[tuple[Iterable[Any], int]] = []
    if isinstance(value, dict):
        stack.append((value.values(), 1))
    elif isinstance(value, (list, tuple)):
        stack.append((value, 1))
    while stack:
        items, depth = stack.pop()
        if depth > limit:
            return True
        for item in items:
            if isinstance(item, dict):
                stack.append((item.values(), depth + 1))
            elif isinstance(item, (list, tuple)):
                stack.append((item, depth + 1))
    return False


def text_problem(value: Any, max_chars: int, depth_limit: int) -> str | None:
    """Why a row's value (text, or JSON extras) cannot be stored, or None.

    PostgreSQL refuses NUL (U+0000) in text; text longer than `max_chars` and values nested
    deeper than `depth_limit` are refused by the limits.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (U+0000), which the store cannot keep"
        if len(value) > max_chars:
            return f"text longer than {max_chars} characters ({len(value)})"
        return None
    if isinstance(value, (dict, list, tuple)):
        if deeper_than(value, depth_limit):
            return f"nested deeper than {depth_limit} levels"
        stack: list[Any] = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, inner in item.items():
                    stack.append(key)
                    stack.append(inner)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
            elif isinstance(item, str):
                found = text_problem(item, max_chars, depth_limit)
                if found:
                    return found
    return None
