"""`twin scenarios validate / show` as a user runs them: exit codes, JSON, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from twin.files.networks import bundled_networks

TWIN = [sys.executable, "-m", "twin.cli.app"]
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"

GOOD = """\
name: good
network: mini.yaml
start: 2024-01-01T00:00:00Z
end: 2024-01-31T00:00:00Z
tick: 6h
signals:
  - {at: 2024-01-03T00:00:00Z, dimension: security, target: SUEZ, metric: incidents_7d, value: 4}
effects:
  - {at: 2024-01-05T00:00:00Z, until: 2024-01-12T00:00:00Z, target: SUEZ, close: true}
"""
BAD = """\
name: bad
network: mini.yaml
end: 2024-01-31T00:00:00Z
effects:
  - {at: 2024-01-05T00:00:00Z, target: USLAX, close: true}
  - {at: 2024-01-05T00:00:00Z, until: 2024-01-04T00:00:00Z, target: SUEZ, capacity_pct: 150}
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TWIN, *args], check=False, capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture
def folder(mini_network_file: Path) -> Path:
    folder = mini_network_file.parent
    (folder / "good.yaml").write_text(GOOD)
    return folder


def test_validate_good_folder_exits_0(folder: Path) -> None:
    proc = run("scenarios", "validate", str(folder / "good.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"valid": ["good"], "errors": [], "warnings": []}


def test_validate_bad_file_exits_2_listing_every_error(folder: Path) -> None:
    bad = folder / "bad.yaml"
    bad.write_text(BAD)
    proc = run("scenarios", "validate", str(folder / "good.yaml"), str(bad))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{bad}: scenario: field 'start': Field required" in proc.stderr
    assert f"{bad}: effects[0]: field 'target': 'USLAX' is not a node or lane" in proc.stderr
    assert f"{bad}: effects[1]: field 'capacity_pct'" in proc.stderr

    proc = run("scenarios", "validate", str(folder / "good.yaml"), str(bad), "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["valid"] == ["good"]
    assert {(e["where"], e["field"]) for e in doc["errors"]} >= {
        ("scenario", "start"),
        ("effects[0]", "target"),
        ("effects[1]", "capacity_pct"),
    }
    assert all(e["file"] == str(bad) for e in doc["errors"])


def test_validate_default_folder_and_missing_paths(folder: Path, tmp_path: Path) -> None:
    proc = run("scenarios", "validate", cwd=tmp_path)  # no scenarios/ here
    assert proc.returncode == 2 and "no such file" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run("scenarios", "validate", str(empty))
    assert proc.returncode == 2 and "no scenario files" in proc.stderr


def test_duplicate_names_are_an_error(folder: Path) -> None:
    (folder / "copy.yaml").write_text(GOOD)
    proc = run(
        "scenarios", "validate", str(folder / "good.yaml"), str(folder / "copy.yaml"), "--json"
    )
    assert proc.returncode == 2
    errors = json.loads(proc.stdout)["errors"]
    assert [(e["field"], "also used by" in e["message"]) for e in errors] == [("name", True)]


def test_garbage_yaml_exits_2(folder: Path) -> None:
    path = folder / "garbage.yaml"
    path.write_text("name: [unclosed\n  effects: {")
    proc = run("scenarios", "validate", str(path))
    assert proc.returncode == 2
    assert "not valid YAML" in proc.stderr and "Traceback" not in proc.stderr


def test_show_json_summary(folder: Path) -> None:
    proc = run("scenarios", "show", str(folder / "good.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["window"] == {
        "start": "2024-01-01T00:00:00Z",
        "end": "2024-01-31T00:00:00Z",
        "days": 30.0,
        "tick": "6h",
        "ticks": 120,
    }
    assert summary["effects"]["by_target"] == {"SUEZ": {"close": 1}}
    assert summary["signals"]["count"] == 1 and summary["first_warning_lead_h"] == 48.0
    assert run("scenarios", "show", str(folder / "good.yaml")).returncode == 0


def test_network_override(folder: Path, mini_network_file: Path) -> None:
    doc = yaml.safe_load(GOOD)
    doc["network"] = "somewhere/else.yaml"
    (folder / "good.yaml").write_text(yaml.safe_dump(doc))
    assert run("scenarios", "validate", str(folder / "good.yaml")).returncode == 2
    proc = run(
        "scenarios", "validate", str(folder / "good.yaml"), "--network", str(mini_network_file)
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    "demo" not in bundled_networks(), reason="the bundled demo network is not built yet"
)
def test_library_validates_from_the_command_line() -> None:
    proc = run("scenarios", "validate", str(LIBRARY), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)["valid"]) >= 9


def test_unknown_market_is_named(folder: Path) -> None:
    text = (folder / "good.yaml").read_text()
    bad = folder / "bad.yaml"
    bad.write_text(
        text.replace(
            "tick: 6h\n", "tick: 6h\nshipments: {generate: {per_day: 5, markets: [US, MARS]}}\n"
        )
    )
    assert "markets: [US, MARS]" in bad.read_text()
    proc = run("scenarios", "validate", str(bad), "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert any(e["file"] == str(bad) and "markets" in e["field"] for e in doc["errors"]), doc


def test_replay_outside_the_repository_names_the_missing_playbook_folder(tmp_path: Path) -> None:
    short = Path(__file__).resolve().parents[1] / "replay" / "data" / "short-closure.yaml"
    proc = run("replay", str(short), "--json", cwd=tmp_path)
    # Under --json the failure is a document on stdout too (same problems as stderr).
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["problems"][0]["field"] == "--playbooks"
    assert "Traceback" not in proc.stderr
    assert (
        "playbooks: field '--playbooks': no such folder: give the playbook folder with --playbooks DIR"
        in proc.stderr
    )
