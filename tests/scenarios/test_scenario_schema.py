"""Scenario files that do not validate: every problem at once, each naming file, entry and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from twin.domain.problems import InputError, Problem
from twin.replay.scenario import Scenario, ScenarioEffect, load_scenario, parse_scenario

GOOD: dict[str, Any] = {
    "name": "mini-closure",
    "description": "Suez shut for a week.",
    "network": "mini.yaml",
    "shipments": {"generate": {"per_day": 5, "seed": 1}},
    "start": "2024-01-01T00:00:00Z",
    "end": "2024-02-01T00:00:00Z",
    "tick": "6h",
    "seed": 3,
    "signals": [
        {
            "at": "2024-01-04T00:00:00Z",
            "dimension": "security",
            "target": "SUEZ",
            "metric": "advisory_level",
            "value": 3,
        },
    ],
    "effects": [
        {
            "at": "2024-01-05T00:00:00Z",
            "until": "2024-01-12T00:00:00Z",
            "target": "SUEZ",
            "close": True,
        },
        {"at": "2024-01-05T00:00:00Z", "target": "NLRTM", "clearance_days": 2},
    ],
    "sources": [{"title": "example", "url": "https://example.org/"}],
}


def write(folder: Path, doc: Any, name: str = "mini-closure.yaml") -> Path:
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    return caught.value.problems


def located(problems: list[Problem]) -> set[tuple[str, str | None]]:
    return {(p.where, p.field) for p in problems}


@pytest.fixture
def folder(tmp_path: Path, mini_network_file: Path) -> Path:
    return mini_network_file.parent  # the scenario names `mini.yaml` beside it


def with_effect(effect: dict[str, Any]) -> dict[str, Any]:
    return {**GOOD, "effects": [GOOD["effects"][0], effect]}


def test_good_file_loads_with_defaults_filled(folder: Path) -> None:
    loaded = load_scenario(write(folder, GOOD))
    scenario = loaded.scenario
    assert loaded.warnings == []
    assert scenario.tick.total_seconds() == 6 * 3600 and scenario.ticks == 124
    # `until` defaults to the end; `source` to "scenario".
    assert scenario.effects[1].until == scenario.end
    assert [s.source for s in scenario.signal_records()] == ["scenario"]
    assert [e.kind for e in scenario.effects] == ["close", "clearance_days"]
    assert scenario.effects[0].amount == 0.0 and scenario.effects[1].amount == 2.0
    at = datetime(2024, 1, 6, tzinfo=UTC)
    assert [e.target for e in scenario.effects_at(at)] == ["SUEZ", "NLRTM"]
    assert scenario.shipment_seed == 1 and scenario.shipment_days == 31


def test_signal_ts_is_read_as_at(folder: Path) -> None:
    signal = {**GOOD["signals"][0]}
    signal["ts"] = signal.pop("at")
    loaded = load_scenario(write(folder, {**GOOD, "signals": [signal]}))
    assert loaded.scenario.signals[0].at == datetime(2024, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("effect", "where", "field", "words"),
    [
        (
            {"at": "2024-01-05T00:00:00Z", "target": "USLAX", "close": True},
            "effects[1]",
            "target",
            "not a node or lane",
        ),
        (
            {
                "at": "2024-01-05T00:00:00Z",
                "until": "2024-01-04T00:00:00Z",
                "target": "SUEZ",
                "close": True,
            },
            "effects[1]",
            "until",
            "not after at",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "close": True, "delay_days": 2},
            "effects[1]",
            "close, delay_days",
            "exactly one of",
        ),
        ({"at": "2024-01-05T00:00:00Z", "target": "SUEZ"}, "effects[1]", None, "exactly one of"),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "capacity_pct": 150},
            "effects[1]",
            "capacity_pct",
            "less than or equal to 100",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "delay_days": 0},
            "effects[1]",
            "delay_days",
            "greater than 0",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "close": False},
            "effects[1]",
            "close",
            "must be true",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "close": True, "reason": "x"},
            "effects[1]",
            "reason",
            "Extra inputs",
        ),
        (
            {"at": "2023-11-01T00:00:00Z", "target": "SUEZ", "close": True},
            "effects[1]",
            "at",
            "outside",
        ),
        (
            {"at": "2024-01-05T00:00:00", "target": "SUEZ", "close": True},
            "effects[1]",
            "at",
            "no zone",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "YTN-RTM-SUEZ", "carriers_divert": "SUEZ"},
            "effects[1]",
            "target",
            "chokepoint or border",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "carriers_divert": "NLRTM"},
            "effects[1]",
            "carriers_divert",
            "not another chokepoint",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "carriers_divert": "SUEZ"},
            "effects[1]",
            "carriers_divert",
            "not another chokepoint",
        ),
        # A throughput queues freight arriving at a node: not at a chokepoint, not on a lane.
        (
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "throughput_units_per_day": 50},
            "effects[1]",
            "throughput_units_per_day",
            "no node freight stops at",
        ),
        (
            {
                "at": "2024-01-05T00:00:00Z",
                "target": "YTN-RTM-SUEZ",
                "throughput_units_per_day": 50,
            },
            "effects[1]",
            "throughput_units_per_day",
            "no node freight stops at",
        ),
        (
            {"at": "2024-01-05T00:00:00Z", "target": "NLRTM", "throughput_units_per_day": 0},
            "effects[1]",
            "throughput_units_per_day",
            "greater than 0",
        ),
        (
            {
                "at": "2024-01-05T00:00:00Z",
                "target": "NLRTM",
                "throughput_units_per_day": 50,
                "delay_days": 2,
            },
            "effects[1]",
            "delay_days, throughput_units_per_day",
            "exactly one of",
        ),
    ],
)
def test_bad_effect_is_named(
    folder: Path, effect: dict[str, Any], where: str, field: str | None, words: str
) -> None:
    path = write(folder, with_effect(effect))
    problems = problems_of(path)
    match = [p for p in problems if (p.where, p.field) == (where, field)]
    assert match, problems
    assert words in match[0].message
    assert match[0].file == str(path)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"start": None}, "start", "Field required"),
        ({"end": "2023-12-01T00:00:00Z"}, "end", "after start"),
        ({"tick": "0h"}, "tick", "longer than zero"),
        ({"tick": "60d"}, "tick", "longer than the window"),
        ({"tick": "1m"}, "tick", "steps"),
        ({"tick": "soon"}, "tick", "not a duration"),
        ({"network": "no-such-network"}, "network", "does not load"),
        ({"network": "nope/missing.yaml"}, "network", "no network file"),
        ({"shipments": "missing.csv"}, "shipments", "no shipment file"),
        (
            {"shipments": {"generate": {"per_day": 0}}},
            "shipments.generate.per_day",
            "greater than 0",
        ),
        ({"name": "has space"}, "name", "pattern"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"noise": {"signal_jitter_h": -1}}, "noise.signal_jitter_h", "greater than or equal"),
    ],
)
def test_bad_header_is_named(folder: Path, change: dict[str, Any], field: str, words: str) -> None:
    doc = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    problems = problems_of(write(folder, doc))
    match = [p for p in problems if (p.where, p.field) == ("scenario", field)]
    assert match, problems
    assert words in match[0].message


def test_every_error_at_once(folder: Path) -> None:
    doc = {
        **GOOD,
        "start": "2024-03-01T00:00:00Z",  # after end
        "signals": [
            {
                "at": "2024-01-04T00:00:00Z",
                "dimension": "security",
                "target": "NOWHERE",
                "metric": "advisory_level",
                "value": 3,
            },
            {
                "at": "2024-01-04T00:00:00Z",
                "dimension": "security",
                "metric": "advisory_level",
                "value": 3,
            },
            "not a mapping",
        ],
        "effects": [
            {"at": "2024-01-05T00:00:00Z", "target": "SUEZ", "capacity_pct": 150},
            {
                "at": "2024-01-05T00:00:00Z",
                "until": "2024-01-01T00:00:00Z",
                "target": "GHOST",
                "delay_days": 1,
            },
        ],
        "sources": [{"title": "x", "url": "ftp://example.org"}],
    }
    problems = problems_of(write(folder, doc))
    assert {
        ("scenario", "end"),
        ("signals[0]", "target"),
        ("signals[1]", "target"),
        ("signals[2]", None),
        ("effects[0]", "capacity_pct"),
        ("effects[1]", "until"),
        ("effects[1]", "target"),
        ("sources[0]", "url"),
    } <= located(problems)


def test_unknown_metric_is_a_warning_not_an_error(folder: Path) -> None:
    signals = [
        {
            "at": "2024-01-04T00:00:00Z",
            "dimension": "capacity",
            "target": "CNYTN",
            "metric": "berth_wait_days",
            "value": 16,
        },
        {
            "at": "2024-01-04T00:00:00Z",
            "dimension": "mood",
            "target": "CNYTN",
            "metric": "gloom",
            "value": 1,
        },
    ]
    loaded = load_scenario(write(folder, {**GOOD, "signals": signals}))
    assert {(w.where, w.field) for w in loaded.warnings} == {
        ("signals[0]", "metric"),
        ("signals[1]", "dimension"),
    }
    assert all(w.severity == "warning" for w in loaded.warnings)


def test_area_signals_resolve_on_the_network(folder: Path) -> None:
    inside = {
        "at": "2024-01-04T00:00:00Z",
        "dimension": "weather",
        "metric": "cap_alert",
        "value": 0.6,
        "area": {"circle": [22.5, 114.2, 50]},
    }
    empty = {**inside, "area": {"circle": [-60.0, 0.0, 10]}}
    both = {**inside, "target": "CNYTN"}
    bad = {**inside, "area": {"polygon": [[0, 0], [1, 1]]}}
    doc = {**GOOD, "signals": [inside, empty]}
    loaded = load_scenario(write(folder, doc))
    assert [(w.where, w.field) for w in loaded.warnings] == [("signals[1]", "area")]
    problems = problems_of(write(folder, {**GOOD, "signals": [both, bad]}))
    assert {("signals[0]", "area"), ("signals[1]", "area")} <= located(problems)


def test_name_differs_from_file_is_a_warning(folder: Path) -> None:
    loaded = load_scenario(write(folder, GOOD, name="other.yaml"))
    assert [(w.field, w.severity) for w in loaded.warnings] == [("name", "warning")]


def test_shipments_file_is_loaded_relative_to_the_scenario(folder: Path) -> None:
    (folder / "ships.csv").write_text(
        "id,origin,destination,units,ready_at,due_at\n"
        "S1,CN-SZ,NL-VENLO,10,2024-01-02T00:00:00Z,2024-02-20T00:00:00Z\n"
    )
    loaded = load_scenario(write(folder, {**GOOD, "shipments": "ships.csv"}))
    assert loaded.shipments_path == folder / "ships.csv"
    assert loaded.scenario.shipments.path == "ships.csv"


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "name: [unclosed\n", "\x00\x01", "42"])
def test_not_a_scenario_document(folder: Path, text: str) -> None:
    problems = problems_of(write(folder, text))
    assert problems and all(p.file.endswith("mini-closure.yaml") for p in problems)


@given(st.text(max_size=200))
def test_garbage_yaml_is_an_input_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("garbage") / "x.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path, network="no-such-network")
    except InputError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)
    else:  # pragma: no cover - a random text is never a full scenario with a loadable network
        raise AssertionError("garbage loaded")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "start",
                "end",
                "tick",
                "seed",
                "signals",
                "effects",
                "noise",
                "sources",
                "shipments",
                "network",
                "other",
            ]
        ),
        _values,
        max_size=8,
    )
)
@example({"tick": 86400000000000.0})  # a tick of 2.7 million years once overflowed timedelta
def test_garbage_documents_fail_cleanly(doc: dict[str, Any]) -> None:
    try:
        parse_scenario(doc, "g.yaml")
    except InputError as exc:
        assert exc.problems and all(p.file == "g.yaml" and p.message for p in exc.problems)


def test_models_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError):
        ScenarioEffect.model_validate(
            {"at": "2024-01-01T00:00:00Z", "target": "A", "close": True, "x": 1}
        )
    with pytest.raises(ValueError):
        Scenario.model_validate(
            {
                "name": "a",
                "start": "2024-01-01T00:00:00Z",
                "end": "2024-01-02T00:00:00Z",
                "extra": 1,
            }
        )


def test_throughput_on_a_port_loads(folder: Path) -> None:
    throttle = {"at": "2024-01-05T00:00:00Z", "target": "NLRTM", "throughput_units_per_day": 40}
    loaded = load_scenario(write(folder, with_effect(throttle)))
    (effect,) = [e for e in loaded.scenario.effects if e.throughput_units_per_day]
    assert (effect.kind, effect.amount) == ("throughput_units_per_day", 40.0)
    assert loaded.warnings == []


def test_carriers_detour_validates_and_a_detour_no_service_sails_is_an_error(folder: Path) -> None:
    detour = {
        "at": "2024-01-05T00:00:00Z",
        "target": "SUEZ",
        "carriers_divert": "CAPE_OF_GOOD_HOPE",
    }
    loaded = load_scenario(write(folder, with_effect(detour)))
    (effect,) = [e for e in loaded.scenario.effects if e.carriers_divert]
    assert (effect.kind, effect.amount) == ("carriers_divert", 0.0)
    assert not [w for w in loaded.warnings if w.field == "carriers_divert"]
    # Without the Cape service the detour is no lane's via: an error naming the field.
    cape_less = mini_network_file_text().replace(
        "  - {id: YTN-RTM-CAPE, from: CNYTN, to: NLRTM, mode: sea, transit_days: 40, "
        "cost_per_unit: 75, capacity: 3000, via: [CAPE_OF_GOOD_HOPE]}\n",
        "",
    )
    (folder / "mini.yaml").write_text(cape_less)
    with pytest.raises(InputError) as caught:  # the Cape is then no lane's via at all
        load_scenario(write(folder, with_effect(detour)))
    assert any(p.field == "carriers_divert" for p in caught.value.problems)


def mini_network_file_text() -> str:
    from tests.conftest import MINI_NETWORK

    return MINI_NETWORK
