"""`twin stock …`: cover per warehouse x SKU and projected stock-outs; validate and generate
stock inputs (SPEC 1.7, docs/stock.md)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, err_console, handles_errors, report_problems
from twin.domain.durations import format_timestamp, parse_timestamp
from twin.domain.problems import InputError, Problem
from twin.domain.records import Shipment

app = typer.Typer(
    help="Stock on hand, demand and inbound freight: cover and projected stock-outs.",
    invoke_without_command=True,
)

StockOption = Annotated[
    Path | None,
    typer.Option("--stock", help="A stock folder (stock.csv, demand.csv, ...) or .yaml file."),
]
NetworkOption = Annotated[str, typer.Option(help="A network file, CSV folder or bundled name.")]
ShipmentsOption = Annotated[
    Path | None, typer.Option(help="Shipments (CSV or YAML) the SKU lines belong to.")
]


@app.callback()
@handles_errors
def show(
    ctx: typer.Context,
    stock: StockOption = None,
    network: NetworkOption = "demo",
    shipments: ShipmentsOption = None,
    plan: Annotated[
        Path | None,
        typer.Option(help="The plan of record (`twin plan --json` output) for ETAs."),
    ] = None,
    solve: Annotated[
        bool,
        typer.Option("--solve", help="Plan the shipments now, as `twin plan` does, for ETAs."),
    ] = False,
    signals: Annotated[
        Path | None,
        typer.Option(help="Signals scored into expected delays, added to the plan's ETAs."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="The projection's `now` (ISO 8601); default: the day after the history."),
    ] = None,
    horizon: Annotated[int, typer.Option(help="Days to project.", min=1, max=730)] = 120,
    holdout: Annotated[
        int, typer.Option(help="Days of history held out to measure the forecast (0: none).", min=0)
    ] = 28,
    top: Annotated[int, typer.Option(help="Pairs at risk to list.", min=0)] = 20,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write every pair to a .csv or .parquet.")
    ] = None,
) -> None:
    """Project stock per warehouse x SKU: on hand + inbound at the plan's ETAs - forecast
    demand, and show cover and projected stock-outs. ETAs come from --plan, else the
    shipments' due dates."""
    if ctx.invoked_subcommand is not None:
        return
    if stock is None:
        raise InputError([Problem("--stock", "", "--stock", "give the stock folder or file")])
    from twin.files.networks import load_network
    from twin.files.shipments import load_shipments
    from twin.files.stock import load_stock, plan_routes, write_table
    from twin.stock.etas import departures, expected_etas
    from twin.stock.position import stock_position

    loaded, warnings = load_network(network)
    ships: list[Shipment] = []
    if shipments is not None:
        ships, more = load_shipments(shipments, loaded)
        warnings = list(warnings) + list(more)
    inputs, more = load_stock(stock, loaded, ships if shipments is not None else None)
    warnings = list(warnings) + list(more)
    if not inputs.lines.empty and shipments is None:
        raise InputError(
            [Problem(str(stock), "", "--shipments", "SKU lines need the shipments they belong to")]
        )
    if plan is not None and solve:
        raise InputError([Problem("--plan", "", "--solve", "give --plan or --solve, not both")])
    now = _now(at, inputs.history, ships)
    if plan is not None:
        parts, source = plan_routes(plan), "plan"
    elif solve:
        parts, source = _solve(loaded, ships), "plan"
    else:
        parts, source = [(s.id, s.due_at, ()) for s in ships], "due_at"
    delays: dict[str, float] = {}
    if signals is not None:
        from twin.cli.plan_cmd import _risk_from_signals  # the scoring `twin plan` prices

        delays = _risk_from_signals(signals, loaded, now)
        source += " + expected delays"
    etas = expected_etas(parts, delays)
    position = stock_position(
        inputs,
        destinations={s.id: s.destination for s in ships},
        etas=etas,
        now=now,
        horizon=horizon,
        holdout_days=holdout,
        origins={s.id: s.origin for s in ships},
        departures=departures(ships),
    )
    table = position.table
    report_problems([], warnings)
    if out is not None:
        write_table(table, out)
        err_console.print(f"wrote {out}: {len(table)} warehouse x SKU rows")
    summary = _by_warehouse(table)
    accuracy = position.accuracy.as_dict() if position.accuracy else None
    if json:
        emit_json(
            {
                "now": format_timestamp(now),
                "horizon_days": horizon,
                "etas": source,
                "forecast_accuracy": accuracy,
                "warehouses": summary,
                "pairs": _records(table),
            }
        )
        return
    _print(summary, table, top, now, horizon, source, accuracy, loaded.currency)


def _solve(network: Any, ships: list[Shipment]) -> list[tuple[str, datetime, tuple[str, ...]]]:
    """The plan of record as `twin plan` makes it: every shipment routed at least cost from
    the earliest ready time."""
    from twin.network.graph import NetworkView, WhatIf
    from twin.optimise import PlanRequest, SolveOptions
    from twin.optimise import plan as make_plan

    if not ships:
        raise InputError([Problem("--solve", "", "--shipments", "no shipments to plan")])
    result = make_plan(
        NetworkView(network, WhatIf()),
        PlanRequest(now=min(s.ready_at for s in ships), shipments=tuple(ships)),
        SolveOptions(),
    )
    if result.status.value not in ("optimal", "feasible"):
        raise RuntimeError(f"the plan is {result.status.value}: {result.message}")
    return [(a.shipment, a.eta, tuple(a.path)) for a in result.assignments]


def _now(at: str | None, history: Any, ships: list[Any]) -> datetime:
    if at is not None:
        try:
            return parse_timestamp(at)
        except ValueError as exc:
            raise InputError([Problem("--at", "", "--at", str(exc))]) from None
    if not history.empty:
        last = history["date"].max().date() + timedelta(days=1)
        return datetime(last.year, last.month, last.day, tzinfo=UTC)
    if ships:
        return min(s.ready_at for s in ships)
    raise InputError(
        [Problem("--at", "", "--at", "no history or shipments to start from; give --at")]
    )


def _by_warehouse(table: Any) -> list[dict[str, Any]]:
    grouped = table.groupby("warehouse", sort=True)
    rows = []
    for warehouse, g in grouped:
        out = g["stockout_day"].dropna()
        rows.append(
            {
                "warehouse": warehouse,
                "skus": len(g),
                "on_hand": float(g["on_hand"].sum()),
                "inbound": float(g["inbound_units"].sum()),
                "outbound": float(g["outbound_units"].sum()),
                "median_cover_days": float(g["cover_days"].median()),
                "skus_out": len(out),
                "first_stockout_day": int(out.min()) if len(out) else None,
                "units_lost": round(float(g["units_lost"].sum()), 2),
                "margin_lost": round(float(g["margin_lost"].sum()), 2),
                "below_safety": int(g["below_safety"].sum()),
            }
        )
    return rows


def _records(table: Any) -> list[dict[str, Any]]:
    rows = []
    for row in table.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):  # not given
                clean[key] = None
            elif isinstance(value, date):
                clean[key] = value.isoformat()
            elif isinstance(value, float):
                clean[key] = round(value, 4)
            else:
                clean[key] = value
        if clean.get("stockout_day") is not None:
            clean["stockout_day"] = int(clean["stockout_day"])
        rows.append(clean)
    return rows


def _print(
    summary: list[dict[str, Any]],
    table: Any,
    top: int,
    now: datetime,
    horizon: int,
    source: str,
    accuracy: dict[str, Any] | None,
    currency: str,
) -> None:
    head = Table(title=f"stock cover from {format_timestamp(now)}, {horizon} days (ETAs: {source})")
    for name in (
        "warehouse",
        "SKUs",
        "on hand",
        "inbound",
        "median cover d",
        "SKUs out",
        "first out d",
        "units lost",
        f"margin lost ({currency})",
    ):
        head.add_column(
            name, justify="left" if name == "warehouse" else "right", no_wrap=name == "warehouse"
        )
    for r in summary:
        head.add_row(
            r["warehouse"],
            str(r["skus"]),
            f"{r['on_hand']:,.0f}",
            f"{r['inbound']:,.0f}",
            f"{r['median_cover_days']:g}",
            str(r["skus_out"]),
            "-" if r["first_stockout_day"] is None else str(r["first_stockout_day"]),
            f"{r['units_lost']:,.0f}",
            f"{r['margin_lost']:,.0f}",
        )
    console.print(head)
    risky = table[table["units_lost"] > 0].sort_values("margin_lost", ascending=False).head(top)
    if len(risky):
        short = int((table["units_lost"] > 0).sum())
        pairs = Table(title=f"projected stock-outs, {len(risky)} of {short} by margin lost")
        for name in (
            "warehouse",
            "sku",
            "on hand",
            "demand/d",
            "cover d",
            "inbound",
            "out on",
            "days short",
            "units lost",
            f"margin lost ({currency})",
        ):
            text = name in ("warehouse", "sku", "out on")
            pairs.add_column(name, justify="left" if text else "right", no_wrap=text)
        for r in risky.itertuples():
            pairs.add_row(
                r.warehouse,
                r.sku,
                f"{r.on_hand:,.0f}",
                f"{r.demand_per_day:,.1f}",
                str(r.cover_days),
                f"{r.inbound_units:,.0f}",
                str(r.stockout_date),
                str(r.days_short),
                f"{r.units_lost:,.0f}",
                f"{r.margin_lost:,.0f}",
            )
        console.print(pairs)
    if accuracy:
        console.print(
            f"forecast on the last {accuracy['holdout_days']} days held out: WAPE "
            f"{accuracy['wape']:.3f} (seasonal naive {accuracy['naive_wape']:.3f}), MASE "
            f"{accuracy['mase']:.3f} over {accuracy['pairs']} warehouse x SKU"
        )


@app.command()
@handles_errors
def validate(
    stock: Annotated[Path, typer.Argument(help="A stock folder or .yaml file.")],
    network: NetworkOption = "demo",
    shipments: ShipmentsOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check stock inputs; exit 2 naming every bad row (file, row, field)."""
    from twin.files.networks import load_network
    from twin.files.shipments import load_shipments
    from twin.files.stock import load_stock

    loaded, warnings = load_network(network)
    ships = None
    if shipments is not None:
        ships, more = load_shipments(shipments, loaded)
        warnings = list(warnings) + list(more)
    inputs, more = load_stock(stock, loaded, ships)
    warnings = list(warnings) + list(more)
    report_problems([], warnings)
    doc = {
        "valid": True,
        "pairs": len(inputs.stock),
        "skus": len(inputs.skus),
        "warehouses": int(inputs.stock["warehouse"].nunique()),
        "history_rows": len(inputs.history),
        "forecast_rows": len(inputs.forecast),
        "lines": len(inputs.lines),
        "warnings": [w.as_dict() for w in warnings],
    }
    if json:
        emit_json(doc)
    else:
        console.print(
            f"{stock}: valid — {doc['pairs']} warehouse x SKU pairs, {doc['skus']} SKUs over "
            f"{doc['warehouses']} warehouses, {doc['history_rows']} history rows, "
            f"{doc['forecast_rows']} forecast rows, {doc['lines']} shipment lines"
        )


@app.command()
@handles_errors
def generate(
    network: NetworkOption = "demo",
    skus: Annotated[int, typer.Option(help="SKUs to draw.", min=1)] = 500,
    days: Annotated[int, typer.Option(help="Days of sales history.", min=1)] = 365,
    end: Annotated[
        str | None, typer.Option(help="The day after the history (YYYY-MM-DD); default today.")
    ] = None,
    shipment_days: Annotated[
        int,
        typer.Option("--shipment-days", help="Days of inbound shipments ready before end.", min=0),
    ] = 30,
    per_day: Annotated[int, typer.Option("--per-day", help="Shipments a day.", min=1)] = 20,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")] = Path("stock"),
) -> None:
    """Write a seeded demo: stock.csv, demand.csv, shipments.csv and shipment_lines.csv."""
    from twin.files.networks import load_network
    from twin.files.shipments import write_shipments
    from twin.files.stock import write_stock_folder
    from twin.shipments.generate import generate_shipments
    from twin.stock.generate import generate_stock, shipment_lines

    loaded, _ = load_network(network)
    try:
        last = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError as exc:
        raise InputError([Problem("--end", "", "--end", str(exc))]) from None
    try:
        demo = generate_stock(loaded, skus=skus, days=days, end=last, seed=seed)
    except ValueError as exc:
        raise InputError([Problem(network, "", None, str(exc))]) from None
    written = write_stock_folder(out, demo.stock, demo.history)
    if shipment_days:
        start = datetime(last.year, last.month, last.day, tzinfo=UTC) - timedelta(
            days=shipment_days
        )
        ships = generate_shipments(
            loaded, start=start, days=shipment_days, per_day=per_day, seed=seed
        )
        ships, lines = shipment_lines(ships, demo.stock, seed=seed)
        write_shipments(ships, out / "shipments.csv")
        written += write_stock_folder(out, demo.stock, lines=lines)[1:] + [out / "shipments.csv"]
    err_console.print(
        f"wrote {out}: {len(demo.stock)} warehouse x SKU pairs ({skus} SKUs), "
        f"{len(demo.history)} history rows, files {', '.join(p.name for p in written)}"
    )
