"""Helpers for the monitor tests: a small network with chokepoints, and a signal-row builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from twin.domain.records import Lane, Network, Node

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def lane(
    id: str, a: str, b: str, days: float, cost: float, via: tuple[str, ...] = (), mode: str = "sea"
) -> Lane:
    return Lane(
        id=id, **{"from": a}, to=b, mode=mode, transit_days=days, cost_per_unit=cost, via=via
    )


def make_net() -> Network:
    return Network(
        name="t",
        nodes=(
            Node(id="CNSHA", kind="port", country="CN", lat=0.0, lon=0.0),
            Node(id="BAB_EL_MANDEB", kind="chokepoint", lat=0.0, lon=5.0),
            Node(id="SUEZ", kind="chokepoint", lat=0.0, lon=10.0),
            Node(id="PANAMA", kind="chokepoint"),
            Node(id="XCHOKE", kind="chokepoint"),
            Node(
                id="NLRTM",
                kind="port",
                country="NL",
                lat=0.0,
                lon=20.0,
                handling_days=1,
                clearance_days=1,
            ),
            Node(id="USLAX", kind="port", country="US"),
            Node(id="USNYC", kind="port", country="US", clearance_days=2),
            Node(id="NL-WH", kind="warehouse", country="NL", lat=1.0, lon=20.0),
        ),
        lanes=(
            lane("SHA-RTM", "CNSHA", "NLRTM", 8, 70, via=("BAB_EL_MANDEB", "SUEZ")),
            lane("SHA-RTM-CAPE", "CNSHA", "NLRTM", 12, 90),
            lane("SHA-LAX", "CNSHA", "USLAX", 16, 55),
            lane("RTM-WH", "NLRTM", "NL-WH", 1, 5, mode="road"),
        ),
    )


def row(
    target: str,
    metric: str,
    value: Any,
    dimension: str = "capacity",
    ago: timedelta = timedelta(0),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ts": T0 - ago,
        "source": "test",
        "dimension": dimension,
        "target": target,
        "metric": metric,
        "value": value,
        **extra,
    }
