"""Server-rendered console pages: overview, incidents (why / what / what it costs, decide),
network map, alerts with silences and acks, audit log."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from twin.api import geometry, present, views
from twin.api.charts import score_chart
from twin.api.clock import console_now
from twin.api.deps import CurrentUser, SessionDep, check_csrf
from twin.api.models import SilenceIn
from twin.api.routes_api import lane_risk, stored_network
from twin.api.views import ConsoleError
from twin.domain.incidents import IncidentState
from twin.store.alerts import list_acks, list_alerts, list_silences
from twin.store.console import recent_audit, score_history
from twin.store.incidents import audit_log, list_incidents
from twin.store.shipments import get_shipments
from twin.store.signals import signals_between
from twin.store.users import Role

router = APIRouter(include_in_schema=False)
BUSY_ATTEMPTS = 5  # a decision retried when the store is locked by a daemon pass
ALERTS_SHOWN = 2000  # the alert history page shows the newest this many episodes
S = IncidentState


def now(request: Request) -> datetime:
    """Now by the console's clock (the daemon's: simulated in the demo)."""
    return console_now(request)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    base = {
        "user": user,
        "csrf_token": getattr(request.state, "csrf", None) or "",
        "can_decide": bool(user and user.role.allows(Role.approver)),
        "now": now(request),
        "simulated": request.app.state.clock.simulated,
        "path": request.url.path,
    }
    return request.app.state.templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "message": message, "back": request.headers.get("referer") or "/"},
        status,
    )


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    causes = present.causes_by_severity(present.group_alerts(list_alerts(session, open_only=True)))
    incidents = list_incidents(session, limit=500)
    by_id = {i.id: i for i in incidents}
    waiting = [i for i in incidents if i.state is S.proposed and not i.shadow]
    to_apply = [i for i in incidents if i.state in (S.approved, S.auto_approved)]
    since = now(request) - timedelta(hours=24)
    applied = [
        (e, by_id.get(e.incident_id))
        for e in recent_audit(session, since=since)
        if e.to_state is S.applied
    ]
    return render(
        request,
        "overview.html",
        {
            "causes": causes,
            "affected": {
                k: present.affected_text([a for g in v for a in g.affected])
                for k, v in causes.items()
            },
            "waiting": waiting,
            "to_apply": to_apply,
            "applied": applied,
        },
    )


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request, session: SessionDep, user: CurrentUser, state: str | None = None
) -> HTMLResponse:
    states = [S(state)] if state is not None and state in S.__members__ else None
    return render(
        request,
        "incidents.html",
        {
            "incidents": list_incidents(session, states=states, limit=500),
            "state": state,
            "states": [s.value for s in S],
        },
    )


def _chart(session: Session, request: Request, incident: Any, log: list[Any]) -> Any:
    alert = incident.alert
    start = alert.opened_at - timedelta(days=7)
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for s in score_history(session, target=alert.target, since=start):
        series[s.dimension].append((s.at, s.score))
    rule = request.app.state.alert_rules.for_dimension(alert.dimension)
    marks = [(alert.opened_at, "alert opened")]
    marks += [(e.at, e.action) for e in log if e.from_state is not None and e.at >= start]
    return score_chart(
        series,
        thresholds={"critical": rule.critical, "warn": rule.warn, "clear below": rule.clear_below},
        focus=alert.dimension,
        marks=marks,
        title=f"scores of {alert.target} over time, thresholds of {alert.dimension}",
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    incident_id: str, request: Request, session: SessionDep, user: CurrentUser
) -> HTMLResponse:
    incident = views.load_incident(session, incident_id)
    log = audit_log(session, incident_id=incident.id)
    alert = incident.alert
    frame = signals_between(
        session, start=alert.opened_at - timedelta(days=14), end=None, target=alert.target
    )
    signals = frame.tail(40).iloc[::-1].to_dict("records") if not frame.empty else []
    network = stored_network(session, request.app.state.network)
    shipments = (
        {
            s.id: s
            for s in get_shipments(
                session,
                network_name=network.name,
                ids=[c.shipment for c in incident.diff.changes],
            )
        }
        if network
        else {}
    )
    avoid = [str(t) for t in incident.constraints.get("avoid") or ()]
    routes = {
        c.shipment: {
            "old": present.route_hops(network, c.old_path),
            "new": present.route_hops(network, c.new_path),
            "through_avoided": present.avoided_on(network, c.old_path, avoid),
        }
        for c in incident.diff.changes
    }
    return render(
        request,
        "incident.html",
        {
            "incident": incident,
            "audit": log,
            "chart": _chart(session, request, incident, log),
            "signals": signals,
            "summary": incident.diff.summary(),
            "can": views.possible(incident),
            "decision": present.decision(
                incident, shipments, network.currency if network else "USD"
            ),
            "routes": routes,
            "network": network,
            "old_lanes": sorted({lane for c in incident.diff.changes for lane in c.old_path}),
            "new_lanes": sorted({lane for c in incident.diff.changes for lane in c.new_path}),
            "place": lambda ident: present.place_name(network, ident),
            "done": views.done_message(
                incident, log, request.query_params.get("done", ""), user.name
            ),
            "avoided": [present.place_name(network, t) for t in avoid],
            "stock_totals": present.stock_by_warehouse(incident.stock),
            "blocked": sum(1 for r in routes.values() if r["through_avoided"]),
        },
    )


def claim_write(session: Session) -> None:
    """Start a fresh transaction that holds SQLite's write lock from its first statement.

    SQLite has one writer. A transaction that reads and then writes is refused at once
    ("database is locked") if the daemon committed in between, which a busy daemon does every
    second or two; one that writes first waits its turn (busy_timeout) and then reads the
    current state. A no-op UPDATE takes the lock. Other databases need nothing."""
    session.rollback()  # end the read transaction the sign-in check began
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("UPDATE incidents SET id = id WHERE 1 = 0"))


@router.post("/incidents/{incident_id}/decide")
def decide(
    incident_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    state: Annotated[str, Form(max_length=20)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    if confirm != "yes":
        raise views.ConsoleError(400, "tick the confirmation box to confirm the decision")
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        try:
            claim_write(session)
            done = views.decide(
                session,
                ident=incident_id,
                verb=action,
                user=user,
                comment=comment,
                at=now(request),
                expected_state=state or None,
            )
            session.commit()
            break
        except OperationalError as exc:
            # SQLite allows one writer: a read that turns into a write after a daemon pass
            # committed is refused at once ("database is locked"), and a long pass can hold the
            # store past its busy timeout. The decision is small: try again in a fresh
            # transaction rather than fail the person.
            session.rollback()
            if "locked" not in str(exc) or attempt == BUSY_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
    return RedirectResponse(f"/incidents/{done.incident.id}?done={action}", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request, session: SessionDep, user: CurrentUser, name: str | None = None
) -> HTMLResponse:
    network = stored_network(session, name or request.app.state.network)
    risk, _ = lane_risk(session)
    rule = request.app.state.alert_rules.default
    top = sorted(
        ((lane, risk.get(lane.id, 0.0)) for lane in (network.lanes if network else [])),
        key=lambda kv: -kv[1],
    )[:12]
    return render(
        request,
        "map.html",
        {
            "network": network,
            "top": [(lane, r, present.route_text(network, [lane.id])) for lane, r in top],
            "warn": rule.warn,
            "critical": rule.critical,
        },
    )


@router.get("/map/network.geojson")
def map_network(
    request: Request, session: SessionDep, user: CurrentUser, name: str | None = None
) -> JSONResponse:
    """The map's lanes (along their sea paths or great circles) and places, as GeoJSON."""
    network = stored_network(session, name or request.app.state.network)
    if network is None:
        raise ConsoleError(404, "no network is stored yet (`twin db load-network demo`)")
    risk, _ = lane_risk(session)
    rule = request.app.state.alert_rules.default
    return JSONResponse(
        geometry.network_features(network, risk, warn=rule.warn, critical=rule.critical)
    )


@router.get("/map/land.geojson")
def map_land(user: CurrentUser) -> JSONResponse:
    """The land outline the map draws (bundled Natural Earth, simplified)."""
    return JSONResponse(geometry.land_features(), headers={"Cache-Control": "max-age=86400"})


@router.get("/stock", response_class=HTMLResponse)
def stock_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """Cover by warehouse: SKUs short within the lead time and their inbound freight."""
    from twin.store.stock import load_stock_position

    return render(request, "stock.html", {"stock": load_stock_position(session)})


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    acks: dict[str, list[Any]] = defaultdict(list)
    for a in list_acks(session):
        acks[a.alert_id].append(a)
    at = now(request)
    alerts = list_alerts(session)
    shown = alerts[:ALERTS_SHOWN]
    causes = present.group_alerts(shown)
    return render(
        request,
        "alerts.html",
        {
            "causes": causes,
            "folded": len(shown) - len(causes),
            "shown": len(shown),
            "truncated": len(alerts) > len(shown),
            "acks": acks,
            "silences": list_silences(session),
            "active": {s.id for s in list_silences(session, active_at=at)},
        },
    )


@router.post("/alerts/{alert_id:path}/ack")
def ack(
    alert_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    views.acknowledge(session, alert_id=alert_id, user=user, comment=comment, at=now(request))
    session.commit()
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/silences")
def silence_form(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    target: Annotated[str, Form(max_length=200)] = "",
    dimension: Annotated[str, Form(max_length=40)] = "",
    duration: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The alert page's silence form: one target (and optionally one dimension) for a while."""
    check_csrf(request, csrf_token)
    matchers: dict[str, str | list[str]] = {"target": target.strip()}
    if dimension.strip():
        matchers["dimension"] = dimension.strip()
    try:
        wanted = SilenceIn(matchers=matchers, duration=duration, comment=comment)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConsoleError(422, f"the silence was not made: {reasons}") from None
    views.add_silence(
        session,
        user=user,
        matchers=wanted.matchers,
        length=wanted.length,
        comment=wanted.comment,
        at=now(request),
    )
    session.commit()
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/silences/{silence_id}/expire")
def expire_form(
    silence_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    views.expire_silence(session, ident=silence_id, user=user, comment="", at=now(request))
    session.commit()
    return RedirectResponse("/alerts", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return render(request, "audit.html", {"entries": recent_audit(session, limit=1000)})


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """Feed files quarantined whole, newest first (re-queued with `twin feeds requeue`)."""
    from twin.store.feed_files import list_held_files

    return render(request, "feeds.html", {"files": list_held_files(session)[:1000]})
