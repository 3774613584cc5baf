"""Durations written like `30s`, `5m`, `6h`, `2d` and zone-aware time stamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | timedelta) -> timedelta:
    """Parse `30s`, `5m`, `6h`, `2d`, `1w` (or a number of seconds) into a timedelta.

    Raises ValueError naming the accepted forms when the text is not one of them.
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"duration must not be negative: {text!r}")
        return _seconds(float(text), text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 6h, 2d)")
    return _seconds(float(match.group(1)) * _UNIT_SECONDS[match.group(2)], text)


def _seconds(seconds: float, shown: object) -> timedelta:
    # timedelta refuses more than ~2.7 million years (OverflowError) and NaN: say so plainly.
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise ValueError(f"not a usable duration: {shown!r} (too long, or not a number)") from None


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_timestamp(value: str | datetime) -> datetime:
    """Parse an ISO 8601 time stamp that carries a zone; naive times are refused."""
    if isinstance(value, datetime):
        stamp = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time stamp: {value!r}") from None
    if stamp.tzinfo is None:
        raise ValueError(f"time stamp has no zone: {value!r} (add Z or +hh:mm)")
    return stamp.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
