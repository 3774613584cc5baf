"""The ESG report: CO2e per lane, mode, market and month, in ISO 14083 terms (pure).

Transport activity in tonne-km, emissions in kg CO2e, emission intensity in g CO2e per
tonne-km, each row with the scope of its figures (WTW or TTW), its tank-to-wheel part beside
(ISO 14083 reports both), and whether its distance is the lane's own or estimated (great
circle x circuity). A leg counts in the month it departs (the
assignment's ETA when the plan has no leg times); the market is the destination's country.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twin.domain.plans import Assignment
from twin.domain.records import Shipment
from twin.emissions.legs import Emissions

ROW_FIELDS = (
    "lane",
    "mode",
    "market",
    "month",
    "tonnes",
    "distance_km",
    "tonne_km",
    "co2e_kg",
    "co2e_ttw_kg",
    "intensity_g_per_tkm",
    "scope",
    "intensity_from",
    "distance_estimated",
    "co2e_unknown_tonne_km",
)


@dataclass(frozen=True, slots=True)
class Shipped:
    """One part of a shipment's route as planned: its lanes, units and when each leg leaves."""

    shipment: str
    units: float
    lanes: tuple[str, ...]
    departs: tuple[datetime, ...]  # one per lane
    destination: str


def from_assignments(
    assignments: Iterable[Assignment], shipments: Mapping[str, Shipment]
) -> list[Shipped]:
    out = []
    for a in assignments:
        if not a.legs:
            continue
        dest = shipments[a.shipment].destination if a.shipment in shipments else a.legs[-1].to_node
        departs = tuple(leg.depart_at for leg in a.legs)
        out.append(Shipped(a.shipment, a.units, tuple(a.path), departs, dest))
    return out


def emissions_report(
    shipped: Iterable[Shipped],
    emissions: Emissions,
    shipments: Mapping[str, Shipment],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """Rows per (lane, mode, market, month) for legs departing in [start, end), with totals by
    mode, market and month and overall."""
    nodes = emissions.network.node_by_id
    acc: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for part in shipped:
        dest = nodes.get(part.destination)
        market = (dest.country if dest is not None else None) or "unknown"
        tonnes = emissions.tonnes(part.units, shipments.get(part.shipment))
        for lane_id, depart in zip(part.lanes, part.departs, strict=True):
            if not start <= depart < end:
                continue
            leg = emissions.leg(lane_id, tonnes)
            factor = emissions.factor(lane_id)
            key = (lane_id, leg.mode, market, depart.strftime("%Y-%m"))
            row = acc.setdefault(
                key,
                {
                    "lane": lane_id,
                    "mode": leg.mode,
                    "market": market,
                    "month": key[3],
                    "tonnes": 0.0,
                    "distance_km": leg.distance_km,
                    "tonne_km": 0.0,
                    "co2e_kg": 0.0,
                    "co2e_ttw_kg": 0.0,
                    "scope": leg.scope or ("lane" if leg.g_per_tkm is not None else None),
                    # Where the intensity came from: "lane", "class:<name>", "trade_lane:<name>".
                    "intensity_from": factor.intensity_from if factor is not None else "none",
                    "distance_estimated": leg.distance_estimated,
                    "co2e_unknown_tonne_km": 0.0,
                },
            )
            row["tonnes"] += tonnes
            row["tonne_km"] += leg.tonne_km or 0.0
            if leg.co2e_kg is None:
                row["co2e_unknown_tonne_km"] += leg.tonne_km or 0.0
            else:
                row["co2e_kg"] += leg.co2e_kg
            if leg.ttw_co2e_kg is None or row["co2e_ttw_kg"] is None:
                row["co2e_ttw_kg"] = None  # the lane's intensity has no published TTW part
            else:
                row["co2e_ttw_kg"] += leg.ttw_co2e_kg
    rows = [_finish(r) for _, r in sorted(acc.items())]
    return {
        "rows": rows,
        "by_mode": _total_by(rows, "mode"),
        "by_market": _total_by(rows, "market"),
        "by_month": _total_by(rows, "month"),
        "total": _total(rows),
    }


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    known_tkm = row["tonne_km"] - row["co2e_unknown_tonne_km"]
    row["intensity_g_per_tkm"] = (
        round(row["co2e_kg"] * 1000.0 / known_tkm, 4) if known_tkm > 0 else None
    )
    for key in ("tonnes", "tonne_km", "co2e_kg", "co2e_ttw_kg", "co2e_unknown_tonne_km"):
        if row[key] is not None:
            row[key] = round(row[key], 4)
    if row["distance_km"] is not None:
        row["distance_km"] = round(row["distance_km"], 1)
    return {key: row[key] for key in ROW_FIELDS}


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tkm = sum(r["tonne_km"] for r in rows)
    unknown = sum(r["co2e_unknown_tonne_km"] for r in rows)
    co2e = sum(r["co2e_kg"] for r in rows)
    ttw = sum(r["co2e_ttw_kg"] for r in rows if r["co2e_ttw_kg"] is not None)
    return {
        "tonne_km": round(tkm, 4),
        "co2e_kg": round(co2e, 4),
        "co2e_ttw_kg": round(ttw, 4),  # rows whose intensity publishes a TTW part
        "ttw_unknown_lanes": sorted(
            {r["lane"] for r in rows if r["co2e_ttw_kg"] is None and r["co2e_kg"]}
        ),
        "intensity_g_per_tkm": round(co2e * 1000.0 / (tkm - unknown), 4) if tkm > unknown else None,
        "co2e_unknown_tonne_km": round(unknown, 4),
        "scopes": sorted({r["scope"] for r in rows if r["scope"]}),
        "estimated_distance_lanes": sorted({r["lane"] for r in rows if r["distance_estimated"]}),
    }


def _total_by(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return [{key: name, **_total(group)} for name, group in sorted(groups.items())]
