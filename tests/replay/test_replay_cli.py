"""`twin replay` as a user runs it: every run in the table, the bound named as such."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from twin.replay.scenario import LoadedScenario

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_shows_forewarned_and_hindsight_and_the_shares_of_each(
    short_scenario: LoadedScenario, short_replay: dict[str, Any]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "twin.cli.app", "replay", str(short_scenario.path)]
        + ["--playbooks", str(ROOT / "playbooks")],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "220"},
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│" in line}
    for run in ("blind", "news", "engine", "forewarned", "hindsight"):
        assert f"{short_replay[run]['total_cost']:,.0f}" in rows[run], (run, proc.stdout)
    saving = short_replay["saving"]
    flat = " ".join(proc.stdout.split())
    assert f"hindsight (the bound) {saving['hindsight_vs_blind']:,.0f}" in flat, flat
    assert f"forewarned {saving['forewarned_vs_blind']:,.0f}" in flat, flat


def test_one_worker_gives_the_same_document_as_the_default(
    short_scenario: LoadedScenario, short_replay: dict[str, Any]
) -> None:
    """`--workers 1` runs every run in one process; the default (two where there are two CPUs)
    gives the same document (test_alongside checks that run by run)."""
    import json

    command = [sys.executable, "-m", "twin.cli.app", "replay", str(short_scenario.path)]
    command += ["--playbooks", str(ROOT / "playbooks"), "--json", "--workers", "1"]
    proc = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    want = json.loads(json.dumps({k: v for k, v in short_replay.items() if k != "_runs"}))
    assert {k: v for k, v in doc.items() if k != "timing"} == {
        k: v for k, v in want.items() if k != "timing"
    }
    refused = subprocess.run(
        command[:-1] + ["0"], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert refused.returncode != 0 and "--workers" in refused.stderr
