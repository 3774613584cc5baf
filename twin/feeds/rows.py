"""Validate tables of signal rows in bulk (column operations), per row only where that fails.

JSON Lines and CSV both arrive here as a DataFrame of raw cells. Every row goes through cheap
column checks; a row that passes them all is certainly a valid `Signal` and is converted in
bulk. The few rows that fail are run one by one through the `Signal` model, which either
accepts them (the bulk checks are deliberately stricter than the model) or names the field
and the reason. So 100,000 good rows never touch pydantic, and a bad row still gets a precise
message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd
from pydantic import ValidationError

from twin.domain.problems import Problem
from twin.domain.signals import Area, Quarantined, Signal
from twin.feeds.batch import Batch, area_key, frame_from_records, normalise, to_utc

# Zoned ISO 8601 that both pandas and datetime.fromisoformat read the same way; anything
# else (naive, odd forms) takes the per-row path, which accepts or explains it.
_ISO_ZONED = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|z|[+-]\d{2}:\d{2})"
_ISO_RE = re.compile(_ISO_ZONED)

REQUIRED_TEXT = ("source", "dimension", "metric")
OPTIONAL_TEXT = ("target", "ref", "shipment")
OPTIONAL_TIMES = ("effective_at", "expected_until")
CSV_AREA_COLUMNS = ("area_circle", "area_polygon")
KNOWN_KEYS = frozenset(
    ("ts", "value", "area", "supersedes") + REQUIRED_TEXT + OPTIONAL_TEXT + OPTIONAL_TIMES
)


@dataclass(frozen=True)
class Unreadable:
    """Stands in for a row that could not even be parsed, so the per-row path says why."""

    reason: str


class RowNames(Sequence[str]):
    """`line 1`, `line 2`, ... (or `row 2`, ...): the names of a file's rows, made only for the
    rows that are reported."""

    def __init__(self, word: str, first: int, count: int) -> None:
        self._word, self._first, self._count = word, first, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(self._count)[index]]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return f"{self._word} {index % self._count + self._first}"


def validate_rows(
    table: pd.DataFrame,
    *,
    file: str,
    fmt: str,
    wheres: list[str],
    raw: Callable[[int], str],
    csv_areas: bool = False,
    objects: list[Any] | None = None,
    max_bad: int | None = None,
) -> Batch:
    """Validate raw signal rows (one DataFrame row each) into a Batch.

    `wheres[i]` names row i for problems (`line 7`, `row 3`); `raw(i)` gives its raw text for
    the quarantine. With `csv_areas`, areas come from the `area_circle` / `area_polygon` text
    columns; otherwise from an `area` column of mappings. `objects[i]`, when given, is row i
    as parsed (a JSON object), checked as is by the per-row path so a missing key reads as
    missing rather than as the NaN a DataFrame fills in. Once more than `max_bad` rows are
    rejected the rest are not looked at (the caller sets the whole file aside).
    """
    n = len(table)
    batch = Batch(file=file, format=fmt, frame=frame_from_records([]), rows=n)
    if n == 0:
        return batch
    table = table.reset_index(drop=True)
    ok = np.ones(n, dtype=bool)

    for name in REQUIRED_TEXT:
        ok &= _nonblank_text(table.get(name), n)
    for name in OPTIONAL_TEXT:
        col = table.get(name)
        if col is not None:
            ok &= col.isna().to_numpy() | _nonblank_text(col, n)

    ts = _times(table.get("ts"), n, required=True)
    ok &= ts.notna().to_numpy()
    times = {"ts": ts}
    for name in OPTIONAL_TIMES:
        col = table.get(name)
        if col is None:
            times[name] = to_utc([None] * n)
            continue
        parsed = _times(col, n, required=False)
        blank = col.isna().to_numpy() | (col.astype(object) == "").to_numpy()
        ok &= blank | parsed.notna().to_numpy()
        times[name] = parsed

    values = _numbers(table.get("value"), n)
    ok &= np.isfinite(values)

    keys, areas, area_ok = _csv_areas(table) if csv_areas else _json_areas(table.get("area"), n)
    ok &= area_ok
    has_target = table["target"].notna().to_numpy() if "target" in table else np.zeros(n, bool)
    has_area = keys.notna().to_numpy()
    ok &= has_target ^ has_area  # one or the other, never both nor neither

    extra_cols = [c for c in table.columns if c not in KNOWN_KEYS and c not in CSV_AREA_COLUMNS]
    fast = np.flatnonzero(ok)
    frame = pd.DataFrame(
        {
            "ts": times["ts"].array[fast],
            "source": _take(table, "source", fast),
            "dimension": _take(table, "dimension", fast),
            "target": _take(table, "target", fast),
            "metric": _take(table, "metric", fast),
            "value": values[fast],
            "effective_at": times["effective_at"].array[fast],
            "expected_until": times["expected_until"].array[fast],
            "ref": _take(table, "ref", fast),
            "shipment": _take(table, "shipment", fast),
            "area": keys.iloc[fast].to_numpy(),
            "supersedes": None,
            "extras": _extras(table, extra_cols, fast),
            "_pos": fast,
        }
    )
    batch.areas.update(areas)
    if objects is not None:
        listed = objects
        return check_rest(batch, frame, ok, lambda i: listed[i], wheres, raw, csv_areas, max_bad)
    return check_rest(
        batch,
        frame,
        ok,
        lambda i: _row_object(table, i, csv_areas),
        wheres,
        raw,
        csv_areas,
        max_bad,
    )


def check_rest(
    batch: Batch,
    frame: pd.DataFrame,
    ok: np.ndarray,
    row_object: Callable[[int], Any],
    wheres: Sequence[str],
    raw: Callable[[int], str],
    csv_areas: bool,
    max_bad: int | None,
) -> Batch:
    """Run the rows the bulk checks did not pass (`ok` False) through the per-row path one by
    one and merge them, in file order, with `frame` (the passed rows, with a `_pos` column).

    `row_object(i)` gives row i as parsed (a dict, or Unreadable saying why it is not one).
    """
    slow_rows: list[dict[str, Any]] = []
    for i in np.flatnonzero(~ok):
        row, errors = check_row(row_object(int(i)), csv_areas)
        if row is None:
            _reject(batch, wheres[int(i)], raw(int(i)), errors)
            if max_bad is not None and len(batch.quarantine) > max_bad:
                return batch
            continue
        area = row.pop("_area", None)
        if area is not None:
            key = area_key(area)
            batch.areas[key] = area
            row["area"] = key
        row["_pos"] = int(i)
        slow_rows.append(row)
    if slow_rows:
        slow = frame_from_records(slow_rows)
        slow["_pos"] = [r["_pos"] for r in slow_rows]
        frame = pd.concat([_typed(frame), _typed(slow)], ignore_index=True)
        frame = frame.sort_values("_pos", kind="stable")
    batch.frame = normalise(frame.drop(columns="_pos"))
    return batch


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    pos = frame["_pos"].to_numpy()
    out = normalise(frame.drop(columns="_pos"))
    out["_pos"] = pos
    return out


def _reject(batch: Batch, where: str, raw: str, errors: list[tuple[str | None, str]]) -> None:
    for name, message in errors:
        batch.problems.append(Problem(batch.file, where, name, message))
    batch.quarantine.append(
        Quarantined(
            file=batch.file,
            where=where,
            field=errors[0][0] if errors else None,
            reason="; ".join(m if not f else f"{f}: {m}" for f, m in errors) or "invalid row",
            raw=raw,
        )
    )


def check_row(
    obj: Any, csv_areas: bool = False
) -> tuple[dict[str, Any] | None, list[tuple[str | None, str]]]:
    """Validate one raw row the slow, precise way: a frame row dict, or the errors by field."""
    if isinstance(obj, Unreadable):
        return None, [(None, obj.reason)]
    if not isinstance(obj, dict):
        return None, [(None, f"a signal must be a JSON object, not {_json_type(obj)}")]
    errors: list[tuple[str | None, str]] = []
    data = dict(obj)
    if csv_areas:
        for name in CSV_AREA_COLUMNS:
            text = data.pop(name, None)
            if text in (None, ""):
                continue
            try:
                data["area"] = parse_csv_area(name, str(text))
            except ValueError as exc:
                errors.append((name, str(exc)))
    for name in REQUIRED_TEXT + OPTIONAL_TEXT:
        value = data.get(name)
        if isinstance(value, str) and not value.strip():
            if name in REQUIRED_TEXT:
                errors.append((name, "must not be blank"))
            else:
                data.pop(name)
    if data.get("target") is not None and data.get("area") not in (None, ""):
        errors.append(("area", "give either a target or an area, not both"))
    if isinstance(data.get("value"), bool):
        errors.append(("value", "must be a number, not true/false"))
    if errors:
        return None, errors
    data.pop("supersedes", None)
    try:
        signal = Signal.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_errors(exc)
    except (TypeError, ValueError, RecursionError) as exc:  # exotic inputs pydantic chokes on
        return None, [(None, f"invalid row: {exc}")]
    row = signal_row(signal)
    row["_area"] = signal.area
    return row, []


def signal_row(signal: Signal) -> dict[str, Any]:
    """A frame row dict from a Signal (its area, if any, left for the caller to key)."""
    # An empty value says nothing: dropped as the table reader's _extras drops it.
    extras = {k: v for k, v in (signal.model_extra or {}).items() if v is not None and v != ""}
    if signal.note:
        extras["note"] = signal.note
    return {
        "ts": signal.ts,
        "source": signal.source,
        "dimension": signal.dimension,
        "target": signal.target,
        "metric": signal.metric,
        "value": signal.value,
        "effective_at": signal.effective_at,
        "expected_until": signal.expected_until,
        "ref": signal.ref,
        "shipment": signal.shipment,
        "extras": extras or None,
    }


def _pydantic_errors(exc: ValidationError) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") != "missing" and "input" in err:
            shown = repr(err["input"])
            message += f" (got {shown[:57] + '...' if len(shown) > 60 else shown})"
        out.append((".".join(loc) or None, message))
    return out


def parse_csv_area(column: str, text: str) -> Area:
    """`area_circle` = "lat lon radius_km"; `area_polygon` = "lat lon; lat lon; ..."."""
    try:
        if column == "area_circle":
            parts = [float(p) for p in text.replace(",", " ").split()]
            if len(parts) != 3:
                raise ValueError("a circle is 'lat lon radius_km'")
            return Area(circle=(parts[0], parts[1], parts[2]))
        points = []
        for pair in text.split(";"):
            if not pair.strip():
                continue
            xy = [float(p) for p in pair.replace(",", " ").split()]
            if len(xy) != 2:
                raise ValueError("a polygon is 'lat lon; lat lon; ...'")
            points.append((xy[0], xy[1]))
        return Area(polygon=tuple(points))
    except ValidationError as exc:
        raise ValueError("; ".join(m for _, m in _pydantic_errors(exc))) from None


def json_area(value: Any) -> Area:
    """An Area from its JSON form `{circle: [lat, lon, r]}` or `{polygon: [[lat, lon], ...]}`."""
    try:
        return Area.model_validate(value)
    except ValidationError as exc:
        raise ValueError("; ".join(m for _, m in _pydantic_errors(exc))) from None


def _json_type(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _row_object(table: pd.DataFrame, i: int, csv_areas: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in table.iloc[i].items():
        if value is None or (isinstance(value, float) and math.isnan(value) and name != "value"):
            continue
        if csv_areas and value == "":
            continue
        out[str(name)] = value
    return out


def _nonblank_text(col: pd.Series | None, n: int) -> np.ndarray:
    if col is None:
        return np.zeros(n, dtype=bool)
    # identifiers repeat (a few sources, metrics, targets): check each distinct value once
    values = col.to_numpy(dtype=object)
    is_text = np.fromiter((type(v) is str for v in values), bool, n)
    if not is_text.all():
        values = np.where(is_text, values, None)  # lists and dicts cannot be hashed
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    good = np.fromiter((bool(u.strip()) for u in uniques), bool, len(uniques))
    return np.append(good, False)[codes]


def _times(col: pd.Series | None, n: int, *, required: bool) -> pd.Series:
    if col is None:
        return to_utc([None] * n)
    match = _ISO_RE.fullmatch
    values = col.to_numpy(dtype=object)
    good = np.fromiter((type(v) is str and match(v) is not None for v in values), bool, n)
    text = np.where(good, values, None)
    parsed = pd.to_datetime(
        pd.Series(text, dtype=object), utc=True, format="ISO8601", errors="coerce"
    )
    return pd.Series(parsed).dt.as_unit("us")


def _numbers(col: pd.Series | None, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, np.nan)
    if col.dtype.kind in "iuf":
        return col.to_numpy(dtype=float)
    # strings ("96" in CSV) become numbers; true/false and anything else go the slow way
    values = col.to_numpy(dtype=object)
    usable = np.fromiter((type(v) in (int, float, str) for v in values), bool, n)
    picked = pd.Series(np.where(usable, values, None), dtype=object)
    return pd.to_numeric(picked, errors="coerce").to_numpy(dtype=float)


def _take(table: pd.DataFrame, name: str, rows: np.ndarray) -> Any:
    if name not in table:
        return None
    return table[name].to_numpy(dtype=object)[rows]


def _json_areas(col: pd.Series | None, n: int) -> tuple[pd.Series, dict[str, Area], np.ndarray]:
    keys = pd.Series([None] * n, dtype=object)
    ok = np.ones(n, dtype=bool)
    areas: dict[str, Area] = {}
    if col is None:
        return keys, areas, ok
    present = col.notna().to_numpy()
    seen: dict[str, str | None] = {}
    for i in np.flatnonzero(present):
        value = col.iat[i]
        if not isinstance(value, dict):
            ok[i] = False
            continue
        try:
            raw = repr(value)
            if raw not in seen:
                seen[raw] = None
                area = Area.model_validate(value)
                seen[raw] = found = area_key(area)
                areas[found] = area
        except (ValidationError, TypeError, ValueError, RecursionError):
            ok[i] = False
            continue
        key = seen[raw]
        if key is None:
            ok[i] = False
        keys.iat[i] = key
    return keys, areas, ok


def _csv_areas(table: pd.DataFrame) -> tuple[pd.Series, dict[str, Area], np.ndarray]:
    n = len(table)
    keys = pd.Series([None] * n, dtype=object)
    ok = np.ones(n, dtype=bool)
    areas: dict[str, Area] = {}
    given = np.zeros(n, dtype=int)
    for name in CSV_AREA_COLUMNS:
        if name not in table:
            continue
        col = table[name]
        present = col.notna().to_numpy() & (col.astype(object) != "").to_numpy()
        given += present
        cache: dict[str, str | None] = {}
        for i in np.flatnonzero(present):
            text = str(col.iat[i])
            if text not in cache:
                try:
                    area = parse_csv_area(name, text)
                    cache[text] = found = area_key(area)
                    areas[found] = area
                except ValueError:
                    cache[text] = None
            if cache[text] is None:
                ok[i] = False
            keys.iat[i] = cache[text]
    ok &= given <= 1
    return keys, areas, ok


def _extras(table: pd.DataFrame, columns: list[str], rows: np.ndarray) -> Any:
    if not columns:
        return None
    records = table[columns].iloc[rows].to_dict("records")
    out = []
    for record in records:
        kept = {
            k: v
            for k, v in record.items()
            if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))
        }
        out.append(kept or None)
    return out
