"""Read stock inputs (SPEC 1.7, docs/stock.md): a folder of CSV files or one YAML file.

A folder holds `stock.csv` and optionally `demand.csv` (daily history), `forecast.csv` (a
forecast used as given) and `shipment_lines.csv`. A YAML file is a mapping with the lists
`stock`, `demand`, `forecast` and `lines`, each item a mapping of the same columns. Every bad
row is reported at once (file, row, field), checked against the network's warehouses, the
SKUs of the stock table and, for lines, the shipments they belong to.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from twin.domain.problems import InputError, Problem, pydantic_problems
from twin.domain.records import Network, NodeKind, Shipment
from twin.domain.stock import (
    DEMAND_COLUMNS,
    LINE_COLUMNS,
    STOCK_COLUMNS,
    ShipmentLine,
    StockInputs,
    StockItem,
    lines_agree,
)
from twin.files.tables import read_text, read_yaml

FILES = {
    "stock": "stock.csv",
    "demand": "demand.csv",
    "forecast": "forecast.csv",
    "lines": "shipment_lines.csv",
}
REQUIRED = {
    "stock": STOCK_COLUMNS[:-1],
    "demand": DEMAND_COLUMNS,
    "forecast": DEMAND_COLUMNS,
    "lines": LINE_COLUMNS,
}
OPTIONAL = {"stock": ["safety_days"]}


class _Table:
    """Raw string cells of one table with where each row came from."""

    def __init__(self, file: str, frame: pd.DataFrame, where: list[str]):
        self.file = file
        self.frame = frame
        self.where = where


def _csv_table(path: Path, name: str, problems: list[Problem]) -> _Table | None:
    import io

    text = read_text(path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        problems.append(Problem(str(path), "", None, f"bad CSV: {str(exc).splitlines()[0]}"))
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    # Spreadsheet row numbers: the header is row 1.
    where = [f"row {i + 2}" for i in range(len(frame))]
    return _table_checked(str(path), name, frame, where, problems)


def _yaml_table(file: str, name: str, items: Any, problems: list[Problem]) -> _Table | None:
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        problems.append(Problem(file, name, None, f"'{name}' must be a list of mappings"))
        return None
    frame = pd.DataFrame([{str(k): v for k, v in item.items()} for item in items])
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    where = [f"{name}[{i}]" for i in range(len(frame))]
    return _table_checked(file, name, frame, where, problems)


def _table_checked(
    file: str, name: str, frame: pd.DataFrame, where: list[str], problems: list[Problem]
) -> _Table | None:
    known = set(REQUIRED[name]) | set(OPTIONAL.get(name, []))
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    for column in missing:
        problems.append(
            Problem(file, "row 1" if file.endswith(".csv") else name, column, "missing column")
        )
    for column in sorted(set(frame.columns) - known):
        problems.append(Problem(file, name, column, "unknown column, ignored", "warning"))
    if missing:
        return None
    frame = frame[[c for c in frame.columns if c in known]].copy()
    for column in frame.columns:
        frame[column] = frame[column].astype(str).str.strip()
    return _Table(file, frame.reset_index(drop=True), where)


def _bad_rows(table: _Table, mask: np.ndarray, field: str, message: str) -> list[Problem]:
    return [
        Problem(table.file, table.where[i], field, message.format(value=table.frame[field].iat[i]))
        for i in np.flatnonzero(mask)
    ]


def _numbers(table: _Table, field: str, *, positive: bool, problems: list[Problem]) -> pd.Series:
    raw = table.frame[field]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    not_number = values.isna().to_numpy() | ~np.isfinite(values.fillna(0).to_numpy())
    problems += _bad_rows(table, not_number, field, "not a finite number (got '{value}')")
    checked = values.fillna(0).to_numpy()
    if positive:
        problems += _bad_rows(
            table, ~not_number & (checked <= 0), field, "must be above 0 (got {value})"
        )
    else:
        problems += _bad_rows(
            table, ~not_number & (checked < 0), field, "must not be negative (got {value})"
        )
    return values


def load_stock(
    path: str | Path,
    network: Network,
    shipments: Iterable[Shipment] | None = None,
) -> tuple[StockInputs, list[Problem]]:
    """Load and check stock inputs; raises InputError listing every bad row."""
    path = Path(path)
    problems: list[Problem] = []
    tables: dict[str, _Table | None] = {}
    if path.is_dir():
        if not (path / FILES["stock"]).exists():
            raise InputError([Problem(str(path), "", None, f"no {FILES['stock']} in this folder")])
        for name, filename in FILES.items():
            file = path / filename
            tables[name] = _csv_table(file, name, problems) if file.exists() else None
    elif path.suffix.lower() in (".yaml", ".yml"):
        doc = read_yaml(path)
        if not isinstance(doc, dict) or "stock" not in doc:
            raise InputError(
                [Problem(str(path), "", "stock", "a stock file is a mapping with a 'stock' list")]
            )
        for key in sorted(set(doc) - set(FILES)):
            problems.append(Problem(str(path), "", str(key), "unknown key, ignored", "warning"))
        for name in FILES:
            tables[name] = _yaml_table(str(path), name, doc.get(name), problems)
    elif not path.exists():
        raise InputError([Problem(str(path), "", None, "no such file or folder")])
    else:
        raise InputError(
            [Problem(str(path), "", None, "stock inputs are a folder of CSV files or a .yaml file")]
        )
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)

    warehouses = {n.id for n in network.nodes if n.kind is NodeKind.warehouse}
    stock = _check_stock(tables["stock"], warehouses, network, problems)
    skus = set(stock["sku"]) if stock is not None else set()
    cbm_of = (
        stock.drop_duplicates("sku").set_index("sku")["cbm_per_unit"]
        if stock is not None
        else pd.Series(dtype=float)
    )
    history = _check_demand(tables["demand"], warehouses, skus, network, problems)
    forecast = _check_demand(tables["forecast"], warehouses, skus, network, problems)
    lines = _check_lines(tables["lines"], skus, cbm_of, shipments, network, problems)
    if any(p.severity == "error" for p in problems) or stock is None:
        raise InputError(problems)
    return StockInputs(stock=stock, history=history, forecast=forecast, lines=lines), problems


def _unknown_warehouses(
    table: _Table, warehouses: set[str], network: Network, problems: list[Problem]
) -> np.ndarray:
    bad = ~table.frame["warehouse"].isin(warehouses).to_numpy()
    problems += _bad_rows(
        table, bad, "warehouse", f"unknown warehouse '{{value}}' in network '{network.name}'"
    )
    return bad


def _check_stock(
    table: _Table | None, warehouses: set[str], network: Network, problems: list[Problem]
) -> pd.DataFrame | None:
    if table is None:
        return None
    records: list[dict[str, Any]] = []
    keep: list[int] = []
    for i, row in enumerate(table.frame.to_dict("records")):
        data = {k: v for k, v in row.items() if v != ""}
        try:
            item = StockItem.model_validate(data)
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, table.file, table.where[i]))
            continue
        records.append(item.model_dump())
        keep.append(i)
    _unknown_warehouses(table, warehouses, network, problems)
    frame = pd.DataFrame(records, columns=STOCK_COLUMNS)
    frame["safety_days"] = frame["safety_days"].astype(float)
    where = [table.where[i] for i in keep]
    duplicated = frame.duplicated(["warehouse", "sku"]).to_numpy()
    for i in np.flatnonzero(duplicated).tolist():
        problems.append(
            Problem(
                table.file,
                where[i],
                "sku",
                f"'{frame['sku'].iat[i]}' at '{frame['warehouse'].iat[i]}' is listed twice",
            )
        )
    first_cbm = frame.groupby("sku")["cbm_per_unit"].transform("first")
    for i in np.flatnonzero(~np.isclose(frame["cbm_per_unit"], first_cbm)).tolist():
        problems.append(
            Problem(
                table.file,
                where[i],
                "cbm_per_unit",
                f"{frame['cbm_per_unit'].iat[i]:g} for '{frame['sku'].iat[i]}' disagrees with "
                f"{first_cbm.iat[i]:g} given for it elsewhere; a SKU has one size",
            )
        )
    return frame


def _check_demand(
    table: _Table | None,
    warehouses: set[str],
    skus: set[str],
    network: Network,
    problems: list[Problem],
) -> pd.DataFrame:
    empty = pd.DataFrame(
        {
            "warehouse": pd.Series(dtype=str),
            "sku": pd.Series(dtype=str),
            "date": pd.Series(dtype="datetime64[ns]"),
            "units": pd.Series(dtype=float),
        }
    )
    if table is None:
        return empty
    frame = table.frame
    _unknown_warehouses(table, warehouses, network, problems)
    problems += _bad_rows(
        table,
        ~frame["sku"].isin(skus).to_numpy(),
        "sku",
        "unknown SKU '{value}' (not in the stock table)",
    )
    dates = pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce")
    problems += _bad_rows(
        table, dates.isna().to_numpy(), "date", "not a date YYYY-MM-DD (got '{value}')"
    )
    units = _numbers(table, "units", positive=False, problems=problems)
    out = pd.DataFrame(
        {"warehouse": frame["warehouse"], "sku": frame["sku"], "date": dates, "units": units}
    )
    duplicated = out.duplicated(["warehouse", "sku", "date"]).to_numpy() & dates.notna().to_numpy()
    problems += _bad_rows(
        table, duplicated, "date", "{value} is given twice for this warehouse and SKU"
    )
    return out


def _check_lines(
    table: _Table | None,
    skus: set[str],
    cbm_of: pd.Series,
    shipments: Iterable[Shipment] | None,
    network: Network,
    problems: list[Problem],
) -> pd.DataFrame:
    columns = {
        "shipment": pd.Series(dtype=str),
        "sku": pd.Series(dtype=str),
        "units": pd.Series(dtype=float),
    }
    if table is None:
        return pd.DataFrame(columns)
    frame = table.frame
    for i, row in enumerate(frame.to_dict("records")):
        try:
            ShipmentLine.model_validate({k: v for k, v in row.items() if v != ""})
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, table.file, table.where[i]))
    problems += _bad_rows(
        table,
        ~frame["sku"].isin(skus).to_numpy(),
        "sku",
        "unknown SKU '{value}' (not in the stock table)",
    )
    units = pd.to_numeric(frame["units"], errors="coerce").astype(float)
    out = pd.DataFrame({"shipment": frame["shipment"], "sku": frame["sku"], "units": units})
    if shipments is None:
        return out
    by_id = {s.id: s for s in shipments}
    warehouses = {n.id for n in network.nodes if n.kind is NodeKind.warehouse}
    known = frame["shipment"].isin(set(by_id)).to_numpy()
    problems += _bad_rows(
        table, ~known, "shipment", "unknown shipment '{value}' (not in the shipments file)"
    )
    into_warehouse = (
        frame["shipment"]
        .map(lambda s: s in by_id and by_id[s].destination in warehouses)
        .to_numpy()
    )
    problems += _bad_rows(
        table,
        known & ~into_warehouse,
        "shipment",
        "shipment '{value}' does not end at a warehouse, so it cannot carry SKU lines",
    )
    cbm = units * frame["sku"].map(cbm_of).astype(float)
    valid = known & cbm.notna().to_numpy()
    totals = cbm[valid].groupby(frame["shipment"][valid]).sum()
    first_row: dict[str, int] = {}
    for i in np.flatnonzero(valid).tolist():
        first_row.setdefault(frame["shipment"].iat[i], i)
    for ident, lines_cbm in totals.items():
        shipment = by_id[str(ident)]
        if not lines_agree(float(lines_cbm), shipment.units):
            problems.append(
                Problem(
                    table.file,
                    table.where[first_row[ident]],
                    "units",
                    f"the lines of shipment '{ident}' come to {lines_cbm:.3f} cbm, but the "
                    f"shipment carries {shipment.units:g} {network.unit}",
                )
            )
    return out


def plan_routes(path: Path) -> list[tuple[str, datetime, tuple[str, ...]]]:
    """The route parts of a `twin plan --json` document: (shipment, eta, lane ids) for each
    assignment; unserved shipments have none."""
    import json

    from twin.domain.durations import parse_timestamp

    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(str(path), f"line {exc.lineno}", None, f"not JSON: {exc.msg}")
        raise InputError([problem]) from None
    items = doc.get("assignments") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        problem = Problem(str(path), "", "assignments", "not a `twin plan --json` document")
        raise InputError([problem])
    parts: list[tuple[str, datetime, tuple[str, ...]]] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        try:
            lanes = tuple(str(lane) for lane in item.get("path") or ())
            parts.append((str(item["shipment"]), parse_timestamp(item["eta"]), lanes))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            where = f"assignments[{i}]"
            problems.append(Problem(str(path), where, "eta", f"bad assignment: {exc}"))
    if problems:
        raise InputError(problems)
    return parts


def write_stock_folder(
    folder: Path,
    stock: pd.DataFrame,
    history: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the CSV files of a stock folder; each file is written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = {"stock": stock, "demand": history, "forecast": forecast, "lines": lines}
    for name, frame in tables.items():
        if frame is None:
            continue
        out = folder / FILES[name]
        frame = frame.copy()
        if "date" in frame:
            frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
        tmp = out.with_name(out.name + ".tmp")
        frame.to_csv(tmp, index=False, float_format="%.6g")
        tmp.replace(out)
        written.append(out)
    return written


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """A result table as CSV or Parquet, by the file's extension."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError([Problem(str(out), "", "-o", "write to a .csv or .parquet file")])
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        message = "writing Parquet needs pyarrow: pip install 'twin[parquet]' (or use .csv)"
        raise InputError([Problem(str(out), "", "-o", message)])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False, engine="pyarrow")
    tmp.replace(out)
