"""CAP areas given by geocodes (SAME/FIPS counties, UGC zones, ISO 3166) reach the nodes that
carry them; an alert that reaches no node says so, naming its geocodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.domain.records import Network, Node
from twin.feeds.ingest import ingest_bytes
from twin.files.networks import load_network
from twin.network.areas import NodeLocator, geocode_key

SAMPLE = Path(__file__).parent / "cap" / "nws-hurricane-warning-harris.xml"


@pytest.fixture(scope="module")
def demo() -> Network:
    return load_network("demo")[0]


def test_nws_hurricane_warning_by_geocode_reaches_the_houston_port_and_warehouse(
    demo: Network,
) -> None:
    # Before: 0 signals, 0 problems, 0 warnings (geocodes were not resolved).
    result = ingest_bytes(SAMPLE.read_bytes(), SAMPLE.name, demo)
    assert result.problems == []
    frame = result.frame.sort_values("target")
    assert frame["target"].tolist() == ["US-HOU2", "USHOU"]
    # Extreme x Expected x Likely = 1.0 x 0.8 x 0.8
    assert frame["value"].tolist() == pytest.approx([0.64, 0.64])
    assert set(frame["metric"]) == {"cap_alert"}
    assert frame["extras"].iloc[0]["area_desc"] == "Inland Harris"
    assert frame["expected_until"].iloc[0].isoformat() == "2024-07-08T05:15:00+00:00"


def test_the_demo_network_carries_harris_county_geocodes(demo: Network) -> None:
    codes = {n.id: dict(n.geocodes) for n in demo.nodes if n.geocodes}
    assert codes == {
        "USHOU": {"SAME": "048201", "UGC": "TXZ213"},
        "US-HOU2": {"SAME": "048201", "UGC": "TXZ213"},
    }


def test_an_alert_no_node_carries_is_a_warning_naming_its_geocodes(demo: Network) -> None:
    text = SAMPLE.read_text().replace("048201", "012086").replace("TXZ213", "FLZ173")
    result = ingest_bytes(text.encode(), "miami.xml", demo)
    assert result.frame.empty
    (problem,) = result.problems
    assert problem.severity == "warning" and problem.field == "area"
    assert "SAME 012086" in problem.message and "UGC FLZ173" in problem.message
    assert "holds no node of the network" in problem.message
    # without a network, geocodes cannot be placed: said, not dropped
    alone = ingest_bytes(SAMPLE.read_bytes(), SAMPLE.name, None)
    assert alone.frame.empty and "need a network" in alone.problems[0].message


def test_scheme_spellings_match() -> None:
    assert geocode_key("FIPS6", "48201") == geocode_key("SAME", "048201") == ("SAME", "048201")
    assert geocode_key("ISO 3166-2", "us-tx") == ("ISO3166", "US-TX")
    assert geocode_key("ugc", " txz213 ") == ("UGC", "TXZ213")
    network = Network(
        name="g",
        nodes=(
            Node(id="A", kind="port", country="US", geocodes={"ISO3166-2": "US-TX"}),
            Node(id="B", kind="port", country="MX"),
            Node(id="C", kind="port", geocodes={"EMMA_ID": ["XY123", "XY124"]}),
        ),
        lanes=(),
    )
    locator = NodeLocator(network)
    assert locator.with_geocodes([("ISO 3166-1", "US")]) == ["A"]  # a country from `country`
    assert locator.with_geocodes([("iso3166", "US-TX"), ("ISO3166", "MX")]) == ["A", "B"]
    assert locator.with_geocodes([("EMMA_ID", "XY124")]) == ["C"]  # any scheme a feed uses
    assert locator.with_geocodes([("SAME", "999999")]) == []


def test_shapes_win_over_geocodes_in_the_same_area(demo: Network) -> None:
    # A polygon around the port only: the warehouse shares the county but is outside it.
    polygon = "<polygon>29.70,-95.33 29.70,-95.24 29.79,-95.24 29.79,-95.33 29.70,-95.33</polygon>"
    text = SAMPLE.read_text().replace("<geocode>", polygon + "<geocode>", 1)
    result = ingest_bytes(text.encode(), "poly.xml", demo)
    assert result.frame["target"].tolist() == ["USHOU"]


def test_geocodes_round_trip_through_the_network_file(tmp_path: Path, demo: Network) -> None:
    from twin.files.networks import write_network

    out = tmp_path / "net.yaml"
    write_network(demo, out)
    again, _ = load_network(out)
    assert again.node_by_id["USHOU"].geocodes == demo.node_by_id["USHOU"].geocodes
    assert "geocodes: {SAME: 048201, UGC: TXZ213}" in out.read_text()  # 8: not octal


def test_unquoted_numeric_geocodes_are_refused(tmp_path: Path) -> None:
    from twin.domain.problems import InputError

    path = tmp_path / "net.yaml"
    path.write_text(
        "name: n\nnodes:\n  - {id: A, kind: port, lat: 1, lon: 2, geocodes: {SAME: 012011}}\n"
        "lanes: []\n"
    )
    with pytest.raises(InputError, match="quote it"):
        load_network(path)
