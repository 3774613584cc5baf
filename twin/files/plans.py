"""A plan as a table (one row per shipment and route) and written as CSV, Excel or Parquet."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd

from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
COLUMNS = [
    "shipment",
    "status",
    "origin",
    "destination",
    "priority",
    "units",
    "route",
    "modes",
    "lanes",
    "eta",
    "due_at",
    "late_days",
    "cost",
    "co2e_kg",
    "reason",
]


def plan_frame(doc: dict[str, Any], shipments: list[Shipment], network: Network) -> pd.DataFrame:
    """The plan document (`PlanResult.to_document()`) as rows: each routed part of a shipment,
    with its route in place names and modes, and each unserved part with the reason."""
    by_id = {s.id: s for s in shipments}
    names = {n.id: n.name or n.id for n in network.nodes}
    rows: list[dict[str, Any]] = []
    for part in doc["assignments"]:
        ship = by_id.get(part["shipment"])
        lanes = [network.lane_by_id[lane] for lane in part["path"] if lane in network.lane_by_id]
        stops = [lanes[0].from_] + [lane.to for lane in lanes] if lanes else []
        rows.append(
            {
                "shipment": part["shipment"],
                "status": "routed",
                "units": float(part["units"]),
                "route": " → ".join(names.get(stop, stop) for stop in stops) or "(already there)",
                "modes": " + ".join(dict.fromkeys(lane.mode.value for lane in lanes)) or "-",
                "lanes": " > ".join(part["path"]),
                "eta": part["eta"],
                "late_days": float(part["late_days"]),
                "cost": float(part["cost"]),
                "co2e_kg": float(part.get("co2e_kg", 0.0)),
                "reason": "",
                **_about(ship),
            }
        )
    for part in doc["unserved"]:
        rows.append(
            {
                "shipment": part["shipment"],
                "status": "unserved",
                "units": float(part["units"]),
                "route": "",
                "modes": "",
                "lanes": "",
                "eta": None,
                "late_days": 0.0,
                "cost": 0.0,
                "co2e_kg": 0.0,
                "reason": part.get("reason", ""),
                **_about(by_id.get(part["shipment"])),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _about(ship: Shipment | None) -> dict[str, Any]:
    if ship is None:
        return {"origin": None, "destination": None, "priority": None, "due_at": None}
    return {
        "origin": ship.origin,
        "destination": ship.destination,
        "priority": ship.priority.value,
        "due_at": ship.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_plan(frame: pd.DataFrame, out: Path) -> Path:
    """Write the plan table by the file's extension; written whole or not at all."""
    suffix = out.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            [Problem(str(out), "", None, f"write a plan to a {', '.join(TABLE_SUFFIXES)} file")]
        )
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise InputError(
            [
                Problem(
                    str(out),
                    "",
                    None,
                    "writing Parquet needs pyarrow: pip install 'twin[parquet]' (or use .csv, .xlsx)",
                )
            ]
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    table = frame.copy()
    for column in ("eta", "due_at"):
        table[column] = pd.to_datetime(table[column], utc=True)
    if suffix == ".csv":
        table.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    elif suffix == ".xlsx":
        # Excel keeps no time zone: the times are written in UTC, as the header says.
        for column in ("eta", "due_at"):
            table[column] = table[column].dt.tz_localize(None)
        table = table.rename(columns={"eta": "eta (UTC)", "due_at": "due_at (UTC)"})
        table.to_excel(tmp, index=False, sheet_name="plan", engine="openpyxl")
    else:
        table.to_parquet(tmp, index=False, engine="pyarrow")
    tmp.replace(out)
    return out
