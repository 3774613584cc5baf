"""`twin plan` for a person: a short summary, the plan written as CSV / Excel / Parquet, an ERP
export read through a column mapping with date-only values, and --skip-invalid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.files.networks import load_network
from twin.files.shipments import load_shipments, write_shipments
from twin.shipments.generate import generate_shipments

NATIVE = """id,origin,destination,units,ready_at,due_at,priority
S1,CN-SHENZHEN-ORIGIN,US-ONT8,12,2024-01-02T00:00:00Z,2024-02-10T23:59:59Z,standard
S2,CN-SHENZHEN-ORIGIN,NL-VEN1,3,2024-01-03T00:00:00Z,2024-01-20T23:59:59Z,express
"""
# The same two shipments as an ERP export: its own headers, dates without times, an extra column.
ERP = """ORDER_NO,SHIP_FROM,SHIP_TO,QTY_CBM,READY_DATE,DUE_DATE,SERVICE,BUYER
S1,CN-SHENZHEN-ORIGIN,US-ONT8,12,2024-01-02,2024-02-10,standard,ACME
S2,CN-SHENZHEN-ORIGIN,NL-VEN1,3,2024-01-03,2024-01-20,express,ACME
"""
ERP_MAP = [
    "ORDER_NO=id",
    "SHIP_FROM=origin",
    "SHIP_TO=destination",
    "QTY_CBM=units",
    "READY_DATE=ready_at",
    "DUE_DATE=due_at",
    "SERVICE=priority",
]


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    network, _ = load_network("demo")
    out = tmp_path_factory.mktemp("plan") / "ships.csv"
    start = datetime(2024, 1, 2, tzinfo=UTC)
    write_shipments(generate_shipments(network, start=start, days=3, per_day=40, seed=3), out)
    return out


def test_erp_export_reads_through_a_mapping_like_the_native_file(tmp_path: Path) -> None:
    (tmp_path / "native.csv").write_text(NATIVE)
    (tmp_path / "erp.csv").write_text(ERP)
    network, _ = load_network("demo")
    native, _ = load_shipments(tmp_path / "native.csv", network)
    mapping = dict(pair.split("=") for pair in ERP_MAP)
    erp, warnings = load_shipments(tmp_path / "erp.csv", network, mapping=mapping)
    # Equal field for field; the ERP's extra column is kept (and exported again).
    assert [s.model_dump(exclude={"BUYER"}) for s in erp] == [s.model_dump() for s in native]
    assert [s.model_extra for s in erp] == [{"BUYER": "ACME"}] * 2
    assert erp[0].ready_at == datetime(2024, 1, 2, tzinfo=UTC)  # a date: from the day's start
    assert erp[0].due_at == datetime(2024, 2, 10, 23, 59, 59, tzinfo=UTC)  # due by its end
    assert [(w.field, w.severity) for w in warnings] == [("BUYER", "warning")] * 2
    # The same mapping as a YAML file, through the CLI.
    (tmp_path / "map.yaml").write_text("\n".join(p.replace("=", ": ") for p in ERP_MAP) + "\n")
    done = run("shipments", "validate", str(tmp_path / "erp.csv"), "--network", "demo")
    assert done.exit_code == 2  # without the mapping: every row refused, each field named
    done = run(
        "shipments", "validate", str(tmp_path / "erp.csv"), "--mapping", str(tmp_path / "map.yaml")
    )
    assert done.exit_code == 0, done.output
    assert "ok: 2 shipments, 15.0 units" in done.stdout


def test_a_mapping_to_a_field_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    (tmp_path / "erp.csv").write_text(ERP)
    done = run(
        "shipments", "validate", str(tmp_path / "erp.csv"), "--map", "QTY_CBM=unts", "--json"
    )
    assert done.exit_code == 2
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert doc["problems"][0]["message"] == "unknown shipment field 'unts' (did you mean 'units'?)"


def test_skip_invalid_plans_the_valid_rows_and_lists_the_rest(tmp_path: Path) -> None:
    bad = NATIVE + (
        "S3,CN-SHENZHEN-ORIGIN,US-ONT9,5,2024-01-02T00:00:00Z,2024-02-10T00:00:00Z,standard\n"
        "S4,CN-SHENZHEN-ORIGIN,US-ONT8,-5,2024-01-02T00:00:00Z,2024-02-10T00:00:00Z,standard\n"
    )
    (tmp_path / "ships.csv").write_text(bad)
    refused = run("plan", "--network", "demo", "--shipments", str(tmp_path / "ships.csv"))
    assert refused.exit_code == 2
    done = run(
        "plan", "--network", "demo", "--shipments", str(tmp_path / "ships.csv"),
        "--skip-invalid", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert sorted({a["shipment"] for a in doc["assignments"]}) == ["S1", "S2"]
    assert [(p["where"], p["field"]) for p in doc["skipped"]] == [
        ("shipment S4 (row 5)", "units"),
        ("shipment S3 (row 4)", "destination"),
    ]
    assert "did you mean 'US-ONT8'?" in doc["skipped"][1]["message"]
    assert "2 rows left out, 2 shipments planned" in done.stderr


def test_plan_files_hold_what_the_json_document_says(many: Path, tmp_path: Path) -> None:
    done = run("plan", "--network", "demo", "--shipments", str(many), "--json")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    expected = {
        (a["shipment"], round(a["units"], 6), round(a["cost"], 6)) for a in doc["assignments"]
    }
    for suffix in (".csv", ".xlsx", ".parquet"):
        out = tmp_path / f"plan{suffix}"
        done = run("plan", "--network", "demo", "--shipments", str(many), "-o", str(out))
        assert done.exit_code == 0, done.output
        frame = {
            ".csv": pd.read_csv,
            ".xlsx": pd.read_excel,
            ".parquet": pd.read_parquet,
        }[suffix](out)
        got = {
            (r.shipment, round(float(r.units), 6), round(float(r.cost), 6))
            for r in frame.itertuples()
        }
        assert got == expected, suffix
        assert set(frame["status"]) == {"routed"}
        assert frame["route"].str.contains(" → ").all()
    done = run("plan", "--network", "demo", "--shipments", str(many), "-o", str(tmp_path / "p.txt"))
    assert done.exit_code == 2 and "p.txt" in done.stderr


def test_plan_prints_a_summary_unless_asked_for_all(many: Path) -> None:
    shipments = len(many.read_text().splitlines()) - 1
    short = run("plan", "--network", "demo", "--shipments", str(many))
    assert short.exit_code == 0, short.output
    lines = short.stdout.splitlines()
    assert len(lines) < 40 < shipments
    assert lines[0].startswith(f"plan: optimal: {shipments} of {shipments} shipments routed")
    assert any(line.startswith("on time ") for line in lines)
    full = run("plan", "--network", "demo", "--shipments", str(many), "--all")
    assert full.exit_code == 0
    assert len(full.stdout.splitlines()) > shipments


def test_version_and_flags_in_help() -> None:
    from twin import __version__

    assert run("--version").stdout.strip() == f"twin {__version__}"
    help_text = run("plan", "--help").stdout
    assert "--json" in help_text and "<bool>" not in help_text
    assert "--skip-invalid" in help_text and "--all" in help_text
