"""Replay reports: both files written, the HTML self-contained, the KPIs and re-routes shown."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from markupsafe import escape

from twin.replay.report import RUN_SENTENCES, kpi_value, md, report_data, write_report
from twin.replay.scenario import LoadedScenario


def test_report_files_are_written(
    tmp_path: Path, short_replay: dict[str, Any], short_scenario: LoadedScenario
) -> None:
    paths = write_report(short_replay, None, short_scenario, tmp_path / "out")
    names = {p.name for p in paths}
    assert {"report.html", "report.md", "scores.png", "cost.png", "on_time.png"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_html_is_self_contained_and_shows_the_kpis(
    tmp_path: Path, short_replay: dict[str, Any], short_scenario: LoadedScenario
) -> None:
    write_report(short_replay, short_replay["_runs"], short_scenario, tmp_path)
    html = (tmp_path / "report.html").read_text()
    # No external stylesheet, script or image: every src/href is inline data.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    assert html.count('src="data:image/png;base64,') == 3
    # The only addresses are the scenario's cited sources, shown as text.
    cited = {s.url for s in short_scenario.scenario.sources}
    assert set(re.findall(r"https?://[^\s<\"']+", html)) <= cited
    for run in ("blind", "news", "engine", "forewarned", "hindsight"):
        assert kpi_value("total_cost", short_replay[run]["total_cost"]) in html
        rate = short_replay[run]["on_time_rate"]
        assert f"{100 * rate:.1f} %" in html  # on-time in per cent, by due date
        assert str(escape(RUN_SENTENCES[run])) in html  # every run defined in a sentence
    md = (tmp_path / "report.md").read_text()
    assert kpi_value("total_cost", short_replay["engine"]["total_cost"]) in md
    assert "![scores per dimension](charts/scores.png)" in md


def test_report_lists_every_reroute_and_signal(
    short_replay: dict[str, Any], short_scenario: LoadedScenario
) -> None:
    data = report_data(short_replay, short_replay["_runs"], short_scenario)
    log = short_replay["_runs"]["engine"].reroute_log
    assert short_replay["engine"]["reroutes"] == len({r["shipment"] for r in log}) > 0
    assert len(data["reroutes"]) == len(log)
    first = data["reroutes"][0]
    assert first["old"] != first["new"] and " → " in first["new"]
    assert len(data["signals"]) == len(short_scenario.scenario.signals)
    security = next(t for t in data["thresholds"] if t["dimension"] == "security")
    assert 0 < security["warn"] < security["critical"] <= 1


def test_markdown_cells_are_literal() -> None:
    hostile = "closed | see [map](http://x) *now* <b>\nnext"
    cell = md(hostile)
    # No unescaped pipe (would split the table), no link or emphasis syntax, one line.
    assert "|" not in cell.replace("\\|", "")
    assert "](" not in cell and "\n" not in cell
    assert cell.count("\\*") == 2 and "\\<b\\>" in cell


def test_kpis_read_as_words_and_alert_counts_match_the_rows(
    short_replay: dict[str, Any], short_scenario: LoadedScenario
) -> None:
    doc = dict(short_replay)
    # A document that still carries muted alerts among its rows: the table lists only those
    # that paged and the heading counts the rest, so the numbers match what is shown.
    paged = [{**a, "muted": False} for a in short_replay["alerts"]]
    echoes = [{**a, "target": f"{a['target']}-lane{k}", "muted": True} for k, a in enumerate(paged)]
    doc["alerts"] = paged + echoes
    data = report_data(doc, short_replay["_runs"], short_scenario)
    assert len(data["alerts"]) == len(paged) and data["muted_alerts"] == len(echoes)
    assert data["opened_alerts"] == len(paged) + len(echoes)
    names = [r["name"] for r in data["kpis"]]
    assert all("_" not in n and n[0].isupper() for n in names)
    assert kpi_value("on_time_rate", 0.8125) == "81.2 %"


def test_markdown_report_escapes_scenario_text(
    tmp_path: Path, short_replay: dict[str, Any], short_scenario: LoadedScenario
) -> None:
    scenario = short_scenario.scenario.model_copy(
        update={"description": "Red Sea | Suez *closed* [again](http://evil)"}
    )
    loaded = dataclasses.replace(short_scenario, scenario=scenario)
    write_report(short_replay, short_replay["_runs"], loaded, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "Red Sea \\| Suez \\*closed\\* \\[again\\]\\(http://evil\\)" in text
    # Every table row has as many unescaped pipes as its header.
    for line in text.splitlines():
        if line.startswith("| "):
            assert line.replace("\\|", "").count("|") in (5, 6, 7, 8)
