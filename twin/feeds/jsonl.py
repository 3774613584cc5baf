"""Read signals from JSON Lines (one object a line) or a JSON list of signal objects."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd

from twin.feeds.batch import Batch
from twin.feeds.rows import Unreadable, validate_rows


def read_jsonl(text: str, file: str) -> Batch:
    """Signals from JSON Lines text; a line that is not a JSON object is quarantined."""
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
    wheres = [f"line {n}" for n, _ in numbered]
    return _validate(objects, bad, wheres, lines, file, "jsonl")


def read_json_items(items: list[Any], file: str) -> Batch:
    """Signals from a JSON document that is a list of signal objects."""
    raws = [orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode() for item in items]
    return _validate(list(items), {}, [f"item {i}" for i in range(len(items))], raws, file, "json")


def _validate(
    objects: list[Any], bad: dict[int, str], wheres: list[str], raws: list[str], file: str, fmt: str
) -> Batch:
    # not-an-object rows still take a (blank) table row so positions line up
    dicts = [o if type(o) is dict else {} for o in objects]
    table = pd.DataFrame.from_records(dicts) if dicts else pd.DataFrame()
    batch = validate_rows(
        table,
        file=file,
        fmt=fmt,
        wheres=wheres,
        raw=lambda i: raws[i],
        objects=[o if i not in bad else Unreadable(bad[i]) for i, o in enumerate(objects)],
    )
    return batch
