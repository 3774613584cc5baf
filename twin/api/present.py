"""What a person on call reads, worked out from the domain records: alerts grouped by the cause
that explains them, routes in place names, and an incident's decision in money."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from twin.domain.alerts import Alert
from twin.domain.incidents import Incident
from twin.domain.records import DEFAULT_LATE_PENALTY, Network, Priority, Shipment
from twin.domain.stock import StockImpact


@dataclass(frozen=True)
class AlertGroup:
    """One cause: the alert nobody else explains (`root`) and the alerts its inhibition mutes
    (lane echoes of a closed chokepoint), transitively."""

    root: Alert
    affected: tuple[Alert, ...] = ()

    @property
    def affected_text(self) -> str:
        return affected_text(self.affected)


def affected_text(alerts: Sequence[Alert]) -> str:
    """ "136 lanes affected", "2 lanes and 1 port affected" (by the alerts' kinds), "" if none."""
    if not alerts:
        return ""
    # Places, not alerts: a lane with a security and a capacity echo is one lane affected.
    kinds = Counter(kind for kind, _ in {(a.kind or "alert", a.target) for a in alerts})
    parts = [
        f"{n} {kind}{'' if n == 1 else 's'}"
        for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    places = sum(kinds.values())
    more = f" ({len(alerts)} alerts)" if len(alerts) > places else ""
    return f"{words} affected{more}"


def _root_of(alert: Alert, by_id: Mapping[str, Alert]) -> Alert:
    seen = {alert.id}
    current = alert
    while current.inhibited_by and current.inhibited_by in by_id:
        current = by_id[current.inhibited_by]
        if current.id in seen:  # a cycle cannot come from the inhibitor, but never loop
            return alert
        seen.add(current.id)
    return current


def group_alerts(alerts: Iterable[Alert]) -> list[AlertGroup]:
    """Alerts grouped under the alert that inhibits them (following chains to the first cause),
    in the order the roots come. An alert whose inhibitor is not among `alerts` is its own cause."""
    listed = list(alerts)
    by_id = {a.id: a for a in listed}
    order: list[str] = []
    members: dict[str, list[Alert]] = {}
    for a in listed:
        root = _root_of(a, by_id)
        if root.id not in members:
            members[root.id] = []
            order.append(root.id)
        if root.id != a.id:
            members[root.id].append(a)
    return [AlertGroup(by_id[r], tuple(members[r])) for r in order]


def causes_by_severity(groups: Sequence[AlertGroup]) -> dict[str, list[AlertGroup]]:
    """Groups keyed by their root's severity ("critical", "warn", ...), critical first."""
    out: dict[str, list[AlertGroup]] = {"critical": [], "warn": []}
    for g in groups:
        out.setdefault(g.root.severity.value, []).append(g)
    return out


@dataclass(frozen=True)
class Hop:
    """One lane of a route as a person reads it: places passed, mode, days; the lane id kept
    for hovering."""

    lane: str
    places: tuple[str, ...]
    mode: str
    days: float

    @property
    def text(self) -> str:
        if not self.mode:
            return f"{self.lane} (not in the network)"
        return f"{' → '.join(self.places)}, {self.mode} {self.days:g} d"


def place_name(network: Network | None, node_id: str) -> str:
    if network is None:
        return node_id
    node = network.node_by_id.get(node_id)
    return (node.name or node.id) if node else node_id


def route_hops(network: Network | None, lanes: Sequence[str]) -> list[Hop]:
    """The route's lanes as hops with place names (lane ids unknown to the network stay ids)."""
    hops = []
    for lane_id in lanes:
        lane = network.lane_by_id.get(lane_id) if network else None
        if lane is None:
            hops.append(Hop(lane_id, (lane_id,), "", 0.0))
            continue
        ids = (lane.from_, *lane.via, lane.to)
        hops.append(
            Hop(
                lane_id,
                tuple(place_name(network, i) for i in ids),
                lane.mode.value,
                lane.transit_days,
            )
        )
    return hops


def route_text(network: Network | None, lanes: Sequence[str]) -> str:
    """ "Yantian → Cape of Good Hope → Rotterdam, sea 40 d; Rotterdam → Venlo FC, road 1 d"."""
    return "; ".join(h.text for h in route_hops(network, lanes))


@dataclass(frozen=True)
class Decision:
    """An incident's choice in money: doing nothing lets the expected lateness happen (priced
    at each shipment's late penalty per unit-day); the plan adds its freight cost instead."""

    currency: str
    late_unit_days: float  # expected late unit-days the plan avoids, i.e. what doing nothing adds
    late_price: float  # their price: what doing nothing costs over the plan
    plan_cost: float  # what the plan adds to freight cost (negative: it saves)
    unpriced: tuple[str, ...] = field(default=())  # shipments priced at a default penalty

    @property
    def net(self) -> float:
        """What approving saves over doing nothing (negative: the plan costs more than it saves)."""
        return self.late_price - self.plan_cost


def avoided_on(network: Network | None, lanes: Sequence[str], avoid: Iterable[str]) -> list[str]:
    """The avoided places (node or lane ids in `avoid`) the route passes, as place names."""
    wanted = set(avoid)
    found: list[str] = []
    for lane_id in lanes:
        lane = network.lane_by_id.get(lane_id) if network else None
        touched = [lane_id] if lane is None else [lane_id, lane.from_, *lane.via, lane.to]
        for ident in touched:
            name = place_name(network, ident)
            if ident in wanted and name not in found:
                found.append(name)
    return found


def decision(
    incident: Incident, shipments: Mapping[str, Shipment], currency: str = "USD"
) -> Decision:
    """The decision of `incident` in `currency`: shipments missing from `shipments` are priced
    at the standard priority's default penalty and listed in `unpriced`."""
    late_days = 0.0
    price = 0.0
    unpriced = []
    for change in incident.diff.changes:
        unit_days = change.late_days_avoided * change.units
        shipment = shipments.get(change.shipment)
        if shipment is None:
            unpriced.append(change.shipment)
            penalty = DEFAULT_LATE_PENALTY[Priority.standard]
        else:
            penalty = shipment.penalty_per_unit_day
        late_days += unit_days
        price += unit_days * penalty
    return Decision(
        currency=currency,
        late_unit_days=late_days,
        late_price=price,
        plan_cost=incident.diff.cost_delta,
        unpriced=tuple(unpriced),
    )


def money(value: float, currency: str, *, sign: bool = False) -> str:
    """ "USD 1,234" ("+USD 1,234" with sign), whole units: the console's way to show money."""
    text = f"{currency} {abs(value):,.0f}"
    if value < 0 and round(abs(value)) > 0:
        return f"−{text}"
    return f"+{text}" if sign and round(value) > 0 else text


def stock_by_warehouse(impacts: Iterable[StockImpact]) -> list[dict[str, float | int | str]]:
    """An incident's stock impact per warehouse: units, margin and added cost summed over its
    SKUs, days short the most of any SKU (the shelf that stays empty longest), margin saved
    the difference, most margin first."""
    rows: dict[str, dict[str, float | int | str]] = {}
    for i in impacts:
        row = rows.setdefault(
            i.warehouse,
            {
                "warehouse": i.warehouse,
                "skus": 0,
                "units_short_before": 0.0,
                "units_short_after": 0.0,
                "days_short_before": 0,
                "days_short_after": 0,
                "margin_at_risk_before": 0.0,
                "margin_at_risk_after": 0.0,
                "margin_saved": 0.0,
                "added_cost": 0.0,
            },
        )
        row["skus"] = int(row["skus"]) + 1
        for name in ("margin_saved", "added_cost"):
            row[name] = round(float(row[name]) + float(getattr(i, name)), 2)
        for key in ("units_short", "margin_at_risk"):
            for when in ("before", "after"):
                name = f"{key}_{when}"
                row[name] = round(float(row[name]) + float(getattr(i, name)), 2)
        for when in ("before", "after"):
            name = f"days_short_{when}"
            row[name] = max(int(row[name]), int(getattr(i, name)))
    return sorted(rows.values(), key=lambda r: (-float(r["margin_at_risk_before"]), r["warehouse"]))
