"""The scenario library in scenarios/: every file validates, cites its sources, and warns first
where the real world gave warning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from twin.files.networks import bundled_networks
from twin.files.scenarios import read_scenario_document, scenario_files
from twin.replay.scenario import LoadedScenario, load_scenario, parse_scenario

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
FILES = scenario_files([LIBRARY])
NAMES = [p.stem for p in FILES]

# Events the world announced or forecast before freight suffered: the first signal must come
# no later than the first effect. (Ever Given and Yantian gave no warning.)
WARNED = {
    "red-sea-2024",
    "panama-drought-2023",
    "us-east-gulf-strike-2024",
    "us-de-minimis-2025",
    "typhoon-prd",
    "whatif-malacca-closure",
    "whatif-la-lb-closure-week",
}
REQUIRED = {
    "ever-given-2021",
    "yantian-covid-2021",
    "red-sea-2024",
    "panama-drought-2023",
    "us-east-gulf-strike-2024",
    "us-de-minimis-2025",
    "typhoon-prd",
    "whatif-malacca-closure",
    "whatif-la-lb-closure-week",
    "felixstowe-strike-2022",
    "shanghai-lockdown-2022",
    "typhoon-muifa-2022",
}

needs_demo = pytest.mark.skipif(
    "demo" not in bundled_networks(),
    reason="the bundled demo network (twin/data/networks/demo.yaml) is not built yet; "
    "targets are checked against it once it exists",
)


def test_library_holds_the_required_scenarios() -> None:
    assert REQUIRED <= set(NAMES)
    assert len(NAMES) >= 12


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_schema_and_cross_checks_without_network(path: Path) -> None:
    scenario, warnings = parse_scenario(read_scenario_document(path), str(path))
    assert scenario.name == path.stem
    assert warnings == []
    assert scenario.effects, "a scenario without effects replays nothing"
    assert scenario.signals
    assert scenario.sources and scenario.description.strip()
    # Short enough to replay quickly.
    assert scenario.window <= timedelta(days=190)
    assert scenario.ticks <= 400
    assert all(e.until is not None and e.until <= scenario.end for e in scenario.effects)


@needs_demo
@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_validates_against_the_demo_network(path: Path) -> None:
    loaded = load_scenario(path)
    assert isinstance(loaded, LoadedScenario)
    assert loaded.network.name == "demo"
    assert loaded.warnings == []
    known = loaded.network.node_by_id.keys() | loaded.network.lane_by_id.keys()
    assert {e.target for e in loaded.scenario.effects} <= known


@pytest.mark.parametrize("path", [p for p in FILES if p.stem in WARNED], ids=lambda p: p.stem)
def test_warning_comes_before_the_damage(path: Path) -> None:
    scenario, _ = parse_scenario(read_scenario_document(path), str(path))
    assert min(s.at for s in scenario.signals) < min(e.at for e in scenario.effects)


def test_published_figures_are_encoded() -> None:
    """Spot checks of figures from docs/scenarios.md against the files."""

    def load(name: str):  # type: ignore[no-untyped-def]
        path = LIBRARY / f"{name}.yaml"
        return parse_scenario(read_scenario_document(path), str(path))[0]

    ever_given = load("ever-given-2021")
    closure = next(e for e in ever_given.effects if e.close)
    assert (closure.target, closure.at.day, closure.until.day) == ("SUEZ", 23, 29)
    assert any(s.metric == "vessels_waiting" and s.value == 453 for s in ever_given.signals)

    yantian = load("yantian-covid-2021")
    # 30% then 75% of Yantian's normal flow in the replay (tests/replay/test_queues.py).
    assert [e.throughput_units_per_day for e in yantian.effects] == [4.6, 11.5]

    strike = load("us-east-gulf-strike-2024")
    closed = {e.target for e in strike.effects if e.close}
    assert closed == {"USNYC", "USSAV", "USHOU"}
    assert sum(s.value for s in strike.signals if s.metric == "vessels_waiting") == 54

    red_sea = load("red-sea-2024")
    (effect,) = red_sea.effects
    # The carriers' answer, not a strait closed to the end: services sail round the Cape.
    assert (effect.target, effect.carriers_divert) == ("BAB_EL_MANDEB", "CAPE_OF_GOOD_HOPE")
    assert effect.at.day == 16 and effect.until == red_sea.end

    felixstowe = load("felixstowe-strike-2022")
    (strike_days,) = felixstowe.effects
    assert strike_days.target == "GBFXT" and strike_days.close
    assert (strike_days.until - strike_days.at).days == 9  # 21-29 August, both days in full
    announced = min(felixstowe.signals, key=lambda s: s.at)
    assert (announced.at.month, announced.at.day, announced.value) == (8, 5, 0)

    shanghai = load("shanghai-lockdown-2022")
    assert {(e.target, e.kind, e.amount) for e in shanghai.effects} == {
        ("CNSHA", "delay_days", 4.2),  # idle 8.3 d against about 4.1
        ("PVG", "capacity_pct", 34),  # air capacity -66%
    }

    muifa = load("typhoon-muifa-2022")
    assert {e.target for e in muifa.effects if e.close} == {"CNNGB", "CNSHA", "PVG"}

    de_minimis = load("us-de-minimis-2025")
    rules = [s for s in de_minimis.signals if s.metric == "rule_change" and s.value > 0]
    assert any(
        s.effective_at is not None and s.effective_at.month == 5 and s.effective_at.day == 2
        for s in rules
    )
    assert {e.clearance_days for e in de_minimis.effects if e.target == "JFK"} >= {7}


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.yaml")), ids=lambda p: p.stem)
def test_sources_name_their_article(path: Path) -> None:
    """A real scenario's sources link the article itself, not a site's home page."""
    scenario = parse_scenario(read_scenario_document(path), str(path))[0]
    if scenario.name.startswith("whatif-"):
        return  # synthetic: they cite data services
    for source in scenario.sources:
        assert urlsplit(source.url).path.strip("/"), (scenario.name, source.url)
