"""Validate raw shipment rows (SPEC 1.2) into Shipments, reporting every problem at once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from twin.domain.problems import InputError, Problem, did_you_mean, pydantic_problems
from twin.domain.records import Network, NodeKind, Shipment
from twin.network.schema import RawEntry

SHIPMENT_FIELDS = frozenset(Shipment.model_fields)
# Freight starts where goods are made or stocked and ends at a place that can receive it.
START_KINDS = frozenset(NodeKind) - {NodeKind.chokepoint}
END_KINDS = frozenset(NodeKind) - {NodeKind.chokepoint, NodeKind.border}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A date without a time: ready from the start of that day (UTC), due by its end.
_DAY_TIME = {"ready_at": "T00:00:00Z", "due_at": "T23:59:59Z"}


def check_mapping(mapping: Mapping[str, str], file: str) -> list[Problem]:
    """Problems of a column mapping (`{their column: shipment field}`): unknown fields, and two
    columns mapped to one field."""
    problems = [
        Problem(
            file,
            column,
            "map",
            f"unknown shipment field {field!r} ({did_you_mean(field, SHIPMENT_FIELDS)})",
        )
        for column, field in mapping.items()
        if field not in SHIPMENT_FIELDS
    ]
    for field, count in Counter(mapping.values()).items():
        if count > 1:
            columns = ", ".join(sorted(c for c, f in mapping.items() if f == field))
            problems.append(Problem(file, "", "map", f"{columns} all map to {field!r}"))
    return problems


def _row(data: dict[Any, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """A row with its columns renamed by `mapping` and date-only times made whole days."""
    row: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == "":
            continue
        row[mapping.get(str(key), str(key))] = value
    for field, clock in _DAY_TIME.items():
        value = row.get(field)
        if isinstance(value, date) and not isinstance(value, datetime):
            row[field] = value.isoformat() + clock  # YAML reads 2024-03-01 as a date
        elif isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            row[field] = value.strip() + clock
    return row


def parse_shipments(
    entries: list[RawEntry],
    network: Network | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
) -> tuple[list[Shipment], list[Problem]]:
    """Validate shipment rows; with a network, origins and destinations must be its nodes.

    `mapping` renames columns first (`{"ERP_QTY": "units"}`: an ERP or TMS export read as is).
    `ready_at` and `due_at` may be dates alone: ready from 00:00Z, due by 23:59:59Z that day.

    Returns the shipments and warnings; raises InputError listing every error. With
    `skip_invalid` it raises nothing: it returns the valid rows and, as problems, every error
    of the rows it left out.
    """
    mapping = dict(mapping or {})
    problems: list[Problem] = []
    shipments: list[Shipment] = []
    where_of: dict[str, tuple[str, str]] = {}
    bad: set[str] = set()  # ids of shipments that parsed but fail a check across rows
    for entry in entries:
        where = entry.where("shipment")
        if not isinstance(entry.data, dict):
            problems.append(
                Problem(entry.file, where, None, "a shipment must be a mapping of fields")
            )
            continue
        data = _row(entry.data, mapping)
        if mapping and "id" in data and entry.data.get("id") in (None, ""):
            where = f"shipment {data['id']} ({entry.position})"
        for key in sorted(set(data) - SHIPMENT_FIELDS):
            problems.append(
                Problem(
                    entry.file,
                    where,
                    key,
                    f"unknown field, kept as is ({did_you_mean(key, SHIPMENT_FIELDS)})",
                    "warning",
                )
            )
        try:
            shipment = Shipment.model_validate(data)
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, entry.file, where))
            continue
        shipments.append(shipment)
        where_of.setdefault(shipment.id, (entry.file, where))

    for ident, count in Counter(s.id for s in shipments).items():
        if count > 1:
            file, where = where_of[ident]
            bad.add(ident)
            problems.append(
                Problem(file, where, "id", f"duplicate shipment id '{ident}' ({count} times)")
            )
    if network is not None:
        nodes = network.node_by_id
        for shipment in shipments:
            file, where = where_of[shipment.id]
            for field, ref, kinds in (
                ("origin", shipment.origin, START_KINDS),
                ("destination", shipment.destination, END_KINDS),
            ):
                node = nodes.get(ref)
                if node is None:
                    bad.add(shipment.id)
                    problems.append(
                        Problem(
                            file,
                            where,
                            field,
                            f"unknown node '{ref}' in network '{network.name}' "
                            f"({did_you_mean(ref, nodes)})",
                        )
                    )
                elif node.kind not in kinds:
                    bad.add(shipment.id)
                    problems.append(
                        Problem(
                            file,
                            where,
                            field,
                            f"'{ref}' is a {node.kind.value}; freight cannot {'start' if field == 'origin' else 'end'} there",
                        )
                    )
    if skip_invalid:
        return [s for s in shipments if s.id not in bad], problems
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return shipments, problems
