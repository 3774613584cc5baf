"""FastAPI dependencies: a store session per request (SessionDep), the signed-in user
(CurrentUser), and the CSRF check every cookie-authenticated POST passes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from twin.api.auth import CSRF_HEADER, SESSION_COOKIE, same
from twin.api.views import ConsoleError
from twin.store.common import NotFound
from twin.store.db import session_scope
from twin.store.users import User, check_token, get_user


class NotSignedIn(Exception):
    """No valid session or token: /api answers 401, pages send the browser to /login."""

    def __init__(self, message: str = "sign in first (or send Authorization: Bearer TOKEN)"):
        super().__init__(message)
        self.message = message


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(request: Request, session: SessionDep) -> User:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("Authorization must be `Bearer TOKEN`")
        user = check_token(session, token=token.strip())
        if user is None:
            raise NotSignedIn("unknown or revoked API token")
        request.state.csrf = None
        request.state.via_token = True
        request.state.user = user
        return user
    data = request.app.state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if data is None:
        raise NotSignedIn("your session is missing or expired: sign in again")
    try:
        user = get_user(session, name=data.user)
    except NotFound:
        raise NotSignedIn(f"user {data.user!r} no longer exists") from None
    if user.disabled:
        raise NotSignedIn(f"user {user.name!r} is disabled")
    request.state.csrf = data.csrf
    request.state.via_token = False
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a cookie-authenticated POST whose CSRF token is missing or wrong."""
    if getattr(request.state, "via_token", False):
        return
    token = submitted or request.headers.get(CSRF_HEADER)
    if not same(getattr(request.state, "csrf", None), token):
        raise ConsoleError(403, "the form's security token is missing or out of date "
                                "(the page is older than your session): reload the page and try again")
