"""Read and write shipment files: CSV, or YAML (a list, or a mapping with `shipments`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

import yaml

from twin.domain.problems import InputError, Problem, did_you_mean
from twin.domain.records import Network, Shipment
from twin.files.tables import entries_from_list, read_csv_entries, read_yaml
from twin.shipments.schema import check_mapping, parse_shipments

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
    path: str | Path,
    network: Network | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
) -> tuple[list[Shipment], list[Problem]]:
    """The shipments of a CSV or YAML file, and the warnings (with `skip_invalid`, also the
    errors of the rows left out). `mapping` renames the file's columns to shipment fields
    (twin.shipments.schema.parse_shipments)."""
    path = Path(path)
    if mapping:
        problems = check_mapping(mapping, "--map")
        if problems:
            raise InputError(problems)
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
    if mapping and entries and isinstance(entries[0].data, dict):
        columns = {str(k) for entry in entries if isinstance(entry.data, dict) for k in entry.data}
        missing = sorted(set(mapping) - columns)
        if missing:
            raise InputError(
                [
                    Problem(
                        str(path),
                        column,
                        "map",
                        f"no column {column!r} in the file ({did_you_mean(column, columns)})",
                    )
                    for column in missing
                ]
            )
    return parse_shipments(entries, network, mapping=mapping, skip_invalid=skip_invalid)


def read_mapping(pairs: list[str], file: Path | None) -> dict[str, str]:
    """A column mapping from `--map THEIRS=field` pairs and/or a YAML file of `THEIRS: field`
    (the pairs win)."""
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    if file is not None:
        doc = read_yaml(file)
        if not isinstance(doc, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
        ):
            problems.append(
                Problem(
                    str(file),
                    "",
                    None,
                    "a mapping file maps column names to fields: `THEIRS: field`",
                )
            )
        else:
            mapping.update(doc)
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip() or not field.strip():
            problems.append(Problem("--map", pair, None, "write it THEIR_COLUMN=field"))
            continue
        mapping[column.strip()] = field.strip()
    if problems:
        raise InputError(problems)
    return mapping


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
