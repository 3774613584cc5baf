"""Stock inputs: folders of CSV and YAML files load; every bad row is named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.domain.problems import InputError
from twin.domain.records import Shipment
from twin.files.networks import load_network
from twin.files.stock import load_stock

STOCK = """warehouse,sku,on_hand,unit_value,unit_margin,cbm_per_unit,safety_days
US-ONT1,MUG,100,12.5,4,0.01,14
US-SEA1,MUG,40,12.5,4,0.01,
NL-VEN1,LAMP,7,80,25,0.05,
"""
DEMAND = """warehouse,sku,date,units
US-ONT1,MUG,2026-11-29,3
US-ONT1,MUG,2026-11-30,4
NL-VEN1,LAMP,2026-11-30,1
"""
LINES = """shipment,sku,units
S1,MUG,200
S1,LAMP,20
"""
SHIPMENTS = """id,origin,destination,units,ready_at,due_at,priority
S1,CN-SHENZHEN-ORIGIN,US-ONT1,3,2026-11-20T00:00:00Z,2026-12-20T00:00:00Z,standard
"""


@pytest.fixture(scope="module")
def network():  # type: ignore[no-untyped-def]
    return load_network("demo")[0]


def _folder(tmp_path: Path, **files: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _shipment() -> Shipment:
    return Shipment(
        id="S1",
        origin="CN-SHENZHEN-ORIGIN",
        destination="US-ONT1",
        units=3,
        ready_at=datetime(2026, 11, 20, tzinfo=UTC),
        due_at=datetime(2026, 12, 20, tzinfo=UTC),
    )


def test_a_good_folder_loads(tmp_path: Path, network) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(
        tmp_path,
        **{"stock.csv": STOCK, "demand.csv": DEMAND, "shipment_lines.csv": LINES},
    )
    inputs, warnings = load_stock(folder, network, [_shipment()])
    assert warnings == []
    assert len(inputs.stock) == 3 and inputs.skus == {"MUG", "LAMP"}
    assert inputs.stock["safety_days"].isna().tolist() == [False, True, True]
    assert inputs.history["units"].tolist() == [3.0, 4.0, 1.0]
    assert inputs.lines["units"].tolist() == [200.0, 20.0]  # 200 x 0.01 + 20 x 0.05 = 3 cbm


def test_yaml_gives_the_same_inputs(tmp_path: Path, network) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stock.yaml"
    path.write_text(
        "stock:\n"
        "  - {warehouse: US-ONT1, sku: MUG, on_hand: 100, unit_value: 12.5, unit_margin: 4,"
        " cbm_per_unit: 0.01}\n"
        "demand:\n"
        "  - {warehouse: US-ONT1, sku: MUG, date: '2026-11-30', units: 4}\n"
    )
    inputs, _ = load_stock(path, network)
    assert inputs.stock["on_hand"].tolist() == [100.0]
    assert inputs.history["date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-30"]


def test_every_bad_row_is_named(tmp_path: Path, network) -> None:  # type: ignore[no-untyped-def]
    bad_stock = (
        STOCK
        + "XX-NOWHERE,MUG,5,12.5,4,0.01,\nUS-ONT8,CUP,-3,1,1,0.01,\nUS-ONT8,MUG,1,12.5,4,0.02,\n"
    )
    bad_demand = (
        DEMAND + "US-ONT1,KITE,2026-11-30,2\nUS-SEA1,MUG,30/11/2026,2\nUS-SEA1,MUG,2026-11-28,-1\n"
    )
    bad_lines = "shipment,sku,units\nS1,MUG,500\nS9,MUG,1\n"
    folder = _folder(
        tmp_path,
        **{"stock.csv": bad_stock, "demand.csv": bad_demand, "shipment_lines.csv": bad_lines},
    )
    with pytest.raises(InputError) as caught:
        load_stock(folder, network, [_shipment()])
    found = {(Path(p.file).name, p.where, p.field) for p in caught.value.problems}
    assert found == {
        ("stock.csv", "row 5", "warehouse"),  # unknown warehouse
        ("stock.csv", "row 6", "on_hand"),  # negative stock
        ("stock.csv", "row 7", "cbm_per_unit"),  # a SKU with two sizes
        ("demand.csv", "row 5", "sku"),  # unknown SKU
        ("demand.csv", "row 6", "date"),
        ("demand.csv", "row 7", "units"),
        ("shipment_lines.csv", "row 2", "units"),  # 500 x 0.01 = 5 cbm on a 3 cbm shipment
        ("shipment_lines.csv", "row 3", "shipment"),  # unknown shipment
    }
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "unknown warehouse 'XX-NOWHERE'" in messages
    assert "come to 5.000 cbm, but the shipment carries 3 cbm" in messages


def test_missing_columns_and_unknown_files(tmp_path: Path, network) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path, **{"stock.csv": "warehouse,sku,on_hand\nUS-ONT1,MUG,1\n"})
    with pytest.raises(InputError) as caught:
        load_stock(folder, network)
    assert {p.field for p in caught.value.problems} == {"unit_value", "unit_margin", "cbm_per_unit"}
    with pytest.raises(InputError, match="no stock.csv"):
        load_stock(_folder(tmp_path / "empty"), network)


def test_stock_validate_exits_2_naming_rows(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        **{
            "stock.csv": STOCK + "US-ONT8,CUP,-3,1,1,0.01,\n",
            "shipment_lines.csv": "shipment,sku,units\nS1,MUG,500\n",
            "shipments.csv": SHIPMENTS,
        },
    )
    runner = CliRunner()
    result = runner.invoke(
        app, ["stock", "validate", str(folder), "--shipments", str(folder / "shipments.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "stock.csv: row 5: field 'on_hand'" in result.output
    assert "shipment_lines.csv: row 2: field 'units'" in result.output
    assert "Traceback" not in result.output
    (folder / "stock.csv").write_text(STOCK)
    (folder / "shipment_lines.csv").write_text(LINES)
    good = runner.invoke(
        app, ["stock", "validate", str(folder), "--shipments", str(folder / "shipments.csv")]
    )
    assert good.exit_code == 0, good.output
    assert "valid" in good.output


def test_yaml_bad_items_are_named_by_position(tmp_path: Path, network) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stock.yaml"
    path.write_text(
        "stock:\n"
        "  - {warehouse: US-ONT1, sku: MUG, on_hand: 1, unit_value: 1, unit_margin: 1,"
        " cbm_per_unit: 0.01}\n"
        "  - {warehouse: CNSHA, sku: MUG, on_hand: 1, unit_value: 1, unit_margin: 1,"
        " cbm_per_unit: 0.01}\n"
        "demand:\n"
        "  - {warehouse: US-ONT1, sku: MUG, date: '2026-11-30', units: lots}\n"
    )
    with pytest.raises(InputError) as caught:
        load_stock(path, network)
    found = {(p.where, p.field) for p in caught.value.problems}
    # CNSHA is a port of the demo network, not a warehouse.
    assert found == {("stock[1]", "warehouse"), ("demand[0]", "units")}
