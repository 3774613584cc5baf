"""Who is asking: signed session cookies (with expiry and a per-session CSRF token) for people,
`Authorization: Bearer` API tokens for scripts.

The cookie holds the user name, a random CSRF token and when it was issued, signed with the
app's secret (itsdangerous); it is refused once older than the session lifetime. Forms carry
the CSRF token in a hidden field, JSON calls made with the cookie in an `X-CSRF-Token` header;
both are compared with the cookie's before any POST acts. Bearer calls need no CSRF token: a
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
class SessionData:
    user: str
    csrf: str


class Sessions:
    """Issue and read signed session cookies that expire after `max_age_s` seconds."""

    def __init__(self, secret: str, max_age_s: int):
        self._signer = URLSafeTimedSerializer(secret, salt="twin-console-session")
        self._login = URLSafeTimedSerializer(secret, salt="twin-console-login")
        self.max_age_s = max_age_s

    def issue(self, user: str) -> tuple[str, SessionData]:
        data = SessionData(user=user, csrf=secrets.token_urlsafe(24))
        return self._signer.dumps({"u": data.user, "c": data.csrf}), data

    def read(self, cookie: str | None) -> SessionData | None:
        """The session in `cookie`, or None if it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            raw = self._signer.loads(cookie, max_age=self.max_age_s)
        except (SignatureExpired, BadSignature):
            return None
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("u"), str)
            or not isinstance(raw.get("c"), str)
        ):
            return None
        return SessionData(user=raw["u"], csrf=raw["c"])

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
