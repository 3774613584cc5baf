"""When inbound freight becomes sellable: the plan of record's ETAs under expected delays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

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
