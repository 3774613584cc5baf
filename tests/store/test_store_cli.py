"""`twin db …` on a SQLite file chosen by TWIN_DATABASE_URL: upgrade, load, reload, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.files.networks import write_network
from twin.files.shipments import write_shipments
from twin.store.db import make_engine, session_scope
from twin.store.networks import get_network

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    return url


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_upgrade_then_load_network_then_reload(
    make_network: Any, db_url: str, tmp_path: Path
) -> None:
    network_file = tmp_path / "small.yaml"
    write_network(make_network(), network_file)

    code, out, err = _run("db", "load-network", str(network_file))
    assert code == 1 and "twin db upgrade" in err  # not migrated yet: says what to do

    code, out, _ = _run("db", "upgrade", "--json")
    assert code == 0 and json.loads(out)["from"] == [] and json.loads(out)["to"]
    code, out, _ = _run("db", "upgrade")
    assert code == 0 and "already at" in out

    code, out, _ = _run("db", "load-network", str(network_file), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["created"] and doc["inserted"] == {"nodes": 6, "lanes": 3}

    code, out, _ = _run("db", "load-network", str(network_file))
    assert code == 0 and "nodes 0 inserted, 0 updated, 6 unchanged" in out

    engine = make_engine(db_url)
    with session_scope(engine) as session:
        assert get_network(session, name="small") == make_network()
    engine.dispose()

    code, out, _ = _run("db", "networks", "--json")
    assert code == 0 and [(n["name"], n["lanes"]) for n in json.loads(out)] == [("small", 3)]
    code, out, _ = _run("db", "current", "--json")
    assert code == 0 and json.loads(out)["up_to_date"] is True


def test_load_shipments(make_network: Any, make_shipment: Any, db_url: str, tmp_path: Path) -> None:
    network_file, shipments_file = tmp_path / "small.yaml", tmp_path / "s.csv"
    write_network(make_network(), network_file)
    write_shipments([make_shipment("S1"), make_shipment("S2")], shipments_file)
    assert _run("db", "upgrade")[0] == 0
    assert _run("db", "load-network", str(network_file))[0] == 0

    code, out, _ = _run("db", "load-shipments", str(shipments_file), "--network", "small", "--json")
    assert code == 0 and json.loads(out)["inserted"] == {"shipments": 2}
    code, out, _ = _run("db", "load-shipments", str(shipments_file), "--network", "small")
    assert code == 0 and "0 inserted, 0 updated, 2 unchanged" in out

    code, _, err = _run("db", "load-shipments", str(shipments_file), "--network", "nope")
    assert code == 2 and "no stored network named 'nope'" in err


def test_bad_input_exits_2_and_stores_nothing(
    make_network: Any, db_url: str, tmp_path: Path
) -> None:
    assert _run("db", "upgrade")[0] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nnodes:\n  - {id: A, kind: port}\nlanes:\n"
        "  - {id: L, from: A, to: B, mode: sea, transit_days: -1, cost_per_unit: 1}\n"
    )
    code, _, err = _run("db", "load-network", str(bad))
    assert code == 2 and "L" in err and "transit_days" in err
    code, _, err = _run("db", "load-network", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err
    code, out, _ = _run("db", "networks", "--json")
    assert code == 0 and json.loads(out) == []

    bad_shipments = tmp_path / "s.csv"
    bad_shipments.write_text(
        "id,origin,destination,units,ready_at,due_at\nS1,A,B,5,2024-01-01T00:00:00Z,x\n"
    )
    write_network(make_network(), tmp_path / "small.yaml")
    assert _run("db", "load-network", str(tmp_path / "small.yaml"))[0] == 0
    code, _, err = _run("db", "load-shipments", str(bad_shipments), "--network", "small")
    assert code == 2 and "due_at" in err
