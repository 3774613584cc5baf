"""Server-rendered console pages: overview, incidents (why / what / what it costs, decide),
network map, alerts with silences and acks, audit log."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from twin.api import views
from twin.api.charts import network_map, score_chart
from twin.api.deps import CurrentUser, SessionDep, check_csrf
from twin.api.models import SilenceIn
from twin.api.routes_api import lane_risk, stored_network
from twin.api.views import ConsoleError
from twin.domain.incidents import IncidentState
from twin.store.alerts import list_acks, list_alerts, list_silences
from twin.store.console import recent_audit, score_history
from twin.store.incidents import audit_log, list_incidents
from twin.store.signals import signals_between
from twin.store.users import Role

router = APIRouter(include_in_schema=False)
S = IncidentState


def now() -> datetime:
    return datetime.now(UTC)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    base = {
        "user": user,
        "csrf_token": getattr(request.state, "csrf", None) or "",
        "can_decide": bool(user and user.role.allows(Role.approver)),
        "now": now(),
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
    open_alerts = list_alerts(session, open_only=True)
    by_severity: dict[str, list[Any]] = {"critical": [], "warn": []}
    for a in open_alerts:
        by_severity.setdefault(a.severity.value, []).append(a)
    incidents = list_incidents(session, limit=500)
    by_id = {i.id: i for i in incidents}
    waiting = [i for i in incidents if i.state is S.proposed and not i.shadow]
    to_apply = [i for i in incidents if i.state in (S.approved, S.auto_approved)]
    since = now() - timedelta(hours=24)
    applied = [
        (e, by_id.get(e.incident_id))
        for e in recent_audit(session, since=since)
        if e.to_state is S.applied
    ]
    return render(
        request,
        "overview.html",
        {
            "by_severity": by_severity,
            "waiting": waiting,
            "to_apply": to_apply,
            "applied": applied,
        },
    )


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request, session: SessionDep, user: CurrentUser, state: str | None = None
) -> HTMLResponse:
    states = [S(state)] if state in S.__members__ else None
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
        },
    )


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
    done = views.decide(
        session,
        ident=incident_id,
        verb=action,
        user=user,
        comment=comment,
        at=now(),
        expected_state=state or None,
    )
    session.commit()
    return RedirectResponse(f"/incidents/{done.incident.id}?done={action}", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request, session: SessionDep, user: CurrentUser, name: str | None = None
) -> HTMLResponse:
    network = stored_network(session, name or request.app.state.network)
    risk, _ = lane_risk(session)
    rule = request.app.state.alert_rules.default
    svg = (
        network_map(network, risk, node_risk=risk, warn=rule.warn, critical=rule.critical)
        if network
        else None
    )
    top = sorted(
        ((lid, risk.get(lid, 0.0)) for lid in (network.lane_by_id if network else {})),
        key=lambda kv: -kv[1],
    )[:12]
    return render(
        request,
        "map.html",
        {"network": network, "svg": svg, "top": top, "warn": rule.warn, "critical": rule.critical},
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    acks: dict[str, list[Any]] = defaultdict(list)
    for a in list_acks(session):
        acks[a.alert_id].append(a)
    at = now()
    return render(
        request,
        "alerts.html",
        {
            "alerts": list_alerts(session)[:500],
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
    views.acknowledge(session, alert_id=alert_id, user=user, comment=comment, at=now())
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
        at=now(),
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
    views.expire_silence(session, ident=silence_id, user=user, comment="", at=now())
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
