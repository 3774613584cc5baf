"""`twin emissions`: CO2e per lane, mode, market and month for ESG teams (ISO 14083 terms)."""

from __future__ import annotations

import csv
import io
import json as jsonlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, handles_errors
from twin.domain.durations import format_timestamp, parse_timestamp
from twin.domain.problems import InputError, Problem

if TYPE_CHECKING:
    from twin.domain.plans import Assignment
    from twin.domain.records import Network, Shipment
    from twin.emissions.report import Shipped


@handles_errors
def emissions(
    start: Annotated[str, typer.Option("--from", help="Window start (ISO 8601 with zone).")],
    end: Annotated[str, typer.Option("--to", help="Window end, exclusive (ISO 8601 with zone).")],
    plan: Annotated[
        Path | None,
        typer.Option(help="A `twin plan --json` document; default: the stored plan of record."),
    ] = None,
    network: Annotated[
        str,
        typer.Option(help="With --plan: a network file or bundled name; else the stored name."),
    ] = "demo",
    shipments: Annotated[
        Path | None,
        typer.Option(help="With --plan: the shipments (densities, destinations)."),
    ] = None,
    emission_table: Annotated[
        Path | None, typer.Option(help="An emission intensity table; default: the bundled one.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write the report: .csv rows or .json.")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the rows as CSV.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """CO2e per lane, mode, market (destination country) and month of departure: tonne-km,
    kg CO2e, g CO2e per tonne-km and the scope (WTW/TTW) of each figure."""
    from twin.emissions import Emissions
    from twin.emissions.report import ROW_FIELDS, Shipped, emissions_report, from_assignments
    from twin.files.emissions import load_emission_table

    window = _window(start, end)
    table = load_emission_table(emission_table)
    if plan is not None:
        loaded, ships, shipped = _from_plan_file(plan, network, shipments)
        basis = str(plan)
    else:
        loaded, ships, assignments = _from_store(network)
        shipped = from_assignments(assignments, ships)
        basis = "plan of record (store)"
    em = Emissions(loaded, table)
    report = emissions_report(shipped, em, ships, *window)
    doc: dict[str, Any] = {
        "from": format_timestamp(window[0]),
        "to": format_timestamp(window[1]),
        "network": loaded.name,
        "basis": basis,
        "units": {
            "tonne_km": "t km",
            "co2e_kg": "kg CO2e",
            "co2e_ttw_kg": "kg CO2e, tank-to-wheel part",
            "intensity_g_per_tkm": "g CO2e / t km",
        },
        "method": (
            "ISO 14083 / GLEC: tonne-km x emission intensity per leg; tonnes from the network's "
            f"unit ({loaded.unit}) at {table.default_kg_per_cbm:g} kg per cbm unless a shipment "
            "states kg_per_cbm; scope per row (wtw, ttw, or lane when the lane states its own)"
        ),
        **report,
        "sources": [s.model_dump(exclude_none=True) for s in table.sources],
    }
    if out is not None:
        _write(out, doc, ROW_FIELDS)
    if json:
        emit_json(doc)
    elif as_csv:
        typer.echo(_csv(doc["rows"], ROW_FIELDS), nl=False)
    else:
        _print(doc)
    _ = Shipped  # the report's input type, named for readers of this command


def _window(start: str, end: str) -> tuple[datetime, datetime]:
    problems = []
    parsed = []
    for flag, text in (("--from", start), ("--to", end)):
        try:
            parsed.append(parse_timestamp(text))
        except ValueError as exc:
            problems.append(Problem(flag, text, None, str(exc)))
    if not problems and parsed[1] <= parsed[0]:
        problems.append(Problem("--to", end, None, "must be after --from"))
    if problems:
        raise InputError(problems)
    return parsed[0], parsed[1]


def _from_plan_file(
    path: Path, network: str, shipments: Path | None
) -> tuple[Network, dict[str, Shipment], list[Shipped]]:
    from twin.emissions.report import Shipped
    from twin.files.networks import load_network
    from twin.files.shipments import load_shipments

    loaded, _ = load_network(network)
    ships = {s.id: s for s in load_shipments(shipments, loaded)[0]} if shipments else {}
    try:
        doc = jsonlib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "", None, "no such file")]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), "", None, f"not a JSON document: {exc}")]) from None
    rows = doc.get("assignments") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise InputError([Problem(str(path), "", "assignments", "not a `twin plan --json` file")])
    lanes = loaded.lane_by_id
    problems: list[Problem] = []
    shipped = []
    for i, a in enumerate(rows):
        where = f"assignments[{i}]"
        try:
            path_ids = tuple(str(p) for p in a["path"])
            units = float(a["units"])
            eta = parse_timestamp(a["eta"])
            sid = str(a["shipment"])
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(Problem(str(path), where, None, f"bad assignment: {exc}"))
            continue
        unknown = [p for p in path_ids if p not in lanes]
        if unknown:
            problems.append(Problem(str(path), where, "path", f"unknown lanes {unknown}"))
            continue
        if not path_ids:
            continue
        dest = ships[sid].destination if sid in ships else lanes[path_ids[-1]].to
        # A plan document has no leg times: every leg counts in the month of the ETA.
        shipped.append(Shipped(sid, units, path_ids, (eta,) * len(path_ids), dest))
    if problems:
        raise InputError(problems)
    return loaded, ships, shipped


def _from_store(network: str) -> tuple[Network, dict[str, Shipment], list[Assignment]]:
    from twin.store.common import NotFound
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import require_current
    from twin.store.networks import get_network
    from twin.store.routes import get_routes
    from twin.store.shipments import get_shipments

    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        try:
            loaded = get_network(session, name=network)
        except NotFound as exc:
            raise InputError([Problem("--network", network, None, str(exc))]) from None
        ships = {s.id: s for s in get_shipments(session, network_name=network)}
        routes = get_routes(session, network_name=network)
    return loaded, ships, [a for parts in routes.values() for a in parts]


def _csv(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in fields})
    return buffer.getvalue()


def _write(out: Path, doc: dict[str, Any], fields: tuple[str, ...]) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InputError([Problem(str(out), "", None, "write the report to a .csv or .json file")])
    text = _csv(doc["rows"], fields) if suffix == ".csv" else jsonlib.dumps(doc, indent=2) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)


def _print(doc: dict[str, Any]) -> None:
    table = Table(title=f"CO2e {doc['from']} to {doc['to']} ({doc['basis']})")
    for name in ("mode", "tonne-km", "kg CO2e", "g/tkm", "scopes"):
        table.add_column(name, justify="left" if name in ("mode", "scopes") else "right")
    for row in doc["by_mode"]:
        g = row["intensity_g_per_tkm"]
        table.add_row(
            row["mode"],
            f"{row['tonne_km']:,.0f}",
            f"{row['co2e_kg']:,.1f}",
            "-" if g is None else f"{g:,.2f}",
            ", ".join(row["scopes"]),
        )
    console.print(table)
    total = doc["total"]
    console.print(
        f"total {total['co2e_kg']:,.1f} kg CO2e over {total['tonne_km']:,.0f} t km"
        f" (tank-to-wheel {total['co2e_ttw_kg']:,.1f} kg)"
        + (
            f"; {total['co2e_unknown_tonne_km']:,.0f} t km with no known intensity"
            if total["co2e_unknown_tonne_km"]
            else ""
        )
    )
