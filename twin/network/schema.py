"""Turn raw network tables into a validated Network, collecting every problem at once.

Raw tables come from any adapter (YAML, a CSV folder, the store); each entry carries where
it came from so a problem names the file, the entry and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from twin.domain.problems import InputError, Problem, pydantic_problems
from twin.domain.records import VIA_KINDS, Lane, Network, Node, NodeKind

NODE_FIELDS = frozenset(Node.model_fields)
LANE_FIELDS = frozenset({"from"} | set(Lane.model_fields) - {"from_"})


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One row of a table as read: its file, its position (e.g. `nodes[3]`, `row 4`), its data."""

    file: str
    position: str
    data: Any

    def where(self, kind: str) -> str:
        ident = self.data.get("id") if isinstance(self.data, dict) else None
        if ident not in (None, ""):
            return f"{kind} {ident} ({self.position})"
        return f"{kind} at {self.position}"


def parse_network(
    header: dict[str, Any],
    nodes: list[RawEntry],
    lanes: list[RawEntry],
    file: str,
) -> tuple[Network, list[Problem]]:
    """Validate raw node and lane entries and build the Network.

    Returns the network and any warnings (unknown fields, oddities that do not stop loading).
    Raises InputError listing every error: bad fields, duplicate ids, lanes naming unknown
    nodes, a `via` that is not a chokepoint or border.
    """
    problems: list[Problem] = []
    name = header.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(file, "network", "name", "a network needs a non-empty name"))
        name = "unnamed"
    unit = header.get("unit", "cbm")
    currency = header.get("currency", "USD")
    for key, value in (("unit", unit), ("currency", currency)):
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(file, "network", key, "must be a non-empty text"))

    parsed_nodes = [n for n in (_parse(e, Node, "node", NODE_FIELDS, problems) for e in nodes) if n]
    parsed_lanes = [l for l in (_parse(e, Lane, "lane", LANE_FIELDS, problems) for e in lanes) if l]
    if not nodes:
        problems.append(Problem(file, "network", "nodes", "the network has no nodes"))

    problems.extend(check_references(parsed_nodes, parsed_lanes, nodes, lanes))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(problems)
    network = Network(
        name=name,
        unit=str(unit),
        currency=str(currency),
        nodes=tuple(parsed_nodes),
        lanes=tuple(parsed_lanes),
    )
    return network, problems


Record = TypeVar("Record", bound=BaseModel)


def _parse(
    entry: RawEntry, model: type[Record], kind: str, known: frozenset[str], problems: list[Problem]
) -> Record | None:
    where = entry.where(kind)
    if not isinstance(entry.data, dict):
        problems.append(Problem(entry.file, where, None, f"a {kind} must be a mapping of fields"))
        return None
    data = {str(k): v for k, v in entry.data.items() if v is not None and v != ""}
    for key in sorted(set(data) - known):
        problems.append(
            Problem(entry.file, where, key, "unknown field, kept as is", severity="warning")
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, entry.file, where))
        return None


def check_references(
    nodes: list[Node],
    lanes: list[Lane],
    node_entries: list[RawEntry],
    lane_entries: list[RawEntry],
) -> list[Problem]:
    """Cross-reference checks: duplicate ids, unknown nodes in lanes, bad `via` members."""
    problems: list[Problem] = []
    node_where = _positions(node_entries, "node")
    lane_where = _positions(lane_entries, "lane")

    # Duplicates are counted on the raw rows, so a copy that fails another check still counts.
    for kind, where_of in (("node", node_where), ("lane", lane_where)):
        for ident, places in where_of.items():
            if len(places) > 1 and ident not in ("None", ""):
                file, where = places[-1]
                problems.append(
                    Problem(
                        file, where, "id", f"duplicate {kind} id '{ident}' ({len(places)} times)"
                    )
                )

    kinds = {n.id: n.kind for n in nodes}
    # A node whose row has another error still exists for reference checks.
    known = set(kinds) | {ident for ident in node_where if ident not in ("None", "")}
    for ident in sorted(set(kinds) & {l.id for l in lanes}):
        file, where = lane_where[ident][0]
        problems.append(
            Problem(file, where, "id", f"lane id '{ident}' is also a node id; ids name one thing")
        )
    # References are checked on the raw rows, so a lane with another bad field still has its
    # unknown nodes reported in the same pass.
    for entry in lane_entries:
        if not isinstance(entry.data, dict):
            continue
        where = entry.where("lane")
        for field in ("from", "to"):
            ref = entry.data.get(field)
            if ref not in (None, "") and str(ref) not in known:
                problems.append(Problem(entry.file, where, field, f"unknown node '{ref}'"))
        try:
            members = Lane._split_via(entry.data.get("via"))
            members = [str(m) for m in members] if isinstance(members, (list, tuple)) else []
        except (TypeError, ValueError):
            members = []
        for member in members:
            if member not in known:
                problems.append(Problem(entry.file, where, "via", f"unknown node '{member}'"))
            elif member in kinds and kinds[member] not in VIA_KINDS:
                problems.append(
                    Problem(
                        entry.file,
                        where,
                        "via",
                        f"'{member}' is a {kinds[member].value}, not a chokepoint or border",
                    )
                )
    for node in nodes:
        if node.tier is not None and node.kind is not NodeKind.warehouse:
            file, where = node_where[node.id][0]
            problems.append(
                Problem(file, where, "tier", "only warehouses have a tier", severity="warning")
            )
    return problems


def _positions(entries: list[RawEntry], kind: str) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        if isinstance(entry.data, dict):
            ident = str(entry.data.get("id"))
            found.setdefault(ident, []).append((entry.file, entry.where(kind)))
    return found
