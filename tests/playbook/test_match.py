"""Matching: the most specific playbook wins, ties by priority then id, no match is None."""

from __future__ import annotations

from pathlib import Path

import pytest
from playbook_builders import make_alert, make_playbook

from twin.files.playbooks import load_playbooks
from twin.playbook.match import alert_tags, match_alert, ranked

LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"


def test_most_specific_wins() -> None:
    loose = make_playbook(id="loose", match={"dimension": "security"}, priority=100)
    tight = make_playbook(
        id="tight",
        match={"dimension": "security", "target_kind": "chokepoint", "severity": "critical"},
    )
    matched = match_alert(make_alert(), [loose, tight])
    assert matched is not None and matched.playbook.id == "tight"
    assert matched.specificity == 3
    assert "target_kind=chokepoint" in matched.why


def test_priority_breaks_ties_then_id() -> None:
    a = make_playbook(id="a", match={"dimension": "security"})
    b = make_playbook(id="b", match={"dimension": "security"}, priority=5)
    c = make_playbook(id="c", match={"dimension": "security"}, priority=5)
    assert match_alert(make_alert(), [a, c, b]).playbook.id == "b"  # type: ignore[union-attr]
    assert match_alert(make_alert(), [a]).playbook.id == "a"  # type: ignore[union-attr]
    assert [p.id for p in ranked(make_alert(), [c, a, b])] == ["b", "c", "a"]


def test_no_match_is_none() -> None:
    playbook = make_playbook(match={"dimension": "customs"})
    assert match_alert(make_alert(), [playbook]) is None
    assert match_alert(make_alert(), []) is None


@pytest.mark.parametrize(
    ("match", "alert", "hit"),
    [
        ({"severity": "critical"}, {}, True),
        ({"severity": "warn"}, {}, False),
        ({"targets": ["SUEZ", "BAB"]}, {}, True),
        ({"ids": ["BAB"]}, {"target": "L1", "kind": "lane", "via": ("BAB",)}, True),
        ({"target_kind": "lane"}, {"target": "L1", "kind": ""}, True),
        ({"countries": ["US"]}, {"country": "US"}, True),
        ({"countries": ["US"]}, {"country": None}, False),
        ({"tags": ["early"]}, {"early": True}, True),
        ({"tags": ["early"]}, {"early": False}, False),
        ({"tags": ["via:SUEZ"]}, {"via": ("SUEZ",), "kind": "lane"}, True),
        ({"dimension": ["weather", "security"], "severity": ["warn"]}, {}, False),
    ],
)
def test_each_criterion(match: dict[str, object], alert: dict[str, object], hit: bool) -> None:
    playbook = make_playbook(match=match)
    assert (match_alert(make_alert(**alert), [playbook]) is not None) is hit


def test_tags_of_an_alert() -> None:
    tags = alert_tags(make_alert(early=True, country="US", kind="port", via=()))
    assert tags == {"early", "country:US", "kind:port"}


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        (
            {"target": "SUEZ", "kind": "chokepoint", "dimension": "security"},
            "avoid-closed-chokepoint",
        ),
        (
            {"target": "PANAMA", "kind": "chokepoint", "dimension": "capacity", "severity": "warn"},
            "chokepoint-restricted",
        ),
        (
            {"target": "CNYTN", "kind": "port", "dimension": "capacity", "country": "CN"},
            "port-congestion-divert",
        ),
        (
            {
                "target": "USJFK",
                "kind": "airport",
                "dimension": "customs",
                "severity": "warn",
                "country": "US",
            },
            "customs-delay-expedite",
        ),
        (
            {"target": "USJFK", "kind": "airport", "dimension": "customs", "country": "US"},
            "customs-delay-enter-elsewhere",
        ),
        (
            {"target": "HKHKG", "kind": "port", "dimension": "weather", "country": "HK"},
            "typhoon-origin-hold",
        ),
        (
            {"target": "PVG", "kind": "airport", "dimension": "capacity", "country": "CN"},
            "air-capacity-crunch",
        ),
        (
            {"target": "BY-PL-BORDER", "kind": "border", "dimension": "security"},
            "rail-border-closure",
        ),
        (
            {"target": "US-ONT8", "kind": "warehouse", "dimension": "capacity", "severity": "warn"},
            "warehouse-over-capacity",
        ),
        (
            {
                "target": "USLAX",
                "kind": "port",
                "dimension": "customs",
                "severity": "warn",
                "early": True,
                "country": "US",
            },
            "customs-rule-change",
        ),
        ({"target": "NLRTM", "kind": "port", "dimension": "cost"}, None),
    ],
)
def test_library_routes_real_situations(alert: dict[str, object], expected: str | None) -> None:
    matched = match_alert(make_alert(**alert), load_playbooks(LIBRARY))
    assert (matched.playbook.id if matched else None) == expected
