"""Validate raw shipment rows (SPEC 1.2) into Shipments, reporting every problem at once."""

from __future__ import annotations

from collections import Counter

from pydantic import ValidationError

from twin.domain.problems import InputError, Problem, pydantic_problems
from twin.domain.records import Network, NodeKind, Shipment
from twin.network.schema import RawEntry

SHIPMENT_FIELDS = frozenset(Shipment.model_fields)
# Freight starts where goods are made or stocked and ends at a place that can receive it.
START_KINDS = frozenset(NodeKind) - {NodeKind.chokepoint}
END_KINDS = frozenset(NodeKind) - {NodeKind.chokepoint, NodeKind.border}


def parse_shipments(
    entries: list[RawEntry], network: Network | None = None
) -> tuple[list[Shipment], list[Problem]]:
    """Validate shipment rows; with a network, origins and destinations must be its nodes.

    Returns the shipments and warnings; raises InputError listing every error.
    """
    problems: list[Problem] = []
    shipments: list[Shipment] = []
    where_of: dict[str, tuple[str, str]] = {}
    for entry in entries:
        where = entry.where("shipment")
        if not isinstance(entry.data, dict):
            problems.append(
                Problem(entry.file, where, None, "a shipment must be a mapping of fields")
            )
            continue
        data = {str(k): v for k, v in entry.data.items() if v is not None and v != ""}
        for key in sorted(set(data) - SHIPMENT_FIELDS):
            problems.append(Problem(entry.file, where, key, "unknown field, kept as is", "warning"))
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
                    problems.append(
                        Problem(
                            file, where, field, f"unknown node '{ref}' in network '{network.name}'"
                        )
                    )
                elif node.kind not in kinds:
                    problems.append(
                        Problem(
                            file,
                            where,
                            field,
                            f"'{ref}' is a {node.kind.value}; freight cannot {'start' if field == 'origin' else 'end'} there",
                        )
                    )
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return shipments, problems
