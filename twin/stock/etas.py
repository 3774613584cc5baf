"""When inbound freight becomes sellable: the plan of record's ETAs under expected delays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from twin.domain.plans import Routes
from twin.domain.records import Shipment

# One part of a shipment's route in the plan of record: (shipment, eta, lane ids).
RoutePart = tuple[str, datetime, tuple[str, ...]]


def expected_etas(
    parts: Iterable[RoutePart], delay_days: Mapping[str, float] | None = None
) -> dict[str, datetime]:
    """Each shipment's ETA shifted by the expected delay days of the lanes it uses; a shipment
    split over several routes is sellable in full when its last part arrives."""
    delays = delay_days or {}
    etas: dict[str, datetime] = {}
    for shipment, eta, lanes in parts:
        shifted = eta + timedelta(days=sum(max(delays.get(lane, 0.0), 0.0) for lane in lanes))
        if shipment not in etas or shifted > etas[shipment]:
            etas[shipment] = shifted
    return etas


def departures(
    shipments: Iterable[Shipment], routes: Mapping[str, Routes] | None = None
) -> dict[str, datetime]:
    """When each shipment leaves its origin: the first leg of its planned routes, else (not
    planned yet) when it is ready. An unserved shipment (planned, no route) does not leave."""
    out: dict[str, datetime] = {}
    for shipment in shipments:
        planned = (routes or {}).get(shipment.id)
        if planned is None:
            out[shipment.id] = shipment.ready_at
            continue
        starts = [a.legs[0].depart_at for a in planned if a.legs]
        if starts:
            out[shipment.id] = min(starts)
        elif planned:
            out[shipment.id] = shipment.ready_at
    return out
