"""`twin alerts …`: list the stored alert episodes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, handles_errors
from twin.domain.durations import format_timestamp

app = typer.Typer(help="Alert episodes kept in the store.", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_(
    open_: Annotated[bool, typer.Option("--open", help="Only episodes that have not cleared.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Alert episodes, newest first (TWIN_DATABASE_URL chooses the store)."""
    from twin.store.alerts import list_alerts
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        alerts = list_alerts(session, open_only=open_)
    rows = [
        {"id": a.id, "target": a.target, "dimension": a.dimension, "severity": a.severity.value,
         "opened_at": format_timestamp(a.opened_at),
         "cleared_at": format_timestamp(a.cleared_at) if a.cleared_at else None,
         "score": round(a.score, 4), "peak": round(a.peak, 4), "early": a.early,
         "forecast_cross_at": format_timestamp(a.forecast_cross_at) if a.forecast_cross_at else None,
         "inhibited_by": a.inhibited_by, "silenced_by": a.silenced_by, "acked_by": a.acked_by}
        for a in alerts
    ]
    if json:
        emit_json(rows)
        return
    table = Table(title=f"{'open ' if open_ else ''}alert episodes")
    for column in ("severity", "target", "dimension", "peak", "opened", "cleared", "muted by"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["severity"], r["target"], r["dimension"], f"{r['peak']:.2f}", r["opened_at"],
                      r["cleared_at"] or "", r["inhibited_by"] or r["silenced_by"] or "")
    console.print(table)
