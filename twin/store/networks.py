"""Store and read networks: domain Network <-> rows, saved idempotently in one transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from twin.domain.records import Lane, Network, Node
from twin.store.common import NotFound, SaveReport, chunks, network_id
from twin.store.tables.base import utcnow
from twin.store.tables.network import LaneRow, LaneViaRow, NetworkRow, NodeRow

NODES, LANES, VIA = NodeRow.__table__, LaneRow.__table__, LaneViaRow.__table__  # type: ignore[attr-defined]
NETWORKS = NetworkRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredNetwork:
    """A stored network in a listing: its header, sizes and when it last changed."""

    id: int
    name: str
    unit: str
    currency: str
    nodes: int
    lanes: int
    updated_at: datetime


# -- conversions: domain records <-> row dicts -------------------------------------------------


def node_row(node: Node, *, network_id: int, position: int) -> dict[str, Any]:
    return {
        "network_id": network_id,
        "id": node.id,
        "position": position,
        "kind": node.kind.value,
        "name": node.name,
        "country": node.country,
        "lat": node.lat,
        "lon": node.lon,
        "capacity": node.capacity,
        "tier": node.tier.value if node.tier is not None else None,
        "customs_entry": node.customs_entry,
        "handling_days": node.handling_days,
        "clearance_days": node.clearance_days,
        # geocodes ride in extras (a JSON column) so they need no column of their own
        "extras": {**node.extras, **node.model_dump(include={"geocodes"}, exclude_defaults=True)},
    }


def lane_row(lane: Lane, *, network_id: int, position: int) -> dict[str, Any]:
    """The lane's row; its `via` goes to lane_via rows (see `via_rows`)."""
    return {
        "network_id": network_id,
        "id": lane.id,
        "position": position,
        "from_node": lane.from_,
        "to_node": lane.to,
        "mode": lane.mode.value,
        "transit_days": lane.transit_days,
        "cost_per_unit": lane.cost_per_unit,
        "capacity": lane.capacity,
        "transit_days_p90": lane.transit_days_p90,
        "extras": lane.extras,
    }


def via_rows(lane: Lane, *, network_id: int) -> list[dict[str, Any]]:
    return [
        {"network_id": network_id, "lane_id": lane.id, "position": i, "node_id": node}
        for i, node in enumerate(lane.via)
    ]


def row_node(row: Any) -> Node:
    data = dict(row)
    extras = data.pop("extras") or {}
    for key in ("network_id", "position"):
        data.pop(key, None)
    return Node.model_validate({**extras, **data})


def row_lane(row: Any, via: tuple[str, ...] = ()) -> Lane:
    data = dict(row)
    extras = data.pop("extras") or {}
    for key in ("network_id", "position"):
        data.pop(key, None)
    data["from"] = data.pop("from_node")
    data["to"] = data.pop("to_node")
    data["via"] = via
    return Lane.model_validate({**extras, **data})


# -- queries -----------------------------------------------------------------------------------


def save_network(session: Session, *, network: Network) -> SaveReport:
    """Store `network` under its name, idempotently.

    A network not yet stored is inserted; one stored under the same name is brought to exactly
    `network` (new rows inserted, changed ones updated, missing ones deleted); the same network
    again changes nothing. Everything happens in the session's transaction: if anything fails
    (the caller's `session_scope` rolls back), the stored network is as it was.

    Returns a SaveReport counting nodes, lanes and via rows per outcome; its `network_id` is
    what other tables refer to. Raises sqlalchemy.exc.IntegrityError when a row breaks a
    constraint (e.g. a lane naming a node the network lacks).

    Example::

        with session_scope(engine) as session:
            report = save_network(session, network=load_network("demo")[0])
    """
    found = session.execute(
        select(NetworkRow.id).where(NetworkRow.name == network.name).with_for_update()  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if found is None:
        return _insert_network(session, network)
    ident = int(found)
    report = SaveReport(network_id=ident)
    header = session.execute(
        select(NETWORKS.c.unit, NETWORKS.c.currency).where(NETWORKS.c.id == ident)
    ).one()
    header_changed = tuple(header) != (network.unit, network.currency)

    old_nodes = {
        r["id"]: dict(r)
        for r in session.execute(select(NODES).where(NODES.c.network_id == ident)).mappings()
    }
    old_lanes = {
        r["id"]: dict(r)
        for r in session.execute(select(LANES).where(LANES.c.network_id == ident)).mappings()
    }
    old_via: dict[str, list[str]] = defaultdict(list)
    for lane_id, node_id in session.execute(
        select(VIA.c.lane_id, VIA.c.node_id)
        .where(VIA.c.network_id == ident)
        .order_by(VIA.c.lane_id, VIA.c.position)
    ):
        old_via[lane_id].append(node_id)

    new_nodes = [node_row(n, network_id=ident, position=i) for i, n in enumerate(network.nodes)]
    node_insert, node_update, node_same = _diff(old_nodes, new_nodes)
    node_delete = sorted(set(old_nodes) - {r["id"] for r in new_nodes})

    new_lanes = [
        lane_row(lane, network_id=ident, position=i) for i, lane in enumerate(network.lanes)
    ]
    via_of = {lane.id: list(lane.via) for lane in network.lanes}
    for lane_id, row in old_lanes.items():
        row["_via"] = old_via.get(lane_id, [])
    for row in new_lanes:
        row["_via"] = via_of[row["id"]]
    lane_insert, lane_update, lane_same = _diff(old_lanes, new_lanes)
    lane_delete = sorted(set(old_lanes) - set(via_of))

    # Order matters for the foreign keys, checked per statement: nodes first in, last out.
    if node_insert:
        session.execute(insert(NODES), node_insert)
    if node_update:
        session.execute(update(NodeRow), node_update)
    for part in chunks(lane_delete):  # their via rows go with them (ON DELETE CASCADE)
        session.execute(delete(LANES).where(LANES.c.network_id == ident, LANES.c.id.in_(part)))
    via_reset = [r["id"] for r in lane_update if r["_via"] != old_via.get(r["id"], [])]
    for part in chunks(via_reset):
        session.execute(delete(VIA).where(VIA.c.network_id == ident, VIA.c.lane_id.in_(part)))
    if lane_update:
        session.execute(update(LaneRow), [_without_via(r) for r in lane_update])
    if lane_insert:
        session.execute(insert(LANES), [_without_via(r) for r in lane_insert])
    new_via = [
        {"network_id": ident, "lane_id": lane_id, "position": i, "node_id": node}
        for lane_id in [*via_reset, *(r["id"] for r in lane_insert)]
        for i, node in enumerate(via_of[lane_id])
    ]
    if new_via:
        session.execute(insert(VIA), new_via)
    for part in chunks(node_delete):
        session.execute(delete(NODES).where(NODES.c.network_id == ident, NODES.c.id.in_(part)))

    report.inserted = {"nodes": len(node_insert), "lanes": len(lane_insert)}
    report.updated = {"nodes": len(node_update), "lanes": len(lane_update)}
    report.unchanged = {"nodes": node_same, "lanes": lane_same}
    report.deleted = {"nodes": len(node_delete), "lanes": len(lane_delete)}
    if header_changed or report.changed:
        session.execute(
            update(NETWORKS)
            .where(NETWORKS.c.id == ident)
            .values(unit=network.unit, currency=network.currency, updated_at=utcnow())
        )
        if header_changed:
            report.updated["network"] = 1
    return report


def _insert_network(session: Session, network: Network) -> SaveReport:
    now = utcnow()
    ident = session.execute(
        insert(NETWORKS)
        .values(
            name=network.name,
            unit=network.unit,
            currency=network.currency,
            created_at=now,
            updated_at=now,
        )
        .returning(NETWORKS.c.id)
    ).scalar_one()
    nodes = [node_row(n, network_id=ident, position=i) for i, n in enumerate(network.nodes)]
    lanes = [lane_row(lane, network_id=ident, position=i) for i, lane in enumerate(network.lanes)]
    via = [row for lane in network.lanes for row in via_rows(lane, network_id=ident)]
    # Core executemany inserts: one statement per batch, no ORM object per row.
    for table, rows in ((NODES, nodes), (LANES, lanes), (VIA, via)):
        if rows:
            session.execute(insert(table), rows)
    return SaveReport(
        network_id=ident,
        created=True,
        inserted={"nodes": len(nodes), "lanes": len(lanes)},
        updated={"nodes": 0, "lanes": 0},
        unchanged={"nodes": 0, "lanes": 0},
        deleted={"nodes": 0, "lanes": 0},
    )


def _diff(
    old: dict[str, dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Split `new` rows into those to insert, those to update, and a count of unchanged ones."""
    to_insert, to_update, same = [], [], 0
    for row in new:
        before = old.get(row["id"])
        if before is None:
            to_insert.append(row)
        elif before == row:
            same += 1
        else:
            to_update.append(row)
    return to_insert, to_update, same


def _without_via(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "_via"}


def get_network(session: Session, *, name: str) -> Network:
    """The stored network `name`, equal to the Network that was saved; raises NotFound."""
    ident = network_id(session, name=name)
    header = session.execute(select(NETWORKS).where(NETWORKS.c.id == ident)).mappings().one()
    via: dict[str, list[str]] = defaultdict(list)
    for lane_id, node_id in session.execute(
        select(VIA.c.lane_id, VIA.c.node_id)
        .where(VIA.c.network_id == ident)
        .order_by(VIA.c.lane_id, VIA.c.position)
    ):
        via[lane_id].append(node_id)
    nodes = session.execute(
        select(NODES).where(NODES.c.network_id == ident).order_by(NODES.c.position)
    ).mappings()
    lanes = session.execute(
        select(LANES).where(LANES.c.network_id == ident).order_by(LANES.c.position)
    ).mappings()
    return Network(
        name=header["name"],
        unit=header["unit"],
        currency=header["currency"],
        nodes=tuple(row_node(r) for r in nodes),
        lanes=tuple(row_lane(r, tuple(via.get(r["id"], ()))) for r in lanes),
    )


def list_networks(session: Session) -> list[StoredNetwork]:
    """Every stored network by name, with its node and lane counts."""
    node_count = select(func.count()).where(NODES.c.network_id == NETWORKS.c.id).scalar_subquery()
    lane_count = select(func.count()).where(LANES.c.network_id == NETWORKS.c.id).scalar_subquery()
    rows = session.execute(
        select(NETWORKS, node_count.label("n_nodes"), lane_count.label("n_lanes")).order_by(
            NETWORKS.c.name
        )
    ).mappings()
    return [
        StoredNetwork(
            id=r["id"],
            name=r["name"],
            unit=r["unit"],
            currency=r["currency"],
            nodes=r["n_nodes"],
            lanes=r["n_lanes"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


def delete_network(session: Session, *, name: str) -> None:
    """Delete a stored network with everything that belongs to it; raises NotFound."""
    ident = network_id(session, name=name)
    # The network's own rows first, in foreign-key order: PostgreSQL refuses a cascade from
    # networks that would orphan lane_via rows mid-way. Shipments and later tables keyed on
    # networks.id go by ON DELETE CASCADE (make_engine turns SQLite's foreign keys on).
    for table in (VIA, LANES, NODES):
        session.execute(delete(table).where(table.c.network_id == ident))
    session.execute(delete(NETWORKS).where(NETWORKS.c.id == ident))


def lanes_via(session: Session, *, network_name: str, node_id: str) -> list[str]:
    """Ids of the lanes that pass `node_id` (a chokepoint or border), in lane order."""
    ident = network_id(session, name=network_name)
    rows = session.execute(
        select(LANES.c.id, LANES.c.position)
        .join(VIA, (VIA.c.network_id == LANES.c.network_id) & (VIA.c.lane_id == LANES.c.id))
        .where(LANES.c.network_id == ident, VIA.c.node_id == node_id)
        .order_by(LANES.c.position)
        .distinct()
    )
    return [r[0] for r in rows]


__all__ = [
    "NotFound",
    "SaveReport",
    "StoredNetwork",
    "delete_network",
    "get_network",
    "lane_row",
    "lanes_via",
    "list_networks",
    "node_row",
    "row_lane",
    "row_node",
    "save_network",
    "via_rows",
]
