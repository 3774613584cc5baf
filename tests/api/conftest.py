"""Console fixtures: a migrated SQLite store seeded with a real incident (the engine on the demo
network, Suez closed), three users, and TestClients signed in with the password form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_world import PASSWORD, USERS, Console, sign_in
from fastapi.testclient import TestClient

from twin.api.demo import seed_demo
from twin.store.db import make_engine, session_scope
from twin.store.migrate import upgrade
from twin.store.users import add_token, add_user

__all__ = ["PASSWORD"]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    db = make_engine(url)
    upgrade(db)
    now = datetime.now(UTC).replace(microsecond=0)
    seeded = seed_demo(db, now=now)
    tokens = {}
    with session_scope(db) as session:
        for name, role in USERS.items():
            add_user(session, name=name, role=role, password=PASSWORD, at=now)
            tokens[name] = add_token(session, name=name, at=now)
    yield Console(url, db, seeded, tokens)
    db.dispose()




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
