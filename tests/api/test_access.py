"""Access that can be taken back, and sign-in that a flood cannot abuse: server-side sessions
(sign-out, password change), `twin users disable / enable / delete / revoke`, sign-in throttles
per address and per user name, bounded password checks, NUL characters, security headers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

import anyio
import pytest
from console_world import PASSWORD, Console, csrf_of, sign_in
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

import twin.api.deps
from twin.api.auth import SESSION_COOKIE
from twin.api.throttle import MovingWindow, SignInGuard, SignInLimits, SignInRefused
from twin.domain.settings import ServeSettings
from twin.domain.users import Role
from twin.store.db import session_scope
from twin.store.users import add_user, revoke


@pytest.fixture(autouse=True)
def _no_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # Revocation is immediate in the store; a server remembers a token for up to 5 s
    # (TOKEN_CACHE_SECONDS), which these tests are not about.
    monkeypatch.setattr(twin.api.deps, "TOKEN_CACHE_SECONDS", 0.0)


def _replay(console: Console, cookie: str) -> int:
    """/api/me from a fresh client holding only `cookie`: what an attacker who kept it gets."""
    with TestClient(console.app()) as other:
        other.cookies.set(SESSION_COOKIE, cookie)
        return other.get("/api/me").status_code


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _twin(console: Console, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TWIN_DATABASE_URL": console.url}
    return subprocess.run(
        [sys.executable, "-m", "twin.cli.app", "users", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    with TestClient(console.app()) as client:
        sign_in(client, "alice")
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie and _replay(console, cookie) == 200
        page = client.get("/").text
        # A forged sign-out (no or wrong CSRF token) ends nothing.
        client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
        assert _replay(console, cookie) == 200
        out = client.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        assert out.status_code == 303
    assert _replay(console, cookie) == 401, "a cookie replayed after sign-out must not work"


def test_a_password_reset_ends_sessions_and_tokens(console: Console) -> None:
    with TestClient(console.app()) as client:
        sign_in(client, "alice")
        cookie = client.cookies.get(SESSION_COOKIE)
        assert _me(client, console.tokens["alice"]) == 200
        with session_scope(console.db) as session:
            add_user(
                session,
                name="alice",
                role=Role.approver,
                password="a new long password",
                at=console.seeded.now,
                replace=True,
            )
        assert _me(client, console.tokens["alice"]) == 401
        token = csrf_of(client.get("/login").text)
        old = client.post(
            "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
        )
        assert old.status_code == 401
        sign_in(client, "alice", "a new long password")
    assert _replay(console, cookie) == 401  # type: ignore[arg-type]


def test_users_disable_enable_revoke_delete(console: Console) -> None:
    with TestClient(console.app()) as client:
        sign_in(client, "vic")
        cookie = client.cookies.get(SESSION_COOKIE)
        token = console.tokens["vic"]

        disabled = _twin(console, "disable", "vic", "--json")
        assert disabled.returncode == 0, disabled.stderr
        assert '"sessions_ended": 1' in disabled.stdout and '"disabled": true' in disabled.stdout
        assert _replay(console, cookie) == 401 and _me(client, token) == 401  # type: ignore[arg-type]
        form = csrf_of(client.get("/login").text)
        refused = client.post(
            "/login", data={"username": "vic", "password": PASSWORD, "csrf_token": form}
        )
        assert refused.status_code == 401

        assert _twin(console, "enable", "vic").returncode == 0
        assert _me(client, token) == 200, "enabling gives the tokens back"
        sign_in(client, "vic")
        cookie = client.cookies.get(SESSION_COOKIE)

        revoked = _twin(console, "revoke", "vic")
        assert revoked.returncode == 0 and "1 session(s) ended, 1 API token(s) revoked" in (
            revoked.stdout
        )
        assert _replay(console, cookie) == 401 and _me(client, token) == 401  # type: ignore[arg-type]
        sign_in(client, "vic")  # the password still works after a revoke

        deleted = _twin(console, "delete", "vic")
        assert deleted.returncode == 0, deleted.stderr
        assert client.get("/api/me").status_code == 401
        listed = _twin(console, "list", "--json")
        assert '"vic"' not in listed.stdout and '"alice"' in listed.stdout

    missing = _twin(console, "disable", "nobody")
    assert missing.returncode == 2 and "nobody" in missing.stderr
    assert "Traceback" not in missing.stderr


def _attempt(client: TestClient, name: str, password: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_failed_sign_ins_lock_the_name_not_the_person_next_to_it(console: Console) -> None:
    settings = ServeSettings(sign_in_failures=5, sign_in_per_minute=100)
    with TestClient(console.app(serve=settings)) as client:
        for _ in range(5):
            assert _attempt(client, "alice", "wrong guess").status_code == 401
        locked = _attempt(client, "alice", PASSWORD)
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
        assert 0 < int(locked.headers["Retry-After"]) <= 900
        assert _attempt(client, "root", PASSWORD).status_code == 303


def test_sign_ins_per_address_are_limited(console: Console) -> None:
    settings = ServeSettings(sign_in_per_minute=3)
    with TestClient(console.app(serve=settings)) as client:
        for _ in range(3):
            assert _attempt(client, "nobody", "x" * 10).status_code == 401
        refused = _attempt(client, "alice", PASSWORD)
        assert refused.status_code == 429 and "from your address" in refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_password_checks_are_bounded_and_the_rest_refused_at_once() -> None:
    guard = SignInGuard(SignInLimits(concurrency=2, queue=1))
    running = peak = 0
    lock = threading.Lock()

    def slow_check() -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return True

    outcomes: list[str] = []

    async def one() -> None:
        try:
            await guard.check(slow_check)
            outcomes.append("checked")
        except SignInRefused as refused:
            outcomes.append(f"refused {refused.retry_after_s}")

    async def flood() -> float:
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(one)
        return time.monotonic() - started

    took = anyio.run(flood)
    assert peak == 2, f"{peak} checks ran at once"
    assert sorted(outcomes) == ["checked"] * 3 + ["refused 2"] * 3
    assert 0.55 < took < 2.0  # two rounds of 0.3 s: the third waited, the rest did not


def test_nul_characters_are_refused_not_a_server_error(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    bearer = {"Authorization": f"Bearer {console.tokens['alice']}"}
    caplog.set_level(logging.DEBUG)
    with TestClient(console.app(), raise_server_exceptions=False) as client:
        anonymous = _attempt(client, "ali\x00ce", PASSWORD)
        assert anonymous.status_code == 422 and anonymous.json()["detail"][0]["loc"] == [
            "body",
            "username",
        ]
        query = client.get("/api/scores", params={"target": "SU\x00EZ"}, headers=bearer)
        assert query.status_code == 422
        body = client.post(
            "/api/silences",
            headers=bearer,
            json={"matchers": {"target": "SUEZ"}, "duration": "1h", "comment": "a\x00b"},
        )
        assert body.status_code == 422 and body.json()["detail"][0]["loc"] == ["body", "comment"]
        path = client.get("/api/incidents/INC%00x", headers=bearer)
        assert path.status_code == 422
    assert "parameters" not in caplog.text.lower()


def test_security_headers_and_secure_cookies(console: Console) -> None:
    with TestClient(console.app()) as client:
        page = client.get("/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in page.headers
        assert "secure" not in page.headers["set-cookie"].lower()
        assert client.get("/api/me").headers["x-content-type-options"] == "nosniff"
    https = ServeSettings(external_url="https://twin.example.org/")
    assert https.secure and not ServeSettings(external_url="http://10.0.0.1:8080").secure
    with TestClient(console.app(serve=https), base_url="https://testserver") as client:
        page = client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()
        sign_in(client, "alice")
        assert client.get("/api/me").status_code == 200


def test_pages_carry_no_inline_script(console: Console) -> None:
    import re

    with TestClient(console.app()) as client:
        sign_in(client, "alice")
        pages = (
            "/",
            "/incidents",
            f"/incidents/{console.incident_id}",
            "/map",
            "/alerts",
            "/audit",
        )
        for path in pages:
            html = client.get(path).text
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"\son[a-z]+\s*=", html), path


@given(
    times=st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=60),
    limit=st.integers(min_value=1, max_value=5),
    window=st.floats(min_value=0.5, max_value=30),
)
def test_moving_window_agrees_with_counting_by_hand(
    times: list[float], limit: int, window: float
) -> None:
    counter = MovingWindow(limit, window, max_keys=10)
    accepted: list[float] = []
    for at in sorted(times):
        expected = sum(1 for t in accepted if t > at - window) < limit
        assert counter.hit("k", at) == expected
        if expected:
            accepted.append(at)


def test_moving_window_keeps_a_bounded_number_of_keys() -> None:
    counter = MovingWindow(1, 60.0, max_keys=100)
    for n in range(10_000):
        counter.hit(f"address-{n}", float(n) / 1000)
    assert len(counter._events) == 100


@pytest.mark.parametrize("credential", ["cookie", "token"])
def test_the_event_stream_ends_when_its_credentials_are_revoked(
    console: Console, credential: str
) -> None:
    """/api/events is long-lived: a revoke must end it, not only refuse the next request."""

    revoked: list[tuple[int, int]] = []

    def revoke_later() -> None:
        time.sleep(0.5)
        with session_scope(console.db) as session:
            revoked.append(revoke(session, name="alice"))

    with TestClient(console.app(poll_seconds=0.1)) as client:
        headers = {}
        if credential == "cookie":
            sign_in(client, "alice")
        else:
            headers = {"Authorization": f"Bearer {console.tokens['alice']}"}
        revoker = threading.Thread(target=revoke_later)
        revoker.start()
        # The test client returns once the stream has ended; before the fix it never did.
        with client.stream("GET", "/api/events", headers=headers, timeout=20) as response:
            body = response.read().decode()
        revoker.join()
    # (API tokens revoked, sessions ended): alice has a token in both cases.
    assert revoked == [(1, 1) if credential == "cookie" else (1, 0)]
    assert response.status_code == 200
    assert body.startswith("event: hello\n")
    assert body.rstrip().endswith("event: signed-out\ndata: sign in again")
