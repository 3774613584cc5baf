"""Calibration: a tiny seeded search, and the tuned TOML loads back through the daemon's loaders."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from twin.alerting.rules import AlertRules
from twin.files.config import alert_rules, parse_config, scoring_config
from twin.files.playbooks import load_playbooks
from twin.replay.calibrate import calibrate, candidates, default_tables, tuned_toml
from twin.replay.scenario import load_scenario
from twin.scoring.config import ScoringConfig

ROOT = Path(__file__).resolve().parents[2]


def short_typhoon(folder: Path, name: str, seed: int) -> Path:
    """The typhoon over ten days with 10 shipments a day: a couple of seconds per engine run."""
    text = (ROOT / "scenarios" / "typhoon-prd.yaml").read_text()
    text = (
        text.replace("name: typhoon-prd", f"name: {name}")
        .replace("start: 2023-07-05T00:00:00Z", "start: 2023-07-12T00:00:00Z")
        .replace("end: 2023-08-05T00:00:00Z", "end: 2023-07-24T00:00:00Z")
        .replace("{per_day: 30, seed: 2307}", f"{{per_day: 10, seed: {seed}}}")
    )
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def test_search_is_seeded_and_stays_in_the_space() -> None:
    assert candidates(4, 3) == candidates(4, 3) and candidates(4, 3) != candidates(4, 4)
    base = default_tables()
    points = candidates(20, 1)
    assert points[0] == base
    for point in points[1:]:
        for dim, rule in point["alerts"]["dimensions"].items():
            default = base["alerts"]["dimensions"][dim]
            assert (
                default["warn"] * 0.8 - 1e-9
                <= rule["warn"]
                <= min(1.0, default["warn"] * 1.2) + 1e-9
            )
            assert rule["warn"] <= rule["critical"] <= 1.0 and rule["clear_below"] <= rule["warn"]
            assert rule["for_passes"] in (1, 2, 3)
        for dim, value in point["scoring"]["delay_days_full"].items():
            default = base["scoring"]["delay_days_full"][dim]
            assert default * 0.7 - 1e-9 <= value <= default * 1.3 + 1e-9
        AlertRules.from_mapping(point["alerts"])  # every point is a valid configuration


def test_tuned_toml_loads_back(tmp_path: Path) -> None:
    tables = candidates(3, 7)[2]
    text = tuned_toml(tables)
    data = tomllib.loads(text)
    scoring = ScoringConfig.from_mapping(data["scoring"])
    rules = AlertRules.from_mapping(data["alerts"])
    for dim, rule in tables["alerts"]["dimensions"].items():
        loaded = rules.for_dimension(dim)
        assert (loaded.warn, loaded.critical, loaded.clear_below, loaded.for_passes) == (
            rule["warn"],
            rule["critical"],
            rule["clear_below"],
            rule["for_passes"],
        )
        assert scoring.delay_days_full[dim] == tables["scoring"]["delay_days_full"][dim]
    # and the daemon's own reader takes it as a twin.toml
    config = parse_config(text, environ={})
    assert scoring_config(config) == scoring and alert_rules(config) == rules


def test_calibrate_budget_two(tmp_path: Path) -> None:
    train = load_scenario(short_typhoon(tmp_path, "train", 1))
    hold = load_scenario(short_typhoon(tmp_path, "hold", 2))
    doc = calibrate([train], [hold], load_playbooks(ROOT / "playbooks"), budget=2, seed=0)
    assert doc["budget"] == 2 and len(doc["evaluations"]) == 2
    best = doc["train"]["best"]
    assert best["objective"] <= doc["train"]["defaults"]["objective"]
    assert best["objective"] == pytest.approx(
        best["engine_total_cost"] + 1000 * best["false_alarms"]
    )
    assert doc["holdout"]["scenarios"] == ["hold"]
    assert {"defaults", "best"} <= set(doc["holdout"])
    assert doc["tuned"] == candidates(2, 0)[doc["best_index"]]


def test_twin_calibrate_writes_a_tuned_file(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from twin.cli.app import app

    train = short_typhoon(tmp_path, "train", 1)
    hold = short_typhoon(tmp_path, "hold", 2)
    out = tmp_path / "tuned.toml"
    result = CliRunner().invoke(
        app,
        [
            "calibrate",
            str(train),
            "--holdout",
            str(hold),
            "--budget",
            "1",
            "--out",
            str(out),
            "--json",
            "--playbooks",
            str(ROOT / "playbooks"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout[result.stdout.index("{") :])
    assert doc["best_index"] == 0 and doc["tuned"] == default_tables()
    config = parse_config(out.read_text(), environ={})
    assert alert_rules(config).for_dimension("cost").for_passes == 3
