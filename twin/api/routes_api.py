"""The JSON API under /api: network, scores, alerts, silences, acks, incidents, plan diffs,
decisions and the audit log; /api/events streams "something changed" to live pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from twin.api import views
from twin.api.clock import console_now
from twin.api.deps import CurrentUser, NotSignedIn, SessionDep, check_csrf, current_user
from twin.api.models import (
    AckIn,
    AckOut,
    AlertOut,
    AuditOut,
    DecisionIn,
    DecisionOut,
    ErrorOut,
    ExpireIn,
    IncidentDetail,
    IncidentSummary,
    LaneOut,
    NetworkOut,
    NodeOut,
    PlanDiffOut,
    ScoreOut,
    SilenceIn,
    SilenceOut,
    StockOut,
    UserOut,
)
from twin.api.views import ConsoleError
from twin.domain.incidents import IncidentState
from twin.domain.records import Network
from twin.store.alerts import latest_scores, list_acks, list_alerts, list_silences
from twin.store.common import NotFound
from twin.store.console import change_marker, incident_summaries, recent_audit, score_history
from twin.store.db import session_scope
from twin.store.incidents import audit_log
from twin.store.networks import get_network, list_networks
from twin.store.stock import load_stock_position

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in / bad token"},
}
ACTS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorOut, "description": "your role may not do this, or a bad CSRF token"},
    404: {"model": ErrorOut, "description": "no such incident"},
    409: {
        "model": ErrorOut,
        "description": "not allowed from the incident's state, or it changed meanwhile",
    },
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


def now(request: Request) -> datetime:
    """Now by the console's clock (the daemon's: simulated in the demo)."""
    return console_now(request)


def stored_network(session: Session, name: str | None) -> Network | None:
    """The named stored network, else the most recently updated one (None if none is stored)."""
    if name is None:
        stored = sorted(list_networks(session), key=lambda n: n.updated_at, reverse=True)
        if not stored:
            return None
        name = stored[0].name
    try:
        return get_network(session, name=name)
    except NotFound:
        raise ConsoleError(
            404, f"no stored network {name!r} (load one with `twin db load-network`)"
        ) from None


def lane_risk(session: Session) -> tuple[dict[str, float], dict[str, float]]:
    """Highest latest score per lane and per node, over all dimensions."""
    lanes: dict[str, float] = {}
    for s in latest_scores(session):
        lanes[s.target] = max(lanes.get(s.target, 0.0), s.score)
    return lanes, lanes


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """Who you are signed in as, and your role."""
    return UserOut(name=user.name, role=user.role.value)


@router.get("/network", response_model=NetworkOut, responses={404: {"model": ErrorOut}})
def network(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> NetworkOut:
    """The network the twin mirrors: nodes with coordinates, lanes with their current risk."""
    found = stored_network(session, name or request.app.state.network)
    if found is None:
        raise ConsoleError(404, "no network is stored yet (`twin db load-network demo`)")
    risk, _ = lane_risk(session)
    return NetworkOut(
        name=found.name,
        unit=found.unit,
        currency=found.currency,
        nodes=[
            NodeOut(
                id=n.id, kind=n.kind.value, name=n.name, country=n.country, lat=n.lat, lon=n.lon
            )
            for n in found.nodes
        ],
        lanes=[
            LaneOut(
                id=lane.id,
                from_node=lane.from_,
                to_node=lane.to,
                mode=lane.mode.value,
                transit_days=lane.transit_days,
                cost_per_unit=lane.cost_per_unit,
                via=list(lane.via),
                risk=round(risk.get(lane.id, 0.0), 4),
            )
            for lane in found.lanes
        ],
    )


@router.get("/scores", response_model=list[ScoreOut])
def scores(
    session: SessionDep,
    user: CurrentUser,
    target: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ScoreOut]:
    """The latest score of each (target, dimension), or of one target."""
    return [views.score(s) for s in latest_scores(session, target=target)]


@router.get("/scores/history", response_model=list[ScoreOut])
def scores_history(
    session: SessionDep,
    user: CurrentUser,
    target: Annotated[str, Query(min_length=1, max_length=200)],
    dimension: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[ScoreOut]:
    """One target's scores over time (oldest first)."""
    return [
        views.score(s)
        for s in score_history(session, target=target, dimension=dimension, limit=limit)
    ]


@router.get("/stock", response_model=StockOut)
def stock(session: SessionDep, user: CurrentUser) -> StockOut:
    """Cover by warehouse as the last monitor pass projected it: the SKUs short within each
    warehouse's lead time, their inbound freight, and what delays them (docs/stock.md)."""
    stored = load_stock_position(session)
    if stored is None:
        return StockOut(at=None, currency="USD", warehouses=[])
    return StockOut(at=stored.at, currency=stored.currency, warehouses=list(stored.warehouses))


@router.get("/alerts", response_model=list[AlertOut])
def alerts(session: SessionDep, user: CurrentUser, open: bool = False) -> list[AlertOut]:
    """Alert episodes, newest first (only open ones with `open=true`)."""
    return [views.alert(a) for a in list_alerts(session, open_only=open)]


@router.get(
    "/alerts/{alert_id:path}/acks",
    response_model=list[AckOut],
    responses={404: {"model": ErrorOut, "description": "not an alert id (ids are one line)"}},
)
def alert_acks(alert_id: str, session: SessionDep, user: CurrentUser) -> list[AckOut]:
    """Who acknowledged an alert episode, when, and what they said."""
    return [views.ack(a) for a in list_acks(session, alert_id=alert_id)]


@router.post("/alerts/{alert_id:path}/ack", response_model=AckOut, responses=ACTS)
def acknowledge(
    alert_id: str, body: AckIn, request: Request, session: SessionDep, user: CurrentUser
) -> AckOut:
    """Say "I'm on it" for an open alert (approvers and admins)."""
    check_csrf(request, None)
    made = views.acknowledge(
        session, alert_id=alert_id, user=user, comment=body.comment, at=now(request)
    )
    session.commit()
    return views.ack(made)


@router.get("/silences", response_model=list[SilenceOut])
def silences(
    request: Request, session: SessionDep, user: CurrentUser, active: bool = False
) -> list[SilenceOut]:
    """Silences (only those in force now with `active=true`)."""
    return [
        views.silence(s) for s in list_silences(session, active_at=now(request) if active else None)
    ]


SILENCING: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorOut, "description": "your role may not silence, or a bad CSRF token"},
}


@router.post("/silences", response_model=SilenceOut, status_code=201, responses=SILENCING)
def add_silence(
    body: SilenceIn, request: Request, session: SessionDep, user: CurrentUser
) -> SilenceOut:
    """Mute alerts matching `matchers` from now for `duration` (approvers and admins; recorded
    under your name with the comment; the daemon applies it on its next pass)."""
    check_csrf(request, None)
    made = views.add_silence(
        session,
        user=user,
        matchers=body.matchers,
        length=body.length,
        comment=body.comment,
        at=now(request),
    )
    session.commit()
    return views.silence(made)


@router.post(
    "/silences/{silence_id}/expire",
    response_model=SilenceOut,
    responses={
        **SILENCING,
        404: {"model": ErrorOut, "description": "no such silence"},
        409: {"model": ErrorOut, "description": "the silence has already ended"},
    },
)
def expire_silence(
    silence_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    body: ExpireIn | None = None,
) -> SilenceOut:
    """End a silence now (approvers and admins); it stays on record with who ended it."""
    check_csrf(request, None)
    ended = views.expire_silence(
        session, ident=silence_id, user=user, comment=body.comment if body else "", at=now(request)
    )
    session.commit()
    return views.silence(ended)


@router.get("/incidents", response_model=list[IncidentSummary])
def incidents(
    session: SessionDep,
    user: CurrentUser,
    state: Annotated[list[IncidentState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[IncidentSummary]:
    """Incidents, newest first, optionally only those in some states."""
    rows = incident_summaries(session, states=[s.value for s in state or ()], limit=limit)
    return [views.summary_row(row) for row in rows]


@router.get(
    "/incidents/{incident_id}", response_model=IncidentDetail, responses={404: {"model": ErrorOut}}
)
def incident(incident_id: str, session: SessionDep, user: CurrentUser) -> IncidentDetail:
    """One incident: why, the actions, the plan diff per shipment, its audit trail."""
    found = views.load_incident(session, incident_id)
    return views.detail(found, audit_log(session, incident_id=found.id))


@router.get(
    "/incidents/{incident_id}/diff",
    response_model=PlanDiffOut,
    responses={404: {"model": ErrorOut}},
)
def incident_diff(incident_id: str, session: SessionDep, user: CurrentUser) -> PlanDiffOut:
    """The proposed plan: old route → new route per shipment, cost, ETA and late days avoided."""
    return views.plan_diff(views.load_incident(session, incident_id))


def _decide(
    verb: str, incident_id: str, body: DecisionIn, request: Request, session: Session, user: Any
) -> DecisionOut:
    check_csrf(request, None)
    done = views.decide(
        session,
        ident=incident_id,
        verb=verb,
        user=user,
        comment=body.comment,
        at=now(request),
        expected_state=body.expected_state,
    )
    session.commit()
    return DecisionOut(incident=views.summary(done.incident), message=done.message)


@router.post("/incidents/{incident_id}/approve", response_model=DecisionOut, responses=ACTS)
def approve(
    incident_id: str, body: DecisionIn, request: Request, session: SessionDep, user: CurrentUser
) -> DecisionOut:
    """Approve a proposed incident (approvers, admins); the engine applies it on its next pass."""
    return _decide("approve", incident_id, body, request, session, user)


@router.post("/incidents/{incident_id}/reject", response_model=DecisionOut, responses=ACTS)
def reject(
    incident_id: str, body: DecisionIn, request: Request, session: SessionDep, user: CurrentUser
) -> DecisionOut:
    """Reject a proposed incident: nothing of it is applied."""
    return _decide("reject", incident_id, body, request, session, user)


@router.post("/incidents/{incident_id}/rollback", response_model=DecisionOut, responses=ACTS)
def rollback(
    incident_id: str, body: DecisionIn, request: Request, session: SessionDep, user: CurrentUser
) -> DecisionOut:
    """Roll back an applied incident: shipments not past the point of no return get their
    earlier routes back (the engine restores them on its next pass)."""
    return _decide("rollback", incident_id, body, request, session, user)


@router.get("/audit", response_model=list[AuditOut])
def audit(
    session: SessionDep,
    user: CurrentUser,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditOut]:
    """The audit log, newest first (of one incident, oldest first, with `incident=ID`)."""
    if incident is not None:
        return [views.audit(e) for e in audit_log(session, incident_id=incident)]
    return [views.audit(e) for e in recent_audit(session, limit=limit)]


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: change` whenever alerts, incidents or the audit log change",
        }
    },
)
async def events(request: Request, user: CurrentUser) -> StreamingResponse:
    """Server-sent events: `hello` on connect, then `change` whenever the store's alerts,
    incidents, audit log, acks or silences change (polled every few seconds)."""
    engine, every = request.app.state.engine, request.app.state.poll_seconds

    def marker() -> str | None:
        """The store's change marker, or None once the caller's session or token is no longer
        valid (signed out, expired, revoked): a stream must not outlive its credentials."""
        with session_scope(engine) as session:
            try:
                current_user(request, session)
            except NotSignedIn:
                return None
            return change_marker(session)

    async def stream() -> AsyncIterator[str]:
        last = await run_in_threadpool(marker)
        if last is None:
            yield "event: signed-out\ndata: sign in again\n\n"
            return
        yield f"event: hello\ndata: {last}\nretry: 3000\n\n"
        idle = 0.0
        while not await request.is_disconnected():
            await asyncio.sleep(every)
            current = await run_in_threadpool(marker)
            if current is None:
                yield "event: signed-out\ndata: sign in again\n\n"
                return
            if current != last:
                last, idle = current, 0.0
                yield f"event: change\ndata: {current}\n\n"
            else:
                idle += every
                if idle >= 15:
                    idle = 0.0
                    yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
