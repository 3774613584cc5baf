"""`twin alerts …`: list the stored alert episodes; silence, expire silences, acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import JsonOpt, console, emit_json, handles_errors
from twin.domain.durations import format_timestamp, parse_duration
from twin.domain.problems import InputError, Problem

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from twin.domain.alerts import Silence

app = typer.Typer(
    help="Alert episodes, silences and acknowledgements kept in the store.", no_args_is_help=True
)


@app.command("list")
@handles_errors
def list_(
    open_: Annotated[
        bool, typer.Option("--open", help="Only episodes that have not cleared.")
    ] = False,
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
    rows: list[dict[str, Any]] = [  # JSON documents, also shown as a table
        {
            "id": a.id,
            "target": a.target,
            "dimension": a.dimension,
            "severity": a.severity.value,
            "opened_at": format_timestamp(a.opened_at),
            "cleared_at": format_timestamp(a.cleared_at) if a.cleared_at else None,
            "score": round(a.score, 4),
            "peak": round(a.peak, 4),
            "early": a.early,
            "forecast_cross_at": format_timestamp(a.forecast_cross_at)
            if a.forecast_cross_at
            else None,
            "inhibited_by": a.inhibited_by,
            "silenced_by": a.silenced_by,
            "acked_by": a.acked_by,
            "explain": a.explain,
            # Stock alerts: the warehouse's position and the chain cause -> shipments ->
            # warehouse x SKU -> days short.
            "stock": a.stock.model_dump(mode="json") if a.stock else None,
            "chain": a.stock.chain() if a.stock else [],
        }
        for a in alerts
    ]
    if json:
        emit_json(rows)
        return
    table = Table(title=f"{'open ' if open_ else ''}alert episodes")
    for column in ("severity", "target", "dimension", "peak", "opened", "cleared", "muted by"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["severity"],
            r["target"],
            r["dimension"],
            f"{r['peak']:.2f}",
            r["opened_at"],
            r["cleared_at"] or "",
            r["inhibited_by"] or r["silenced_by"] or "",
        )
    console.print(table)
    for r in rows:
        if r["chain"]:
            console.print(f"[bold]{r['target']}[/] stock ({r['severity']}): {r['explain']}")
            for line in r["chain"]:
                console.print(f"  {line}", soft_wrap=True)


def _engine() -> Engine:
    from twin.store.db import make_engine
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    return engine


def _now() -> datetime:
    return datetime.now(UTC)


def _silence_doc(silence: Silence, now: datetime) -> dict[str, Any]:
    state = (
        "expired" if silence.ends_at <= now else "active" if silence.starts_at <= now else "pending"
    )
    return {
        "id": silence.id,
        "matchers": silence.matchers,
        "starts_at": format_timestamp(silence.starts_at),
        "ends_at": format_timestamp(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
        "state": state,
    }


def _matcher(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


@app.command()
@handles_errors
def silence(
    target: Annotated[
        list[str],
        typer.Option(
            "--target",
            help="Target (node or lane id) to mute; "
            "repeat for several, ~REGEX for a full regex match.",
        ),
    ],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 6h, 2d.")],
    by: Annotated[str, typer.Option("--by", help="Who is silencing.")],
    comment: Annotated[str, typer.Option("--comment", help="Why (shown to the next on-call).")],
    dimension: Annotated[
        list[str] | None, typer.Option("--dimension", help="Only this dimension (repeatable).")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only targets of this kind (repeatable).")
    ] = None,
    starts_at: Annotated[
        str | None,
        typer.Option("--starts-at", help="Start later (ISO 8601 with a zone); default now."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Mute alerts on TARGET for a while (kept in the store; the daemon applies it each pass)."""
    from twin.alerting.rules import check_matchers
    from twin.domain.durations import parse_timestamp
    from twin.store.db import session_scope
    from twin.store.decisions import add_silence

    problems: list[Problem] = []
    try:
        length = parse_duration(for_)
        if length.total_seconds() <= 0:
            raise ValueError(f"must be longer than 0: {for_!r}")
    except ValueError as exc:
        problems.append(Problem("--for", "", None, str(exc)))
    start = _now()
    if starts_at is not None:
        try:
            start = parse_timestamp(starts_at)
        except ValueError as exc:
            problems.append(Problem("--starts-at", "", None, str(exc)))
    if not comment.strip():
        problems.append(Problem("--comment", "", None, "say why: the next on-call reads it"))
    if problems:
        raise InputError(problems)
    matchers: dict[str, str | list[str]] = {"target": _matcher(target)}
    if dimension:
        matchers["dimension"] = _matcher(dimension)
    if kind:
        matchers["kind"] = _matcher(kind)
    try:
        check_matchers(matchers, "silence")
    except ValueError as exc:
        raise InputError([Problem("--target", ", ".join(target), None, str(exc))]) from None
    with session_scope(_engine()) as session:
        made = add_silence(
            session, matchers=matchers, starts_at=start, length=length, by=by, comment=comment
        )
    doc = _silence_doc(made, _now())
    if json:
        emit_json(doc)
        return
    console.print(
        f"silence {made.id}: {matchers} until {doc['ends_at']} ({by}: {comment})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command()
@handles_errors
def silences(
    all_: Annotated[bool, typer.Option("--all", help="Expired silences too.")] = False,
    json: JsonOpt = False,
) -> None:
    """Silences that are active or pending (all with --all), oldest first."""
    from twin.store.alerts import list_silences
    from twin.store.db import session_scope

    now = _now()
    with session_scope(_engine()) as session:
        found = list_silences(session)
    docs = [_silence_doc(s, now) for s in found if all_ or s.ends_at > now]
    if json:
        emit_json(docs)
        return
    table = Table(title="silences")
    for column in ("id", "state", "matchers", "until", "by", "comment"):
        table.add_column(column, overflow="fold")
    for d in docs:
        matchers = ", ".join(f"{k}={v}" for k, v in d["matchers"].items())
        table.add_row(d["id"], d["state"], matchers, d["ends_at"], d["created_by"], d["comment"])
    console.print(table)


@app.command("expire-silence")
@handles_errors
def expire_silence(
    silence_id: Annotated[
        str, typer.Argument(help="The silence's id (see `twin alerts silences`).")
    ],
    by: Annotated[
        str | None, typer.Option("--by", help="Who ends it (noted on the silence).")
    ] = None,
    comment: Annotated[str, typer.Option("--comment", help="Why (noted on the silence).")] = "",
    json: JsonOpt = False,
) -> None:
    """End a silence now; it stays on record (`twin alerts silences --all`)."""
    from twin.store.alerts import list_silences
    from twin.store.db import session_scope
    from twin.store.decisions import Refused
    from twin.store.decisions import expire_silence as expire

    now = _now()
    with session_scope(_engine()) as session:
        try:
            found, expired = (
                expire(session, ident=silence_id, by=by, comment=comment, at=now),
                False,
            )
        except Refused as exc:
            if exc.kind == "unknown":
                raise InputError([Problem(silence_id, "", None, "no such silence")]) from None
            found = next(s for s in list_silences(session) if s.id == silence_id)
            expired = True
    doc = {**_silence_doc(found, now), "already_expired": expired}
    if json:
        emit_json(doc)
        return
    console.print(
        f"silence {silence_id}: {'already expired' if expired else 'expired'} at {doc['ends_at']}",
        highlight=False,
    )


@app.command()
@handles_errors
def ack(
    alert_id: Annotated[
        str, typer.Argument(help="The alert episode's id (see `twin alerts list`).")
    ],
    by: Annotated[str, typer.Option("--by", help="Who is on it.")],
    comment: Annotated[str, typer.Option("--comment", help="A note.")] = "",
    json: JsonOpt = False,
) -> None:
    """Say "I'm on it" for an open alert episode (recorded; the episode shows the first person
    on it), as the console does (twin.store.decisions)."""
    from twin.store.db import session_scope
    from twin.store.decisions import Refused, acknowledge

    now = _now()
    with session_scope(_engine()) as session:
        try:
            record = acknowledge(session, alert_id=alert_id, by=by, comment=comment, at=now)
        except Refused as exc:
            hint = " (`twin alerts list`)" if exc.kind == "unknown" else ""
            raise InputError([Problem(alert_id, "", None, exc.message + hint)]) from None
    doc = {
        "alert_id": alert_id,
        "by": by,
        "at": format_timestamp(record.at),
        "comment": record.comment,
    }
    if json:
        emit_json(doc)
        return
    console.print(f"{alert_id}: acknowledged by {by}", highlight=False, markup=False)
