"""What one feed file yields before areas are resolved: a signal frame plus its problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.domain.problems import Problem
from twin.domain.signals import SIGNAL_COLUMNS, Area, Quarantined

TIME_COLUMNS = ("ts", "effective_at", "expected_until")
TEXT_COLUMNS = ("source", "dimension", "target", "metric", "ref", "shipment", "area", "supersedes")


@dataclass
class Batch:
    """Signals read from one file. `frame` has SIGNAL_COLUMNS; its `area` column holds a key
    into `areas` (the row still has to be fanned out to the nodes inside) or None."""

    file: str
    format: str
    frame: pd.DataFrame
    areas: dict[str, Area] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    quarantine: list[Quarantined] = field(default_factory=list)
    rows: int = 0  # rows (lines, items, alerts, events) read, good or bad


def area_key(area: Area) -> str:
    """A canonical text for an area: names it in the frame and makes content hashes stable."""
    if area.circle is not None:
        lat, lon, radius = area.circle
        return f"circle:{lat!r} {lon!r} {radius!r}"
    assert area.polygon is not None
    return "polygon:" + ";".join(f"{lat!r} {lon!r}" for lat, lon in area.polygon)


def empty_frame() -> pd.DataFrame:
    return frame_from_records([])


def frame_from_records(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A signal frame from row dicts (keys from SIGNAL_COLUMNS; missing ones are null)."""
    columns: dict[str, Any] = {}
    for name in SIGNAL_COLUMNS:
        values = [row.get(name) for row in rows]
        if name in TIME_COLUMNS:
            columns[name] = to_utc([v for v in values])
        elif name == "value":
            columns[name] = np.array(values, dtype=float) if rows else np.array([], dtype=float)
        else:
            columns[name] = pd.Series(values, dtype=object)
    return normalise(pd.DataFrame(columns))


def to_utc(values: Any) -> pd.Series:
    """Zone-aware datetimes (or None) as a UTC, microsecond column."""
    series = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    return series.dt.as_unit("us")


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Fix the frame's column order and dtypes so batches concatenate cleanly."""
    out = frame.reindex(columns=list(SIGNAL_COLUMNS))
    for name in TIME_COLUMNS:
        if not isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = to_utc(out[name].tolist())
        else:
            out[name] = out[name].dt.as_unit("us")
    out["value"] = out["value"].astype(float)
    for name in TEXT_COLUMNS + ("extras",):
        values = out[name].to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = None
        out[name] = pd.Series(values, dtype=object, index=out.index)
    return out.reset_index(drop=True)
