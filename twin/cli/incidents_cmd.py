"""`twin incidents …`: on-call review of incidents: list, show, approve, reject, roll back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import JsonOpt, console, emit_json, handles_errors
from twin.domain.durations import format_timestamp
from twin.domain.incidents import Incident, IncidentState
from twin.domain.problems import InputError, Problem

# The store and the playbook machinery are imported where used: `twin --help` and every other
# command stay quick to start.

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(
    help="Review incidents: what playbooks propose, approve, reject, roll back.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(help="The incident id (or a unique prefix of it).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (recorded in the audit log).")]
CommentOpt = Annotated[str, typer.Option("--comment", help="Why (recorded in the audit log).")]


def _engine() -> Engine:
    from twin.store.db import make_engine
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    return engine


def _bad(ident: str, message: str) -> InputError:
    return InputError([Problem("incident", ident, None, message)])


def _summary(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "alert": incident.alert_id,
        "playbook": incident.playbook_id,
        "state": incident.state.value,
        "target": incident.alert.target,
        "dimension": incident.alert.dimension,
        "severity": incident.alert.severity.value,
        "shadow": incident.shadow,
        "needs_approval": list(incident.needs_approval),
        "created_at": format_timestamp(incident.created_at),
        "updated_at": format_timestamp(incident.updated_at),
        "decided_by": incident.decided_by,
        **{f"plan_{k}": v for k, v in incident.diff.summary().items()},
    }


def _detail(incident: Incident, audit: list[Any]) -> dict[str, Any]:
    return {
        **_summary(incident),
        "why": incident.why,
        "comment": incident.comment,
        "actions": list(incident.actions),
        "constraints": incident.constraints,
        "changes": [
            {
                **c.model_dump(mode="json"),
                "cost_delta": round(c.cost_delta, 2),
                "co2e_delta_kg": round(c.co2e_delta_kg, 3),
            }
            for c in incident.diff.changes
        ],
        "notifications": [n.model_dump(mode="json") for n in incident.notifications],
        "audit": [e.model_dump(mode="json") for e in audit],
        # Per warehouse x SKU its shipments feed: short before (plan of record) and after.
        "stock": [i.model_dump(mode="json") for i in incident.stock],
        # Stock moves the optimiser chose (docs/stock.md, "Stock moves").
        "moves": [m.model_dump(mode="json") for m in incident.moves],
    }


@app.command("list")
@handles_errors
def list_(
    state: Annotated[
        list[IncidentState] | None, typer.Option("--state", help="Only these states.")
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Only incidents waiting or active.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """List incidents, newest first."""
    from twin.store.db import session_scope
    from twin.store.incidents import list_incidents

    states = list(state or [])
    if open_:
        states += [
            IncidentState.proposed,
            IncidentState.approved,
            IncidentState.auto_approved,
            IncidentState.applied,
        ]
    with session_scope(_engine()) as session:
        incidents = list_incidents(session, states=states or None)
    if json:
        emit_json([_summary(i) for i in incidents])
        return
    table = Table(title=f"{len(incidents)} incidents")
    for column in (
        "id",
        "state",
        "playbook",
        "target",
        "dimension",
        "severity",
        "shipments",
        "cost Δ",
        "waits for",
    ):
        table.add_column(column)
    for i in incidents:
        s = i.diff.summary()
        table.add_row(
            i.id,
            i.state.value + (" (shadow)" if i.shadow else ""),
            i.playbook_id,
            i.alert.target,
            i.alert.dimension,
            i.alert.severity.value,
            str(s["shipments"]),
            f"{s['cost_delta']:+.0f}",
            "; ".join(i.needs_approval),
        )
    console.print(table)


@app.command()
@handles_errors
def show(ident: IdArg, json: JsonOpt = False) -> None:
    """Show an incident: the alert and why, the actions, the plan diff per shipment, the audit log."""
    from twin.store.common import NotFound
    from twin.store.db import session_scope
    from twin.store.incidents import audit_log, get_incident

    with session_scope(_engine()) as session:
        try:
            incident = get_incident(session, id=ident)
        except NotFound as exc:
            raise _bad(ident, str(exc)) from None
        audit = audit_log(session, incident_id=incident.id)
    if json:
        emit_json(_detail(incident, audit))
        return
    console.print(
        f"[bold]{incident.id}[/] [cyan]{incident.state.value}[/]"
        f"{' (shadow)' if incident.shadow else ''}: playbook {incident.playbook_id}"
    )
    console.print(f"why: {incident.why}", markup=False)
    if incident.needs_approval:
        console.print(f"waits for approval: {'; '.join(incident.needs_approval)}", markup=False)
    console.print("actions: " + ", ".join(next(iter(a)) for a in incident.actions))
    table = Table(title="proposed plan")
    for column in (
        "shipment",
        "units",
        "action",
        "old path",
        "new path",
        "cost Δ",
        "ETA Δ d",
        "late d avoided",
    ):
        table.add_column(column)
    for c in incident.diff.changes:
        table.add_row(
            c.shipment,
            f"{c.units:g}",
            c.action,
            " → ".join(c.old_path),
            "held" if c.held else " → ".join(c.new_path),
            f"{c.cost_delta:+.0f}",
            f"{c.eta_delta_days:+.1f}",
            f"{c.late_days_avoided:.1f}",
        )
    console.print(table)
    if incident.stock:
        impact = Table(title="stock impact within lead time (now -> with the plan)")
        for column in (
            "warehouse",
            "sku",
            "units short",
            "days short",
            "days avoided",
            "margin at risk",
            "margin saved",
            "added cost",
        ):
            impact.add_column(column)
        for i in incident.stock:
            impact.add_row(
                i.warehouse,
                i.sku,
                f"{i.units_short_before:,.0f} -> {i.units_short_after:,.0f}",
                f"{i.days_short_before} -> {i.days_short_after}",
                str(i.days_short_avoided),
                f"{i.margin_at_risk_before:,.0f} -> {i.margin_at_risk_after:,.0f}",
                f"{i.margin_saved:,.0f}",
                f"{i.added_cost:+,.0f}",
            )
        console.print(impact)
    if incident.moves:
        moves = Table(title="stock moves (chosen by the optimiser)")
        for column in ("move", "shipment", "from", "to", "by", "SKU units", "lands", "cost"):
            moves.add_column(column)
        moves.add_column("margin saved")
        for m in incident.moves:
            moves.add_row(
                m.kind,
                m.shipment,
                m.source,
                m.warehouse,
                m.mode,
                ", ".join(f"{line.sku} {line.units:,.0f}" for line in m.lines),
                m.arrival_on.isoformat(),
                f"{m.cost:+,.0f}",
                f"{m.margin_saved:,.0f}",
            )
        console.print(moves)
    log = Table(title="audit")
    for column in ("at", "who", "what", "from", "to", "why"):
        log.add_column(column)
    for e in audit:
        log.add_row(
            format_timestamp(e.at), e.actor, e.action, e.from_state or "", e.to_state, e.why
        )
    console.print(log)


def _decide(ident: str, to: IncidentState, by: str, comment: str) -> Any:
    """The decision, as the console takes it too (twin.store.decisions)."""
    from twin.store.db import session_scope
    from twin.store.decisions import Refused, decide

    with session_scope(_engine()) as session:
        try:
            return decide(session, ident=ident, to=to, by=by, comment=comment, at=datetime.now(UTC))
        except Refused as exc:
            raise _bad(ident, exc.message) from None


def _move(ident: str, to: IncidentState, by: str, comment: str, json: bool) -> Incident:
    done = _decide(ident, to, by, comment)
    moved: Incident = done.incident
    if json:
        emit_json(_summary(moved))
    else:
        console.print(
            f"{moved.id}: {done.before.state.value} → [bold]{moved.state.value}[/] by {by}"
        )
    return moved


@app.command()
@handles_errors
def approve(ident: IdArg, by: ByOpt, comment: CommentOpt = "", json: JsonOpt = False) -> None:
    """Approve a proposed incident; the engine applies it on its next tick."""
    _move(ident, IncidentState.approved, by, comment, json)


@app.command()
@handles_errors
def reject(ident: IdArg, by: ByOpt, comment: CommentOpt = "", json: JsonOpt = False) -> None:
    """Reject a proposed incident: nothing of it is applied."""
    _move(ident, IncidentState.rejected, by, comment, json)


@app.command()
@handles_errors
def rollback(ident: IdArg, by: ByOpt, comment: CommentOpt = "", json: JsonOpt = False) -> None:
    """Roll back an applied incident: shipments not past the point of no return get their earlier
    routes back (the engine restores them); the rest keep the new route."""
    done = _decide(ident, IncidentState.rolled_back, by, comment)
    moved = done.incident
    if not json:
        console.print(
            f"{moved.id}: {done.before.state.value} → [bold]{moved.state.value}[/] by {by}"
        )
    if json:
        emit_json({**_summary(moved), "restored": list(done.restored), "kept": list(done.kept)})
    else:
        console.print(
            f"restored: {', '.join(done.restored) or 'none'}; "
            f"kept (past the point of no return): {', '.join(done.kept) or 'none'}"
        )
