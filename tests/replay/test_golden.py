"""Golden KPIs: the replay document's baseline / engine / foresight KPIs for two library scenarios.

A change that moves any KPI (rel. tolerance 1e-6) fails here; if the move is intended, regenerate
with `TWIN_REGEN_GOLDEN=1 pytest tests/replay/test_golden.py` and commit the JSON with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from twin.files.playbooks import load_playbooks
from twin.replay.run import replay
from twin.replay.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = ("typhoon-prd", "us-east-gulf-strike-2024")
RUNS = ("baseline", "engine", "foresight")


def _kpis(name: str) -> dict:
    doc = replay(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), load_playbooks(ROOT / "playbooks"))
    return {"scenario": doc["scenario"], "seed": doc["seed"], "shipments": doc["shipments"],
            **{run: doc[run] for run in RUNS}}


@pytest.mark.parametrize("name", SCENARIOS)
def test_kpis_match_the_golden_file(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    got = _kpis(name)
    if os.environ.get("TWIN_REGEN_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(path.read_text())
    assert (got["scenario"], got["seed"], got["shipments"]) == (want["scenario"], want["seed"], want["shipments"])
    for run in RUNS:
        assert set(got[run]) == set(want[run]), run
        for kpi, value in want[run].items():
            if value is None or isinstance(value, bool):
                assert got[run][kpi] == value, (run, kpi)
            else:
                assert got[run][kpi] == pytest.approx(value, rel=1e-6, abs=0.0), (run, kpi)
