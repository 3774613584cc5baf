"""Read and write shipment files: CSV, or YAML (a list, or a mapping with `shipments`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment
from twin.files.tables import entries_from_list, read_csv_entries, read_yaml
from twin.shipments.schema import parse_shipments

COLUMNS = [
    "id",
    "origin",
    "destination",
    "units",
    "ready_at",
    "due_at",
    "priority",
    "late_penalty_per_unit_day",
    "split",
]


def load_shipments(
    path: str | Path, network: Network | None = None
) -> tuple[list[Shipment], list[Problem]]:
    path = Path(path)
    if path.suffix.lower() == ".csv":
        entries = read_csv_entries(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        doc = read_yaml(path)
        if isinstance(doc, dict) and "shipments" in doc:
            doc = doc["shipments"]
        entries, problems = entries_from_list(doc, str(path), "shipments")
        if problems:
            raise InputError(problems)
    else:
        raise InputError([Problem(str(path), "", None, "shipments must be a .csv or .yaml file")])
    return parse_shipments(entries, network)


def shipments_text(shipments: list[Shipment], suffix: str) -> str:
    rows = [s.to_row() for s in shipments]
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(rows, sort_keys=False, width=1000)
    out = io.StringIO()
    extra = sorted({k for row in rows for k in row} - set(COLUMNS))
    writer = csv.DictWriter(out, fieldnames=COLUMNS + extra, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row["split"] = "true" if row["split"] else "false"
        writer.writerow(row)
    return out.getvalue()


def write_shipments(shipments: list[Shipment], out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise InputError([Problem(str(out), "", None, "write shipments to a .csv or .yaml file")])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(shipments_text(shipments, suffix), encoding="utf-8")
    tmp.replace(out)
