"""A small fixed network for feed tests: the Pearl River Delta, Shanghai, Xiamen, LA."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.domain.records import Lane, Network, Node

SAMPLES = Path(__file__).parent / "samples"
PRD = ["CNYTN", "CNSHK", "CNNSA", "HKG", "SZX", "CAN"]


def make_network() -> Network:
    nodes = [
        Node(id="CNYTN", kind="port", country="CN", lat=22.57, lon=114.28),
        Node(id="CNSHK", kind="port", country="CN", lat=22.48, lon=113.91),
        Node(id="CNNSA", kind="port", country="CN", lat=22.75, lon=113.60),
        Node(id="HKG", kind="airport", country="HK", lat=22.3089, lon=113.915),
        Node(id="SZX", kind="airport", country="CN", lat=22.6393, lon=113.811),
        Node(id="CAN", kind="airport", country="CN", lat=23.3924, lon=113.2988),
        Node(id="CNXMN", kind="port", country="CN", lat=24.48, lon=118.08),
        Node(id="CNSHA", kind="port", country="CN", lat=30.63, lon=122.06),
        Node(id="USLAX", kind="port", country="US", lat=33.74, lon=-118.26),
        Node(id="SUEZ", kind="chokepoint", lat=30.58, lon=32.27),
        Node(id="NOWHERE", kind="warehouse", country="US"),
    ]
    lanes = [
        Lane(
            **{
                "id": "CNYTN-USLAX-SEA",
                "from": "CNYTN",
                "to": "USLAX",
                "mode": "sea",
                "transit_days": 16,
                "cost_per_unit": 55,
            }
        ),
    ]
    return Network(name="feeds-test", nodes=tuple(nodes), lanes=tuple(lanes))


@pytest.fixture(scope="session")
def network() -> Network:
    return make_network()
