"""CO2e on every leg: distances, intensities, densities, plan totals, the carbon price, the
table's validation. Expected numbers are worked by hand from the cited table entries."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from twin.domain.plans import Assignment, Leg
from twin.domain.problems import InputError
from twin.domain.records import Lane, Network, Node, Shipment
from twin.emissions import Emissions, lane_factor, tonnes_per_unit
from twin.files.emissions import load_emission_table
from twin.files.networks import load_network
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, plan

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TABLE = load_emission_table()
# A sea lane between A (China) and B (the Netherlands) is on the Asia-North Europe trade lane:
# Clean Cargo's 37.9 g CO2 per TEU-km at nominal capacity / 0.70 utilisation / 10 t per TEU
# x 1.15 distance factor = TTW; WTT in DESNZ's container-ship proportion 2.87 / 12.66.
ASIA_NEUR_TTW = 37.9 / 0.70 / 10 * 1.15  # 6.2264 g CO2e per tonne-km
ASIA_NEUR_WTW = ASIA_NEUR_TTW * (12.66 + 2.87) / 12.66  # 7.6379 g CO2e per tonne-km


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """An independent great circle (mean Earth radius 6371.0088 km), written out by hand."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def net(*lanes: Lane, unit: str = "cbm") -> Network:
    nodes = (
        Node(id="A", kind="port", country="CN", lat=31.2, lon=121.5),
        Node(id="B", kind="port", country="NL", lat=51.9, lon=4.1),
        Node(id="C", kind="warehouse", country="NL", lat=51.4, lon=6.2),
    )
    return Network(name="t", unit=unit, nodes=nodes, lanes=lanes)


def lane(ident: str, frm: str, to: str, mode: str, cost: float = 10.0, **extra: object) -> Lane:
    return Lane.model_validate(
        {"id": ident, "from": frm, "to": to, "mode": mode, "transit_days": 1,
         "cost_per_unit": cost, **extra}
    )  # fmt: skip


def test_the_bundled_table_cites_every_intensity() -> None:
    for mode, entry in TABLE.modes.items():
        for name, cls in entry.classes.items():
            if cls.intensity() is not None:
                source = TABLE.source(cls.source)
                assert source is not None, (mode, name)
                assert source.year >= 2019 and str(source.year) in source.title, source.id
                page = source.url or source.quoted_by
                assert page and page.startswith("https://"), source.id
                # Where in the document: a table, or the named dataset when the page gives none.
                where = ("Table", "Intensity Factors", "conversion factors")
                assert any(w in source.title for w in where), source.id
    # The values as the cited source prints them (g CO2e per tonne-km): WTW = TTW + WTT of
    # one DESNZ 2026 row (12.66 + 2.87; 531.30 + 135.16; 79.26 + 18.23; 25.83 + 6.91).
    assert TABLE.modes["sea"].classes["container_8000_teu"].intensity() == (15.53, "wtw")
    assert TABLE.modes["air"].classes["long_haul"].intensity() == (666.46, "wtw")
    assert TABLE.modes["road"].classes["hgv_artic"].intensity() == (97.49, "wtw")
    assert TABLE.modes["rail"].classes["freight_train"].intensity() == (32.74, "wtw")
    # The GLEC v3.0 freighter figure that could be read is TTW only, and says so.
    assert TABLE.modes["air"].classes["freighter_over_1500km_glec"].intensity() == (498, "ttw")


def test_every_mode_defaults_to_a_well_to_wheel_intensity() -> None:
    # Issue 19, condition 1: WTW defaults for sea, air, road and rail.
    for mode, entry in TABLE.modes.items():
        found = entry.classes[entry.default_class].intensity()
        assert found is not None and found[1] == "wtw", mode
        cls = entry.classes[entry.default_class]
        assert cls.ttw is not None and cls.wtt is not None, mode  # both halves published
    # Vessel classes: the bigger the ship, the lower the intensity per tonne-km.
    sea = TABLE.modes["sea"].classes
    by_size = ["container_0_999_teu", "container_1000_1999_teu", "container_2000_2999_teu",
               "container_3000_4999_teu", "container_8000_teu"]  # fmt: skip
    values = [sea[name].intensity()[0] for name in by_size]  # type: ignore[index]
    assert values == sorted(values, reverse=True)


def test_lane_distance_is_its_own_else_great_circle_times_circuity() -> None:
    own = lane("AB-SEA", "A", "B", "sea", distance_km=19610)
    bare = lane("BC-ROAD", "B", "C", "road")
    network = net(own, bare)
    f = lane_factor(own, network, TABLE)
    assert (f.distance_km, f.distance_estimated) == (19610, False)
    g = lane_factor(bare, network, TABLE)
    assert g.distance_estimated
    assert g.distance_km == pytest.approx(haversine_km(51.9, 4.1, 51.4, 6.2) * 1.25, rel=1e-9)


def test_intensity_lane_override_then_class_then_mode_default() -> None:
    a = lane("AB-AIR", "A", "B", "air", distance_km=9000)
    b = lane("AB-RAIL", "A", "B", "rail", distance_km=11000, co2e_g_per_tkm=20)
    c = lane("AB-SEA", "A", "B", "sea", distance_km=19000, emission_class="nope")
    network = net(a, b, c)
    assert lane_factor(a, network, TABLE).g_per_tkm == 666.46  # the air default, WTW
    assert lane_factor(a, network, TABLE).ttw_g_per_tkm == 531.30  # its TTW part
    assert lane_factor(b, network, TABLE).intensity_from == "lane"
    assert lane_factor(b, network, TABLE).g_per_tkm == 20
    assert lane_factor(c, network, TABLE).g_per_tkm is None  # an unknown class is not guessed


def test_a_sea_lane_on_a_trade_lane_uses_its_intensity_unless_the_lane_says_otherwise() -> None:
    on_lane = lane("AB-SEA", "A", "B", "sea", distance_km=19610)
    back = lane("BA-SEA", "B", "A", "sea", distance_km=19610)  # the other way: same trade lane
    named = lane("AB-SEA-X", "A", "B", "sea", distance_km=19610, emission_class="container_average")
    own = lane("AB-SEA-Y", "A", "B", "sea", distance_km=19610, co2e_g_per_tkm=9)
    feeder = lane("BC-SEA", "B", "C", "sea", distance_km=200)  # NL to NL: on no trade lane
    air = lane("AB-AIR", "A", "B", "air", distance_km=9000)  # trade lanes are the sea's
    network = net(on_lane, back, named, own, feeder, air)
    for sea in (on_lane, back):
        f = lane_factor(sea, network, TABLE)
        assert f.intensity_from == "trade_lane:asia_north_europe" and f.scope == "wtw"
        assert f.g_per_tkm == pytest.approx(ASIA_NEUR_WTW)
        assert f.ttw_g_per_tkm == pytest.approx(ASIA_NEUR_TTW)
    assert lane_factor(named, network, TABLE).intensity_from == "class:container_average"
    assert lane_factor(named, network, TABLE).g_per_tkm == pytest.approx(16.12 + 3.65)
    assert lane_factor(own, network, TABLE).g_per_tkm == 9
    assert lane_factor(feeder, network, TABLE).intensity_from == "class:container_8000_teu"
    assert lane_factor(air, network, TABLE).intensity_from == "class:long_haul"


def test_a_trade_lane_region_may_name_a_port_instead_of_a_country() -> None:
    # France has Channel and Mediterranean ports: only its Channel ports are North Europe.
    nodes = (
        Node(id="CNSHA", kind="port", country="CN", lat=31.4, lon=121.5),
        Node(id="FRLEH", kind="port", country="FR", lat=49.5, lon=0.1),
        Node(id="FRMRS", kind="port", country="FR", lat=43.3, lon=5.4),
    )
    lanes = (lane("L1", "CNSHA", "FRLEH", "sea", distance_km=1), lane("L2", "CNSHA", "FRMRS", "sea",
             distance_km=1))  # fmt: skip
    network = Network(name="t", unit="cbm", nodes=nodes, lanes=lanes)
    assert lane_factor(lanes[0], network, TABLE).intensity_from == "trade_lane:asia_north_europe"
    assert lane_factor(lanes[1], network, TABLE).intensity_from == "class:container_8000_teu"


def test_the_bundled_trade_lanes_cite_every_figure() -> None:
    assert TABLE.trade_lanes, "the bundled table has a trade lane"
    for name, trade in TABLE.trade_lanes.items():
        for figure in (trade.co2_g_per_teu_km, trade.utilisation, trade.tonnes_per_teu,
                       trade.distance_factor):  # fmt: skip
            source = TABLE.source(figure.source)
            assert source is not None, (name, figure.source)
            page = source.url or source.quoted_by
            assert page and page.startswith(("https://", "http://")), source.id
    # The figures as their sources print them (docs/emissions.md, "Trade lanes").
    asia = TABLE.trade_lanes["asia_north_europe"]
    assert (asia.co2_g_per_teu_km.value, asia.utilisation.value) == (37.9, 0.70)
    assert (asia.tonnes_per_teu.value, asia.distance_factor.value) == (10, 1.15)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("utilisation", "value: 0.70", "utilisation"),
        ("distance_factor", "value: 1.15", "distance_factor"),
    ],
)
def test_a_bad_trade_lane_figure_is_refused_naming_the_field(
    tmp_path: Path, path: str, value: str, field: str
) -> None:
    text = (Path(__file__).resolve().parents[2] / "twin/data/emission_intensities.yaml").read_text()
    bad = tmp_path / "t.yaml"
    bad.write_text(text.replace(value, "value: 0.5" if field == "distance_factor" else "value: 7"))
    with pytest.raises(InputError) as err:
        load_emission_table(bad)
    assert f"trade_lanes.asia_north_europe.{field}" in str(err.value) and str(bad) in str(err.value)


def test_a_trade_lane_needs_a_wtt_class_with_both_halves(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "twin/data/emission_intensities.yaml").read_text()
    bad = tmp_path / "t.yaml"
    bad.write_text(text.replace("wtt_as_class: container_8000_teu", "wtt_as_class: nope"))
    with pytest.raises(InputError) as err:
        load_emission_table(bad)
    assert "wtt_as_class 'nope'" in str(err.value)


def test_tonnes_from_cbm_by_density_and_from_mass_units() -> None:
    assert tonnes_per_unit("cbm", 167) == pytest.approx(0.167)
    assert tonnes_per_unit("t", 167) == 1.0
    assert tonnes_per_unit("kg", 167) == 0.001
    with pytest.raises(ValueError, match="pallets"):
        tonnes_per_unit("pallets", 167)


def test_assignment_co2e_by_hand_with_shipment_density() -> None:
    sea = lane("AB-SEA", "A", "B", "sea", distance_km=19610)
    road = lane("BC-ROAD", "B", "C", "road", distance_km=200)
    rail = lane("AC-RAIL", "A", "C", "rail", distance_km=11000)
    odd = lane("AC-RAIL-X", "A", "C", "rail", distance_km=11000, emission_class="maglev")
    network = net(sea, road, rail, odd)
    em = Emissions(network, TABLE)
    heavy = Shipment(
        id="S", origin="A", destination="C", units=10, ready_at=T0, due_at=T0, kg_per_cbm=250
    )
    legs = em.path(["AB-SEA", "BC-ROAD"], 10, heavy)
    # 10 cbm x 250 kg = 2.5 t; sea 2.5 x 19,610 x 7.638 g; road 2.5 x 200 x 97.49 g (WTW).
    assert legs[0].co2e_kg == pytest.approx(2.5 * 19610 * ASIA_NEUR_WTW / 1000)
    assert legs[1].co2e_kg == pytest.approx(2.5 * 200 * 97.49 / 1000)
    assert legs[0].tonne_km == pytest.approx(2.5 * 19610)
    default = em.path(["AB-SEA"], 10, None)[0]  # the table's 167 kg per cbm
    assert default.co2e_kg == pytest.approx(1.67 * 19610 * ASIA_NEUR_WTW / 1000)
    assert em.path(["AC-RAIL"], 10, heavy)[0].co2e_kg == pytest.approx(2.5 * 11000 * 32.74 / 1000)
    assert em.path(["AC-RAIL-X"], 10, heavy)[0].co2e_kg is None  # unknown class, never guessed


def test_plan_totals_and_unknown_lanes_are_listed() -> None:
    sea = lane("AB-SEA", "A", "B", "sea", distance_km=1000)
    rail = lane("BC-RAIL", "B", "C", "rail", distance_km=100, emission_class="maglev")
    network = net(sea, rail)
    legs = (
        Leg(lane="AB-SEA", from_node="A", to_node="B", depart_at=T0, arrive_at=T0),
        Leg(lane="BC-RAIL", from_node="B", to_node="C", depart_at=T0, arrive_at=T0),
    )
    a = Assignment(shipment="S", units=2, legs=legs, eta=T0, cost=1.0, late_days=0)
    from twin.domain.plans import CostBreakdown, Plan, PlanStatus

    p = Plan(status=PlanStatus.optimal, objective=1.0, cost=CostBreakdown(), assignments=(a,))
    pe = Emissions(network, TABLE).plan(p, {})
    assert pe.total_kg == pytest.approx(2 * 0.167 * 1000 * ASIA_NEUR_WTW / 1000)
    assert pe.unknown_lanes == ["BC-RAIL"]
    assert pe.scopes() == ["wtw"]


def test_report_gives_the_tank_to_wheel_part_beside_each_figure() -> None:
    from twin.emissions.report import Shipped, emissions_report

    sea = lane("AB-SEA", "A", "B", "sea", distance_km=1000)
    own = lane("BC-ROAD", "B", "C", "road", distance_km=100, co2e_g_per_tkm=60)
    em = Emissions(net(sea, own), TABLE)
    part = Shipped("S", 10, ("AB-SEA", "BC-ROAD"), (T0, T0), "C")
    doc = emissions_report([part], em, {}, T0, datetime(2024, 2, 1, tzinfo=UTC))
    rows = {r["lane"]: r for r in doc["rows"]}
    # 10 cbm x 167 kg = 1.67 t; sea 1,670 t km x 7.638 g WTW, of which 6.226 g TTW (the
    # report rounds kg to 4 decimals).
    assert rows["AB-SEA"]["co2e_kg"] == pytest.approx(1670 * ASIA_NEUR_WTW / 1000, abs=1e-4)
    assert rows["AB-SEA"]["co2e_ttw_kg"] == pytest.approx(1670 * ASIA_NEUR_TTW / 1000, abs=1e-4)
    # Each row says where its intensity came from.
    assert rows["AB-SEA"]["intensity_from"] == "trade_lane:asia_north_europe"
    assert rows["BC-ROAD"]["intensity_from"] == "lane"
    # A lane's own intensity has no published TTW part: unknown, never split by guess.
    assert rows["BC-ROAD"]["co2e_ttw_kg"] is None and rows["BC-ROAD"]["scope"] == "lane"
    assert doc["total"]["co2e_ttw_kg"] == pytest.approx(1670 * ASIA_NEUR_TTW / 1000, abs=1e-3)
    assert doc["total"]["ttw_unknown_lanes"] == ["BC-ROAD"]


def test_a_carbon_price_moves_freight_to_the_cleaner_lane() -> None:
    # Two parallel lanes A -> B: a cheap dirty one and a dearer clean one (lane intensities).
    dirty = lane("AB-AIR", "A", "B", "air", cost=10.0, distance_km=9000, co2e_g_per_tkm=500)
    clean = lane("AB-SEA", "A", "B", "sea", cost=30.0, distance_km=9000, co2e_g_per_tkm=10)
    network = net(dirty, clean)
    em = Emissions(network, TABLE)
    due = datetime(2024, 1, 11, tzinfo=UTC)  # no lateness: the objective is transport + carbon
    ship = Shipment(id="S", origin="A", destination="B", units=5, ready_at=T0, due_at=due)
    # The adder by hand: 9,000 km x 500 g x 0.167 t per cbm = 751.5 kg per cbm; at USD 100/t
    # that is USD 75.15 per cbm on the dirty lane, USD 1.503 on the clean one.
    adder = em.carbon_cost_per_unit(100.0)
    assert adder["AB-AIR"] == pytest.approx(9000 * 500 * 0.167 / 1e6 * 100)
    assert adder["AB-SEA"] == pytest.approx(9000 * 10 * 0.167 / 1e6 * 100)

    def route(price: float) -> tuple[str, float]:
        req = PlanRequest(now=T0, shipments=(ship,), lane_cost_adder=em.carbon_cost_per_unit(price))
        made = plan(NetworkView(network), req)
        assert made.status.value == "optimal"
        (assignment,) = made.assignments
        return assignment.path[0], made.objective or 0.0

    assert route(0.0)[0] == "AB-AIR"
    path, objective = route(100.0)
    assert path == "AB-SEA"  # 30 + 1.503 < 10 + 75.15
    assert objective == pytest.approx(5 * (30 + adder["AB-SEA"]))
    assert em.carbon_cost_per_unit(0.0) == {}


def test_a_bad_table_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    text = (Path(__file__).resolve().parents[2] / "twin/data/emission_intensities.yaml").read_text()
    bad.write_text(text.replace("source: glec-v3.0-t1", "source: nowhere"))
    with pytest.raises(InputError) as err:
        load_emission_table(bad)
    assert "nowhere" in str(err.value) and str(bad) in str(err.value)


def test_demo_lanes_all_carry_their_distance() -> None:
    network, _ = load_network("demo")
    assert all(lane.distance_km for lane in network.lanes)
    # The Suez service sails 10,589 nm (docs/networks.md); the Cape one is longer.
    lanes = network.lane_by_id
    assert (
        lanes["CNSHA-NLRTM-SUEZ"].distance_km == round(10589 * 1.852)
        or abs(lanes["CNSHA-NLRTM-SUEZ"].distance_km - 10589 * 1.852) < 2
    )
    assert lanes["CNSHA-NLRTM-CAPE"].distance_km > lanes["CNSHA-NLRTM-SUEZ"].distance_km


def test_twin_toml_emissions_settings_are_validated() -> None:
    from twin.domain.settings import TwinConfig

    config = TwinConfig.from_mapping({"emissions": {"carbon_price_per_t": 80}})
    assert config.emissions.carbon_price_per_t == 80 and config.emissions.table is None
    assert TwinConfig.from_mapping({}).emissions.carbon_price_per_t == 0
    with pytest.raises(InputError) as err:
        TwinConfig.from_mapping({"emissions": {"carbon_price_per_t": -1}})
    assert "carbon_price_per_t" in str(err.value)
