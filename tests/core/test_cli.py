"""The `twin` command line as a user runs it: exit codes, one JSON document, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fresh_imports import loaded_by

TWIN = [sys.executable, "-m", "twin.cli.app"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWIN, *args], capture_output=True, text=True, timeout=120, check=False)


def test_validate_bad_network_exits_2_listing_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nnodes:\n  - {id: A, kind: port}\nlanes:\n"
        "  - {id: L, from: A, to: B, mode: sea, transit_days: -2, cost_per_unit: 1}\n"
    )
    proc = run("network", "validate", str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}: lane L (lanes[0]): field 'to': unknown node 'B'" in proc.stderr
    assert "field 'transit_days'" in proc.stderr
    assert proc.stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    proc = run("network", "show", str(tmp_path / "nope.yaml"), "--json")
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_json_and_export(tmp_path: Path, mini_network_file: Path) -> None:
    proc = run("network", "show", str(mini_network_file), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary == {
        "name": "mini",
        "nodes": 6,
        "lanes": 4,
        "by_kind": {"chokepoint": 2, "origin": 1, "port": 2, "warehouse": 1},
        "by_mode": {"road": 2, "sea": 2},
    }
    out = tmp_path / "x.yaml"
    assert run("network", "export", str(mini_network_file), "-o", str(out)).returncode == 0
    assert json.loads(run("network", "show", str(out), "--json").stdout) == summary


def test_generate_network_and_shipments(tmp_path: Path) -> None:
    net = tmp_path / "g.yaml"
    proc = run(
        "network", "generate", "--nodes", "60", "--lanes", "300", "--seed", "4", "-o", str(net)
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(run("network", "show", str(net), "--json").stdout)
    assert (summary["nodes"], summary["lanes"]) == (60, 300)
    ships = tmp_path / "s.csv"
    proc = run(
        "shipments",
        "generate",
        "--network",
        str(net),
        "--days",
        "2",
        "--per-day",
        "5",
        "--seed",
        "1",
        "--start",
        "2024-01-01T00:00:00Z",
        "-o",
        str(ships),
    )
    assert proc.returncode == 0, proc.stderr
    assert len(ships.read_text().splitlines()) == 11
    proc = run("network", "generate", "--nodes", "60", "--lanes", "3", "-o", str(net))
    assert proc.returncode == 2 and "need at least" in proc.stderr


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """Every `twin` command pays for what the console script imports before it runs: the
    command modules import the planner, pandas and the store where a command uses them."""
    assert loaded_by("import twin.cli.app", {"scipy", "pandas", "sqlalchemy", "pyomo"}) == set()
