"""`twin plan`: an optimal routing plan for a shipment file on a network (SPEC 2)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import JustifyMethod
from rich.table import Table

from twin.cli.common import (
    EXIT_FAILURE,
    ColumnMapOpt,
    JsonOpt,
    MappingFileOpt,
    console,
    emit_json,
    err_console,
    handles_errors,
    report_problems,
)
from twin.domain.durations import parse_timestamp
from twin.domain.problems import InputError, Problem, errors_only
from twin.domain.records import Network, Shipment


@handles_errors
def plan(
    network: Annotated[
        str, typer.Option(help="A network file, CSV folder or bundled name (demo).")
    ],
    shipments: Annotated[Path, typer.Option(help="Shipments (CSV or YAML).")],
    avoid: Annotated[
        list[str] | None,
        typer.Option(help="A node or lane id to keep out of every route; repeat for more."),
    ] = None,
    signals: Annotated[
        Path | None, typer.Option(help="Signals to score into expected delays, priced as risk.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="The plan's `now` (ISO 8601 with zone); default: the earliest ready time."
        ),
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds the solver may take.")] = 120.0,
    carbon_price: Annotated[
        float,
        typer.Option(
            help="Money per tonne CO2e added to the objective (docs/emissions.md); 0: none.",
            min=0.0,
        ),
    ] = 0.0,
    emission_table: Annotated[
        Path | None,
        typer.Option(help="An emission intensity table (YAML); default: the bundled one."),
    ] = None,
    stock: Annotated[
        Path | None,
        typer.Option(
            help="Stock inputs (docs/stock.md): shipments with SKU lines are priced late by "
            "the margin their lines would lose, less the holding saved.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--out",
            metavar="FILE",
            help="Also write the plan, one row per shipment and route: .csv, .xlsx or .parquet.",
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Print every shipment's route, not a summary.")
    ] = False,
    map_: ColumnMapOpt = None,
    mapping: MappingFileOpt = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Plan the valid shipments; list the rows left out and why."
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Route every shipment at least cost: transport + lateness + risk + unserved penalty.

    Exit 0 with a proven optimum; exit 1 (the document still printed) when the plan is
    feasible only, infeasible, out of time or in error; exit 2 on bad input.
    """
    from twin.emissions import Emissions, annotate_plan_document
    from twin.files.emissions import load_emission_table
    from twin.files.networks import load_network
    from twin.files.plans import TABLE_SUFFIXES, plan_frame, write_plan
    from twin.files.shipments import load_shipments, read_mapping
    from twin.network.graph import NetworkView, WhatIf
    from twin.optimise import PlanRequest, SolveOptions
    from twin.optimise import plan as make_plan

    loaded, warnings = load_network(network)
    ships, ship_problems = load_shipments(
        shipments,
        loaded,
        mapping=read_mapping(map_ or [], mapping),
        skip_invalid=skip_invalid,
    )
    skipped = errors_only(ship_problems)
    warnings = list(warnings) + [p for p in ship_problems if p.severity != "error"]
    if out is not None and out.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(
            [
                Problem(
                    str(out), "", "--out", f"write the plan to a {', '.join(TABLE_SUFFIXES)} file"
                )
            ]
        )
    problems = []
    known = set(loaded.node_by_id) | set(loaded.lane_by_id)
    for item in avoid or []:
        if item not in known:
            problems.append(Problem("--avoid", item, None, "not a node or lane of the network"))
    now = None
    if at is not None:
        try:
            now = parse_timestamp(at)
        except ValueError as exc:
            problems.append(Problem("--at", "", None, str(exc)))
    if not ships:
        problems.append(Problem(str(shipments), "", None, "no shipments to plan"))
    if problems:
        raise InputError(problems)
    if now is None:
        # A file plan is reproducible: it starts when the first shipment is ready, not at the
        # wall clock.
        now = min(s.ready_at for s in ships)
    risk: dict[str, float] = {}
    if signals is not None:
        risk = _risk_from_signals(signals, loaded, now)
    stock_prices: list[dict[str, Any]] | None = None
    if stock is not None:
        ships, stock_prices, more = _priced_by_stock(stock, loaded, ships, now)
        warnings += more
    view = NetworkView(loaded, WhatIf(avoid=frozenset(avoid or ())))
    emissions = Emissions(loaded, load_emission_table(emission_table))
    carbon = emissions.carbon_cost_per_unit(carbon_price)
    result = make_plan(
        view,
        PlanRequest(now=now, shipments=tuple(ships), risk_days=risk, lane_cost_adder=carbon),
        SolveOptions(time_limit_s=time_limit),
        clock=time.perf_counter,
    )
    doc: dict[str, Any] = annotate_plan_document(
        result.to_document(), emissions.plan(result, {s.id: s for s in ships}), carbon
    )
    doc["timing"] = {k: round(float(v), 6) for k, v in doc["timing"].items()}
    if stock_prices is not None:
        doc["stock_prices"] = stock_prices
    report_problems([], warnings)
    if skipped:
        doc["skipped"] = [p.as_dict() for p in skipped]
        for problem in skipped:
            err_console.print(f"skipped: {problem}", style="yellow", markup=False, highlight=False)
        rows = len({(p.file, p.where) for p in skipped})
        err_console.print(f"{rows} rows left out, {len(ships)} shipments planned", style="yellow")
    if out is not None:
        written = write_plan(plan_frame(doc, ships, loaded), out)
        err_console.print(f"wrote {written}", highlight=False)
    if json:
        emit_json(doc)
    elif show_all:
        _print(doc, loaded.currency, loaded.unit)
    else:
        _summary(doc, ships, loaded)
    if result.status.value != "optimal":
        # The document is printed either way; only a proven optimum is a plan to act on.
        err_console.print(
            f"error: the plan is {result.status.value}, not optimal"
            + (f": {result.message}" if result.message else ""),
            style="red",
            markup=False,
        )
        raise typer.Exit(EXIT_FAILURE)


def _priced_by_stock(
    path: Path, network: Network, ships: list[Shipment], now: datetime
) -> tuple[list[Shipment], list[dict[str, Any]], list[Problem]]:
    """The shipments with SKU lines re-priced by stock (twin.stock.pricing.price_book): each
    one's late day costs the margin its lines would lose, less the holding saved, against the
    stock on hand, the forecast and the rest of the book arriving on its due days."""
    from twin.files.stock import load_stock
    from twin.stock.position import stock_position
    from twin.stock.pricing import price_book

    inputs, warnings = load_stock(path, network, ships)
    position = stock_position(
        inputs,
        destinations={s.id: s.destination for s in ships},
        etas={s.id: s.due_at for s in ships},
        now=now,
        holdout_days=0,
        origins={s.id: s.origin for s in ships},
        departures={s.id: s.ready_at for s in ships},
    )
    prices = {p.shipment: p for p in price_book(position, ships, inputs.lines, now=now)}
    by_id = {s.id: s for s in ships}
    rows = [
        {
            "shipment": p.shipment,
            "was_per_unit_day": by_id[p.shipment].penalty_per_unit_day,
            "per_unit_day": round(p.per_cbm_day, 4),
            "probe_days": p.probe_days,
            "margin_lost": round(p.margin_lost, 2),
            "holding_saved": round(p.holding_saved, 2),
            "units_lost": round(p.units_lost, 2),
        }
        for p in prices.values()
    ]
    repriced = [
        s.model_copy(update={"late_penalty_per_unit_day": prices[s.id].per_cbm_day})
        if s.id in prices
        else s
        for s in ships
    ]
    return repriced, rows, list(warnings)


def _risk_from_signals(path: Path, network: Network, now: datetime) -> dict[str, float]:
    """Expected delay days per lane from scored signals (lanes already carry the risk of the
    nodes and chokepoints they touch, so only lane entries are priced)."""
    try:
        from twin.feeds.ingest import ingest_path
        from twin.scoring.exposure import expected_delay_days
        from twin.scoring.propagate import assess
    except ImportError:  # pragma: no cover - the scorer ships with twin; kept for partial installs
        raise InputError([Problem(str(path), "", None, "signals not supported yet")]) from None
    if not path.exists():
        raise InputError([Problem(str(path), "", None, "no such file or folder")])
    ingested = ingest_path(path, network)
    scores = assess(ingested.frame, network, now)
    delays = expected_delay_days(scores.frame)
    lanes = network.lane_by_id
    return {target: days for target, days in delays.items() if target in lanes and days > 0}


def _print(doc: dict[str, Any], currency: str, unit: str) -> None:
    table = Table(title=f"plan: {doc['status']}")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("shipment", "left"),
        (f"units ({unit})", "right"),
        ("path", "left"),
        ("eta", "left"),
        (f"cost ({currency})", "right"),
        ("late days", "right"),
        ("CO2e kg", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for a in doc["assignments"]:
        table.add_row(
            a["shipment"],
            f"{a['units']:g}",
            " > ".join(a["path"]) or "(there)",
            a["eta"],
            f"{a['cost']:,.2f}",
            str(a["late_days"]),
            f"{a.get('co2e_kg', 0.0):,.1f}",
        )
    console.print(table)
    if doc["unserved"]:
        miss = Table(title="unserved")
        miss.add_column("shipment")
        miss.add_column(f"units ({unit})", justify="right")
        miss.add_column("reason")
        for u in doc["unserved"]:
            miss.add_row(u["shipment"], f"{u['units']:g}", u["reason"])
        console.print(miss)
    cost = doc["cost"]
    objective = doc["objective"]
    console.print(
        f"total {objective:,.2f} {currency}: transport {cost['transport']:,.2f}, lateness "
        f"{cost['lateness']:,.2f}, risk {cost['risk']:,.2f}, unserved {cost['unserved']:,.2f}"
        + (f", carbon {cost['carbon']:,.2f}" if "carbon" in cost else "")
        if objective is not None
        else "no usable solution"
    )
    if "co2e_kg" in cost:
        console.print(f"CO2e {cost['co2e_kg']:,.1f} kg ({', '.join(doc['emissions']['scopes'])})")
    t = doc["timing"]
    console.print(
        f"build {t.get('build_s', 0):.3f}s, solve {t.get('solve_s', 0):.3f}s "
        f"(HiGHS {t.get('highs_s', 0):.3f}s), total {t.get('total_s', 0):.3f}s"
    )


def _summary(doc: dict[str, Any], ships: list[Shipment], network: Network) -> None:
    """A plan in a dozen lines: what it costs, how much is late, by which modes, the main routes."""
    from twin.files.plans import plan_frame

    currency, unit = network.currency, network.unit
    frame = plan_frame(doc, ships, network)
    routed = frame[frame["status"] == "routed"]
    console.print(
        f"plan: {doc['status']}: {routed['shipment'].nunique()} of {len(ships)} shipments "
        f"routed ({routed['units'].sum():,.1f} {unit}), {len(doc['unserved'])} unserved"
    )
    cost, objective = doc["cost"], doc["objective"]
    if objective is not None:
        console.print(
            f"cost {objective:,.2f} {currency}: transport {cost['transport']:,.2f}, lateness "
            f"{cost['lateness']:,.2f}, risk {cost['risk']:,.2f}, unserved {cost['unserved']:,.2f}"
            + (f", carbon {cost['carbon']:,.2f}" if "carbon" in cost else "")
        )
    if "co2e_kg" in cost:
        scopes = ", ".join(doc.get("emissions", {}).get("scopes", []))
        console.print(f"CO2e {cost['co2e_kg']:,.1f} kg ({scopes}; docs/emissions.md)")
    late = routed[routed["late_days"] > 0]
    console.print(
        f"on time {routed['shipment'].nunique() - late['shipment'].nunique()}, late "
        f"{late['shipment'].nunique()} ({(late['units'] * late['late_days']).sum():,.1f} "
        f"{unit}-days late)"
    )
    if not routed.empty:
        modes = routed.groupby("modes")["units"].agg(["sum", "count"]).sort_values("sum")[::-1]
        table = Table(title="by mode")
        columns: tuple[tuple[str, JustifyMethod], ...]
        columns = (("modes", "left"), (unit, "right"), ("routes", "right"))
        for column, justify in columns:
            table.add_column(column, justify=justify)
        for name, row in modes.head(6).iterrows():
            table.add_row(str(name), f"{row['sum']:,.1f}", str(int(row["count"])))
        console.print(table)
        routes = (
            routed.groupby("route")["units"].agg(["sum", "count"]).sort_values("sum")[::-1].head(5)
        )
        table = Table(title=f"busiest of {routed['route'].nunique()} routes")
        columns = (("route", "left"), (unit, "right"), ("shipments", "right"))
        for column, justify in columns:
            table.add_column(column, justify=justify)
        for name, row in routes.iterrows():
            table.add_row(str(name), f"{row['sum']:,.1f}", str(int(row["count"])))
        console.print(table)
    t = doc["timing"]
    console.print(
        f"solved in {t.get('total_s', 0):.2f}s. --all prints every shipment; "
        "-o plan.csv / .xlsx / .parquet writes them."
    )
