"""Replay reports: both files written, the HTML self-contained, the KPIs and re-routes shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from twin.replay.report import fmt, report_data, write_report
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
    for run in ("blind", "news", "engine", "hindsight"):
        assert fmt(short_replay[run]["total_cost"]) in html
        assert fmt(short_replay[run]["on_time_rate"]) in html
    md = (tmp_path / "report.md").read_text()
    assert fmt(short_replay["engine"]["total_cost"]) in md
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
