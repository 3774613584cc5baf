"""Read signals from JSON Lines (one object a line) or a JSON list of signal objects."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd

from twin.feeds.batch import Batch
from twin.feeds.limits import DEFAULT_LIMITS, deeper_than
from twin.feeds.rows import Unreadable, validate_rows


def read_jsonl(
    text: str, file: str, max_depth: int = DEFAULT_LIMITS.depth, max_bad: int | None = None
) -> Batch:
    """Signals from JSON Lines text; a line that is not a JSON object, or nests deeper than
    `max_depth`, is quarantined."""
    numbered = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    lines = [line for _, line in numbered]
    try:  # one C call per line; only a file with a bad line pays for the careful loop
        objects: list[Any] = [orjson.loads(line) for line in lines]
        bad: dict[int, str] = {}
    except orjson.JSONDecodeError:
        objects, bad = [], {}
        for i, line in enumerate(lines):
            try:
                objects.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                objects.append(None)
                bad[i] = f"not valid JSON: {exc}"
                if max_bad is not None and len(bad) > max_bad:
                    # past the limit the file goes whole: stop parsing what will not load
                    lines, numbered = lines[: i + 1], numbered[: i + 1]
                    break
    for i, line in enumerate(lines):
        # counting brackets is C-fast; only a line that could be too deep is walked
        if (
            i not in bad
            and line.count("[") + line.count("{") > max_depth
            and deeper_than(objects[i], max_depth)
        ):
            bad[i] = f"nested deeper than {max_depth} levels"
    wheres = [f"line {n}" for n, _ in numbered]
    return _validate(objects, bad, wheres, lines, file, "jsonl", max_bad)


def read_json_items(items: list[Any], file: str) -> Batch:
    """Signals from a JSON document that is a list of signal objects."""
    raws = [_dump(item) for item in items]
    bad = {i: item.reason for i, item in enumerate(items) if isinstance(item, Unreadable)}
    objects = [None if i in bad else item for i, item in enumerate(items)]
    return _validate(objects, bad, [f"item {i}" for i in range(len(items))], raws, file, "json")


def _dump(item: Any) -> str:
    if isinstance(item, Unreadable):
        return ""
    try:
        return orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode()[:20_000]
    except (TypeError, orjson.JSONEncodeError):
        return "(not shown: cannot be written back as JSON)"


def _validate(
    objects: list[Any],
    bad: dict[int, str],
    wheres: list[str],
    raws: list[str],
    file: str,
    fmt: str,
    max_bad: int | None = None,
) -> Batch:
    # not-an-object rows still take a (blank) table row so positions line up
    dicts = [o if type(o) is dict else {} for o in objects]
    # every row keeps its place even when none parsed (no columns at all): a file of bad lines
    # must come out as that many bad rows, not as an empty file
    table = pd.DataFrame.from_records(dicts, nrows=len(dicts)) if dicts else pd.DataFrame()
    if len(table) != len(dicts):
        table = pd.DataFrame(index=range(len(dicts)))
    batch = validate_rows(
        table,
        file=file,
        fmt=fmt,
        wheres=wheres,
        raw=lambda i: raws[i],
        objects=[o if i not in bad else Unreadable(bad[i]) for i, o in enumerate(objects)],
        max_bad=max_bad,
    )
    return batch
