"""Sign in and out of the console (password form; the session is a signed, expiring cookie)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from twin.api.auth import LOGIN_COOKIE, SESSION_COOKIE, same
from twin.api.deps import SessionDep
from twin.store.users import check_password

router = APIRouter(include_in_schema=False)


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
    response.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="lax", max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _form(request, next_=next)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
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
    user = check_password(session, name=username, password=password)
    if user is None:
        return _form(
            request, next_=next, status=401, name=username, error="Wrong name or password."
        )
    cookie, _ = sessions.issue(user.name)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", max_age=sessions.max_age_s
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    data = request.app.state.sessions.read(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    if data is None or same(data.csrf, csrf_token):
        response.delete_cookie(SESSION_COOKIE)
    return response
