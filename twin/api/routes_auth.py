"""Sign in and out of the console (password form; the session is a row in the store named by a
signed, expiring cookie). Sign-in is throttled (twin.api.throttle) before any password check."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import LOGIN_COOKIE, SESSION_COOKIE, NewSession, same
from twin.api.deps import SessionDep
from twin.api.throttle import SignInGuard, SignInRefused
from twin.store.db import session_scope
from twin.store.users import (
    User,
    add_session,
    end_session,
    password_matches,
    session_user,
    stored_credentials,
)

router = APIRouter(include_in_schema=False)
REFUSAL_PAUSE_S = 1.0
REFUSED_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in: wait</title>'
    '<link rel="stylesheet" href="/static/console.css"></head><body><main>'
    '<p class="error">{message}</p><p><a href="/login">Back to sign in</a></p></main></body></html>'
)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another host.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _form(
    request: Request, *, next_: str, error: str = "", status: int = 200, name: str = ""
) -> Response:
    cookie, token = request.app.state.sessions.login_token()
    response = request.app.state.templates.TemplateResponse(
        request,
        "login.html",
        {
            "next": _safe_next(next_),
            "error": error,
            "csrf_token": token,
            "user": None,
            "name": name,
            "now": datetime.now(UTC),
            "path": "/login",
        },
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        max_age=3600,
        secure=request.app.state.sessions.secure,
    )
    return response


def _verify(engine: Engine, name: str, password: str) -> User | None:
    # The database connection is given back before the slow Argon2id check.
    with session_scope(engine) as session:
        user, stored = stored_credentials(session, name=name)
    return user if password_matches(stored, password) else None


def _open(engine: Engine, user: User, new: NewSession, hours_s: int) -> None:
    at = datetime.now(UTC)
    with session_scope(engine) as session:
        add_session(
            session,
            name=user.name,
            session_id=new.session_id,
            csrf=new.csrf,
            at=at,
            expires=at + timedelta(seconds=hours_s),
        )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _form(request, next_=next)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    sessions = request.app.state.sessions
    if not sessions.login_token_ok(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _form(
            request,
            next_=next,
            status=403,
            name=username,
            error="The sign-in form expired or was not sent from this site: try again.",
        )
    guard: SignInGuard = request.app.state.sign_in
    engine = request.app.state.engine
    try:
        guard.admit(request.client.host if request.client else "unknown", username)
        user = await guard.check(lambda: _verify(engine, username, password))
    except SignInRefused as refused:
        # A short fixed page, sent after a pause: refusing costs the server next to nothing,
        # and a script that waits for answers is slowed to one try a second per connection.
        await asyncio.sleep(REFUSAL_PAUSE_S)
        return HTMLResponse(
            REFUSED_PAGE.format(message=html.escape(refused.message)),
            status_code=429,
            headers={"Retry-After": str(refused.retry_after_s)},
        )
    if user is None:
        guard.failed(username)
        return _form(
            request, next_=next, status=401, name=username, error="Wrong name or password."
        )
    guard.succeeded(username)
    new = sessions.issue()
    await run_in_threadpool(_open, engine, user, new, sessions.max_age_s)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        httponly=True,
        samesite="lax",
        max_age=sessions.max_age_s,
        secure=sessions.secure,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the session on the server (a replayed cookie then no longer works) and in the browser."""
    session_id = request.app.state.sessions.read(request.cookies.get(SESSION_COOKIE))
    found = (
        session_user(session, session_id=session_id, at=datetime.now(UTC)) if session_id else None
    )
    response = RedirectResponse("/login", status_code=303)
    if found is None:
        response.delete_cookie(SESSION_COOKIE)
    elif same(found[1], csrf_token):  # a forged sign-out form from another site does nothing
        end_session(session, session_id=str(session_id))
        response.delete_cookie(SESSION_COOKIE)
    return response
