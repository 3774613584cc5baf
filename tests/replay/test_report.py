"""Replay reports: self-contained HTML and Markdown holding the KPIs, timeline and re-routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twin.files.playbooks import load_playbooks
from twin.replay.recovery import time_to_recover
from twin.replay.report import write_report
from twin.replay.run import replay
from twin.replay.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def typhoon(tmp_path_factory):
    loaded = load_scenario(ROOT / "scenarios" / "typhoon-prd.yaml")
    doc = replay(loaded, load_playbooks(ROOT / "playbooks"))
    runs = doc.pop("_runs")
    out = tmp_path_factory.mktemp("report")
    return loaded, doc, runs, write_report(doc, runs, loaded, out)


def test_report_files_hold_the_kpis(typhoon) -> None:
    loaded, doc, _, written = typhoon
    names = {p.name for p in written}
    assert {"report.html", "report.md"} <= names
    html = next(p for p in written if p.name == "report.html").read_text()
    markdown = next(p for p in written if p.name == "report.md").read_text()
    for run in ("baseline", "engine", "foresight"):
        total = f"{doc[run]['total_cost']:,.2f}"
        assert total in html and total in markdown
    assert loaded.scenario.name in html
    targets = [s.target for s in loaded.scenario.signals if s.target][:3]
    assert targets and all(target in html for target in targets)


def test_report_needs_no_network(typhoon) -> None:
    _, _, _, written = typhoon
    html = next(p for p in written if p.name == "report.html").read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    # Images are inline; the only addresses are the scenario's cited sources, in links.
    assert not re.search(r"<img[^>]+src=\"(?!data:)", html)
    assert "data:image/png;base64," in html


def test_same_seed_same_document() -> None:
    loaded = load_scenario(ROOT / "scenarios" / "typhoon-prd.yaml")
    library = load_playbooks(ROOT / "playbooks")
    first, second = replay(loaded, library), replay(loaded, library)
    for doc in (first, second):
        doc.pop("_runs"), doc.pop("timing")
    assert first == second


def test_engine_never_worse_than_baseline_on_the_red_sea() -> None:
    loaded = load_scenario(ROOT / "scenarios" / "red-sea-2024.yaml")
    doc = replay(loaded, load_playbooks(ROOT / "playbooks"))
    assert doc["engine"]["total_cost"] < doc["baseline"]["total_cost"]
    assert doc["foresight"]["total_cost"] <= doc["baseline"]["total_cost"]
    assert doc["engine"]["reroutes"] > 0 and doc["playbook_runs"]
    recovered = time_to_recover(doc["_runs"]["engine"].outcomes, loaded.scenario.effects[0].at,
                                loaded.scenario.start, loaded.scenario.end)
    assert recovered.reference is not None
