"""`twin plan`: the SPEC's JSON document, bad input as exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from twin.cli.app import app

ROWS = """id,origin,destination,units,ready_at,due_at,priority,split
S1,CN-SHENZHEN-ORIGIN,US-ONT8,12,2024-01-02T00:00:00Z,2024-02-10T00:00:00Z,standard,true
S2,CN-SHENZHEN-ORIGIN,US-ONT8,3,2024-01-02T00:00:00Z,2024-01-12T00:00:00Z,express,false
"""


def write(tmp_path: Path) -> Path:
    path = tmp_path / "ships.csv"
    path.write_text(ROWS)
    return path


def test_plan_json_document(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["plan", "--network", "demo", "--shipments", str(write(tmp_path)), "--json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert list(doc) == [
        "status",
        "objective",
        "lower_bound",
        "gap",
        "cost",
        "assignments",
        "unserved",
        "timing",
        "emissions",
    ]
    assert doc["status"] == "optimal"
    assert set(doc["cost"]) == {"transport", "lateness", "risk", "unserved", "co2e_kg"}
    for a in doc["assignments"]:
        assert set(a) == {"shipment", "units", "path", "eta", "cost", "late_days", "co2e_kg"}
    assert {"build_s", "solve_s", "highs_s"} <= set(doc["timing"])
    money = sum(v for k, v in doc["cost"].items() if k != "co2e_kg")
    assert abs(money - doc["objective"]) < 1e-6
    assert doc["cost"]["co2e_kg"] > 0
    assert abs(sum(a["co2e_kg"] for a in doc["assignments"]) - doc["cost"]["co2e_kg"]) < 1e-2


def test_plan_bad_input_exits_2(tmp_path: Path) -> None:
    ships = write(tmp_path)
    out = CliRunner().invoke(
        app, ["plan", "--network", "demo", "--shipments", str(ships), "--avoid", "NOWHERE"]
    )
    assert out.exit_code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("id,origin\nS1,X\n")
    out = CliRunner().invoke(app, ["plan", "--network", "demo", "--shipments", str(bad), "--json"])
    assert out.exit_code == 2


def test_plan_not_optimal_exits_1_and_prints_the_document(tmp_path: Path) -> None:
    from twin.files.networks import load_network

    network, _ = load_network("demo")
    if "CN-SHENZHEN-ORIGIN" not in network.node_by_id or "US-ONT8" not in network.node_by_id:
        import pytest

        pytest.skip("demo network has other node ids")
    # No time at all: column generation cannot prove the LP optimum (feasible or time_limit).
    out = CliRunner().invoke(
        app,
        [
            "plan",
            "--network",
            "demo",
            "--shipments",
            str(write(tmp_path)),
            "--time-limit",
            "0",
            "--json",
        ],
    )
    assert out.exit_code == 1, out.output
    doc = json.loads(out.stdout)
    assert doc["status"] in {"feasible", "time_limit"}
    assert "not optimal" in out.stderr


def test_plan_status_exit_codes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every status but `optimal` exits 1 with the document on stdout."""
    from twin import optimise
    from twin.domain.plans import CostBreakdown, Plan, PlanStatus

    real = optimise.plan
    for status in PlanStatus:

        def fake(view, request, options=None, clock=None, status=status):  # type: ignore[no-untyped-def]
            out = real(view, request, options, clock)
            return (
                out
                if status is PlanStatus.optimal
                else Plan(status=status, objective=None, cost=CostBreakdown(), timing=out.timing)
            )

        monkeypatch.setattr(optimise, "plan", fake)
        out = CliRunner().invoke(
            app, ["plan", "--network", "demo", "--shipments", str(write(tmp_path)), "--json"]
        )
        assert out.exit_code == (0 if status is PlanStatus.optimal else 1), (status, out.output)
        assert json.loads(out.stdout)["status"] == status.value


def test_plan_json_stdout_is_pure_json_in_a_real_process(tmp_path: Path) -> None:
    """HiGHS writes its banner straight to file descriptor 1, which CliRunner cannot see."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.cli.app",
            "plan",
            "--network",
            "demo",
            "--shipments",
            str(write(tmp_path)),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"
    assert "HiGHS" not in proc.stdout
