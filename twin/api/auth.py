"""Who is asking: server-side browser sessions (a signed cookie naming a session row) for
people, `Authorization: Bearer` API tokens for scripts.

The cookie holds a random session id, signed with the app's secret (itsdangerous) and refused
once older than the session lifetime; the store keeps the id's SHA-256, the user, a random CSRF
token and the expiry (twin.store.users). Signing out, a password change, disabling, deleting or
revoking the user deletes the row, so a replayed cookie stops working at once. Forms carry the
CSRF token in a hidden field, JSON calls made with the cookie in an `X-CSRF-Token` header; both
are compared with the session's before any POST acts. Bearer calls need no CSRF token: a
browser never adds that header by itself.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "twin_session"
LOGIN_COOKIE = "twin_login"  # the CSRF token of the sign-in form (double submit)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str
    session_id: str
    csrf: str


class Sessions:
    """Issue and read signed session cookies that expire after `max_age_s` seconds."""

    def __init__(self, secret: str, max_age_s: int, *, secure: bool = False):
        self._signer = URLSafeTimedSerializer(secret, salt="twin-console-session")
        self._login = URLSafeTimedSerializer(secret, salt="twin-console-login")
        self.max_age_s = max_age_s
        self.secure = secure  # cookies only over HTTPS

    def issue(self) -> NewSession:
        session_id = secrets.token_urlsafe(32)
        return NewSession(
            cookie=self._signer.dumps({"s": session_id}),
            session_id=session_id,
            csrf=secrets.token_urlsafe(24),
        )

    def read(self, cookie: str | None) -> str | None:
        """The session id in `cookie`, or None if it is missing, forged or too old (the store
        says whether the session is still open)."""
        if not cookie:
            return None
        try:
            raw = self._signer.loads(cookie, max_age=self.max_age_s)
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("s"), str):
            return None
        return str(raw["s"])

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form value) for the sign-in form: the form value must match the cookie's."""
        token = secrets.token_urlsafe(24)
        return self._login.dumps(token), token

    def login_token_ok(self, cookie: str | None, submitted: str | None) -> bool:
        if not cookie or not submitted:
            return False
        try:
            token = self._login.loads(cookie, max_age=3600)
        except (SignatureExpired, BadSignature):
            return False
        return isinstance(token, str) and same(token, submitted)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
