"""Console fixtures: a migrated store seeded by the real chain (the daemon's `run_once` over the
demo network, Suez closed, signals dropped in a feed folder), three users, and TestClients signed
in with the password form. Every console test runs on SQLite and on PostgreSQL (a throwaway
schema per test, dropped afterwards; skipped with the reason when TWIN_TEST_POSTGRES_URL is unset)."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from console_world import PASSWORD, USERS, Console, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import text

import twin.store.users
from twin.api.demo import seed_demo
from twin.engine.service import forget_services
from twin.store.db import make_engine, session_scope
from twin.store.users import add_token, add_user

__all__ = ["PASSWORD"]

POSTGRES_ENV = "TWIN_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True, scope="session")
def _one_hash_per_password() -> Iterator[None]:
    """Argon2 is slow by design (~0.2 s a hash) and every console test adds three users: each
    password is hashed once per session and that (valid, salted) hash reused. Checking a
    password at sign-in still runs Argon2 every time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            twin.store.users, "hash_password", functools.cache(twin.store.users.hash_password)
        )
        yield


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh PostgreSQL schema (search_path), dropped after."""
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (make test sets it); PostgreSQL case skipped")
    schema = f"twin_api_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        forget_services()  # the seed's and the engine passes' connections, before the schema goes
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'console.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def console(database_url: str, tmp_path: Path) -> Iterator[Console]:
    now = datetime.now(UTC).replace(microsecond=0)
    seeded = seed_demo(database_url, tmp_path / "world", now=now)
    db = make_engine(database_url)
    tokens = {}
    with session_scope(db) as session:
        for name, role in USERS.items():
            add_user(session, name=name, role=role, password=PASSWORD, at=now)
            tokens[name] = add_token(session, name=name, at=now)
    yield Console(database_url, db, seeded, tokens)
    db.dispose()
    forget_services()


@pytest.fixture
def browser_client(console: Console) -> Iterator[callable]:  # type: ignore[valid-type]
    """A function name -> TestClient signed in with the password form as that user."""
    clients: list[TestClient] = []

    def make(name: str) -> TestClient:
        client = TestClient(console.app())
        clients.append(client)
        return sign_in(client, name)

    yield make
    for client in clients:
        client.close()
