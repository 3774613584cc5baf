"""The fast path for well-formed JSON Lines and CSV: parse with pyarrow, check with Arrow compute.

A file is parsed in one vectorised call (pyarrow.json / pyarrow.csv, strict types) and every
row goes through column checks at least as strict as the `Signal` model. Rows that pass are
converted in bulk; only the rows that do not (a blank field, a naive time stamp, extra fields,
a value given as text) go through the per-row path (twin.feeds.rows.check_row), which accepts
them or names the field. Anything the fast parser cannot be trusted to read exactly as the
per-row reader would (a parse error, mixed types, quoting in CSV, blank lines, nesting past the
limit) makes these functions return None, and the caller reads the whole file the careful way.
So problems are named by file, line or row, and field exactly as before; only speed differs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from pydantic import ValidationError

from twin.domain.signals import Area
from twin.feeds.batch import Batch, area_key, frame_from_records, to_utc
from twin.feeds.limits import deeper_than
from twin.feeds.rows import (
    _ISO_ZONED,
    CSV_AREA_COLUMNS,
    KNOWN_KEYS,
    OPTIONAL_TEXT,
    OPTIONAL_TIMES,
    REQUIRED_TEXT,
    RowNames,
    Unreadable,
    check_rest,
    parse_csv_area,
)

# Off only to measure the per-row reader against it (twin/bench/throughput.py).
ENABLED = True

_TEXT_KEYS = ("ts", *REQUIRED_TEXT, *OPTIONAL_TEXT, *OPTIONAL_TIMES)
_JSON_SCHEMA = pa.schema([(name, pa.string()) for name in _TEXT_KEYS] + [("value", pa.float64())])
_ISO_FULL = f"^{_ISO_ZONED}$"
# Text with at least one printable ASCII character is certainly not blank to str.strip; other
# text (all Unicode, or whitespace) takes the per-row path, which decides.
_VISIBLE = r"[\x21-\x7e]"
# A CSV cell that str.strip might shorten (anything but printable ASCII at either end): its
# row takes the per-row path, which strips it as the careful reader does.
_EDGE = r"^[^\x21-\x7e]|[^\x21-\x7e]$"
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def jsonl_batch(
    lines: list[str], wheres: Sequence[str], file: str, max_depth: int, max_bad: int | None
) -> Batch | None:
    """Signals from the non-blank lines of a JSON Lines file, or None when the file must be
    read line by line (it holds a line pyarrow refuses, types that vary, or deep nesting)."""
    if not lines:
        return None
    try:
        table = pa_json.read_json(
            io.BytesIO("\n".join(lines).encode()),
            parse_options=pa_json.ParseOptions(
                explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines) or 1 + max(map(_depth, table.schema.types)) > max_depth:
        return None
    n = table.num_rows

    def row_object(i: int) -> Any:
        # the per-row reader's own parse, so a row it sets aside reads exactly as before
        try:
            obj = orjson.loads(lines[i])
        except orjson.JSONDecodeError as exc:
            return Unreadable(f"not valid JSON: {exc}")
        if deeper_than(obj, max_depth):
            return Unreadable(f"nested deeper than {max_depth} levels")
        return obj

    ok = np.ones(n, dtype=bool)
    for name in table.column_names:
        if name not in KNOWN_KEYS:
            ok &= _null(table.column(name))  # extras: the model sorts out what they hold
    text = {name: table.column(name) for name in _TEXT_KEYS}
    area_keys = np.full(n, None, dtype=object)
    areas: dict[str, Area] = {}
    if "area" in table.column_names:
        present = ~_null(table.column("area"))
        # No depth walk here: the parsed schema is no deeper than max_depth (checked above), so
        # neither is any of its lines.
        ok &= _json_areas(np.flatnonzero(present), _parsed(lines), area_keys, areas)
    frame, ok = _bulk(table, text, table.column("value"), area_keys, ok)
    batch = Batch(file=file, format="jsonl", frame=frame_from_records([]), rows=n)
    batch.areas.update(areas)
    return check_rest(batch, frame, ok, row_object, wheres, lines.__getitem__, False, max_bad)


def csv_batch(data: bytes, file: str, max_bad: int | None) -> Batch | None:
    """Signals from CSV bytes, or None when the file must be read row by row: quoting, blank
    lines, a lone carriage return, NUL, a header the reader would reject or rows with the
    wrong number of cells (the careful reader names each)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    end = data.find(b"\n")
    if (
        end <= 0
        or b'"' in data
        or b"\x00" in data
        or data.count(b"\r") != data.count(b"\r\n")
        or b"\n\n" in data
        or b"\n\r\n" in data
    ):
        return None
    header = [c.strip() for c in next(csv.reader([data[:end].decode().rstrip("\r")]))]
    if "" in header or len(set(header)) != len(header):
        return None
    if not any(name in header for name in ("target", *CSV_AREA_COLUMNS)):
        return None
    if any(name not in header for name in ("ts", *REQUIRED_TEXT, "value")):
        return None
    if max(np.diff(_line_ends(data)), default=0) > csv.field_size_limit():
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(quote_char=False, newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    if n == 0 or n != data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1:
        return None
    edged = np.zeros(n, dtype=bool)
    for name in header:
        edged |= pc.match_substring_regex(table.column(name), _EDGE).to_numpy(zero_copy_only=False)
    visible = np.zeros(n, dtype=bool)
    for name in ("ts", *(c for c in header if c != "ts")):
        unseen = np.flatnonzero(~visible)
        if not len(unseen):
            break
        col = table.column(name).take(pa.array(unseen, type=pa.int64()))
        visible[unseen] = _visible(col)
    if not visible.all():
        return None  # a blank row: the careful reader skips it and keeps counting
    cells = {name: _empty_as_null(table.column(name)) for name in header}
    ok = ~edged  # a cell with space at an edge: the per-row path strips it as before
    for name in header:
        if name not in KNOWN_KEYS and name not in CSV_AREA_COLUMNS:
            ok &= _null(cells[name])  # extras
    area_keys = np.full(n, None, dtype=object)
    areas: dict[str, Area] = {}
    given = np.zeros(n, dtype=int)
    for name in CSV_AREA_COLUMNS:
        if name in cells:
            present = ~_null(cells[name])
            given += present
            ok &= _csv_areas(name, cells[name], np.flatnonzero(present), area_keys, areas)
    ok &= given <= 1
    none = pa.nulls(n, pa.string())
    text = {name: cells.get(name, none) for name in _TEXT_KEYS}
    value_text = cells["value"]
    numeric = pc.fill_null(pc.match_substring_regex(value_text, _NUMBER), False)
    values = pc.cast(pc.if_else(numeric, value_text, None), pa.float64())
    frame, ok = _bulk(table, text, values, area_keys, ok)
    batch = Batch(file=file, format="csv", frame=frame_from_records([]), rows=n)
    batch.areas.update(areas)

    def row_object(i: int) -> dict[str, Any]:
        row = table.slice(i, 1).to_pylist()[0]
        return {k: v.strip() for k, v in row.items() if v.strip() != ""}

    def raw(i: int) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(table.slice(i, 1).to_pylist()[0].values())
        return out.getvalue()

    return check_rest(batch, frame, ok, row_object, RowNames("row", 2, n), raw, True, max_bad)


def _bulk(
    table: pa.Table,
    text: dict[str, pa.ChunkedArray],
    values: pa.ChunkedArray | pa.Array,
    area_keys: np.ndarray,
    ok: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The column checks shared by both formats, and the frame of the rows that pass them."""
    n = table.num_rows
    for name in REQUIRED_TEXT:
        ok &= _visible(text[name])
    for name in OPTIONAL_TEXT:
        ok &= _null(text[name]) | _visible(text[name])
    times = {}
    for name in ("ts", *OPTIONAL_TIMES):
        col = text[name]
        parsed = _times(col)
        if name == "ts":
            ok &= parsed.notna().to_numpy()
        else:
            ok &= _null(col) | parsed.notna().to_numpy()
        times[name] = parsed
    numbers = values.to_numpy(zero_copy_only=False) if len(values) else np.zeros(0)
    numbers = np.asarray(numbers, dtype=float)
    ok &= np.isfinite(numbers)
    has_target = ~_null(text["target"])
    has_area = pd.notna(area_keys)
    ok &= has_target ^ has_area
    fast = np.flatnonzero(ok)
    picked = None if len(fast) == n else pa.array(fast, type=pa.int64())

    def take(name: str) -> pd.Series:
        col = text[name] if picked is None else text[name].take(picked)
        # object, as the frame holds text (pandas would otherwise make an Arrow string column)
        return pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)

    frame = pd.DataFrame(
        {
            "ts": times["ts"].array[fast],
            "source": take("source"),
            "dimension": take("dimension"),
            "target": take("target"),
            "metric": take("metric"),
            "value": numbers[fast],
            "effective_at": times["effective_at"].array[fast],
            "expected_until": times["expected_until"].array[fast],
            "ref": take("ref"),
            "shipment": take("shipment"),
            "area": pd.Series(area_keys[fast], dtype=object),
            "supersedes": None,
            "extras": None,
            "_pos": fast,
        }
    )
    assert len(ok) == n
    return frame, ok


def _times(col: pa.ChunkedArray) -> pd.Series:
    """Zoned ISO 8601 text as UTC microseconds; NaT for anything else (left to the model)."""
    if col.null_count == len(col):  # an optional time no row gives: all NaT, built directly
        return pd.Series(np.full(len(col), np.datetime64("NaT", "us"))).dt.tz_localize("UTC")
    matched = pc.fill_null(pc.match_substring_regex(col, _ISO_FULL), False)
    if not pc.any(matched).as_py():
        return to_utc([None] * len(col))
    text = pc.if_else(matched, col, None).to_numpy(zero_copy_only=False)
    parsed = pd.to_datetime(
        pd.Series(text, dtype=object), utc=True, format="ISO8601", errors="coerce"
    )
    return pd.Series(parsed).dt.as_unit("us")


def _visible(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(
        pc.fill_null(pc.match_substring_regex(col, _VISIBLE), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )


def _null(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)


def _empty_as_null(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def _depth(kind: pa.DataType) -> int:
    """How deep values of an Arrow type can nest (a JSON object or list is one level)."""
    if pa.types.is_struct(kind):
        return 1 + max((_depth(kind.field(i).type) for i in range(kind.num_fields)), default=0)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return 1 + _depth(kind.value_type)
    return 0


def _parsed(lines: list[str]) -> Callable[[int], Any]:
    def parse(i: int) -> Any:
        try:
            return orjson.loads(lines[i])
        except orjson.JSONDecodeError as exc:
            return Unreadable(f"not valid JSON: {exc}")

    return parse


def _json_areas(
    rows: np.ndarray, row_object: Callable[[int], Any], keys: np.ndarray, areas: dict[str, Area]
) -> np.ndarray:
    """Key the `area` of each listed row (read back from its line); False where it is not a
    valid area (the per-row path explains)."""
    ok = np.ones(len(keys), dtype=bool)
    seen: dict[str, str | None] = {}
    for i in rows:
        obj = row_object(int(i))
        value = obj.get("area") if isinstance(obj, dict) else None
        if not isinstance(value, dict):
            ok[i] = False
            continue
        raw = repr(value)
        if raw not in seen:
            try:
                area = Area.model_validate(value)
                seen[raw] = area_key(area)
                areas[area_key(area)] = area
            except (ValidationError, TypeError, ValueError, RecursionError):
                seen[raw] = None
        keys[i] = seen[raw]
        ok[i] = seen[raw] is not None
    return ok


def _csv_areas(
    name: str, col: pa.ChunkedArray, rows: np.ndarray, keys: np.ndarray, areas: dict[str, Area]
) -> np.ndarray:
    ok = np.ones(len(keys), dtype=bool)
    texts = col.take(pa.array(rows, type=pa.int64())).to_pylist()
    cache: dict[str, str | None] = {}
    for i, text in zip(rows, texts, strict=True):
        if text not in cache:
            try:
                area = parse_csv_area(name, text)
                cache[text] = area_key(area)
                areas[area_key(area)] = area
            except ValueError:
                cache[text] = None
        if keys[i] is None:
            keys[i] = cache[text]
        ok[i] = cache[text] is not None
    return ok


def _line_ends(data: bytes) -> np.ndarray:
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return np.concatenate(([-1], ends, [len(data)]))
