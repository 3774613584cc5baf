"""FastAPI dependencies: a store session per request (SessionDep), the signed-in user
(CurrentUser), and the CSRF check every cookie-authenticated POST passes."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from twin.api.auth import CSRF_HEADER, SESSION_COOKIE, same
from twin.api.views import ConsoleError
from twin.store.db import session_scope
from twin.store.users import User, check_token, session_user


class NotSignedIn(Exception):
    """No valid session or token: /api answers 401, pages send the browser to /login."""

    def __init__(self, message: str = "sign in first (or send Authorization: Bearer TOKEN)"):
        super().__init__(message)
        self.message = message


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


TOKEN_CACHE_SECONDS = 5.0
_tokens: dict[str, tuple[float, User]] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop the remembered tokens (after a revoke in this process)."""
    with _tokens_lock:
        _tokens.clear()


def _token_user(session: Session, token: str) -> User | None:
    """check_token, remembered for a few seconds per token (a revoked or disabled token stops
    working within TOKEN_CACHE_SECONDS); unknown tokens are never cached."""
    key = hashlib.sha256(token.encode()).hexdigest()
    at = time.monotonic()
    with _tokens_lock:
        hit = _tokens.get(key)
    if hit is not None and at - hit[0] < TOKEN_CACHE_SECONDS:
        return hit[1]
    user = check_token(session, token=token)
    with _tokens_lock:
        if user is None:
            _tokens.pop(key, None)
        else:
            if len(_tokens) > 1000:
                _tokens.clear()
            _tokens[key] = (at, user)
    return user


def current_user(request: Request, session: SessionDep) -> User:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("Authorization must be `Bearer TOKEN`")
        user = _token_user(session, token.strip())
        if user is None:
            raise NotSignedIn("unknown or revoked API token")
        request.state.csrf = None
        request.state.via_token = True
        request.state.user = user
        return user
    session_id = request.app.state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session_id is None:
        raise NotSignedIn("your session is missing or expired: sign in again")
    found = session_user(session, session_id=session_id, at=datetime.now(UTC))
    if found is None:
        raise NotSignedIn("your session has ended (signed out, expired or revoked): sign in again")
    user, csrf = found
    request.state.csrf = csrf
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
        raise ConsoleError(
            403,
            "the form's security token is missing or out of date "
            "(the page is older than your session): reload the page and try again",
        )
