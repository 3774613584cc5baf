"""Console fixtures: a migrated SQLite store seeded with a real incident (the engine on the demo
network, Suez closed), three users, and a TestClient per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from twin.api.app import create_app
from twin.api.demo import Seeded, seed_demo
from twin.store.db import make_engine, session_scope
from twin.store.migrate import upgrade
from twin.store.users import Role, add_token, add_user

PASSWORD = "correct horse battery"
USERS = {"alice": Role.approver, "vic": Role.viewer, "root": Role.admin}


@dataclass
class Console:
    url: str
    db: Engine
    seeded: Seeded
    tokens: dict[str, str]

    @property
    def incident_id(self) -> str:
        return self.seeded.incident_id

    def app(self, **options: object) -> FastAPI:
        return create_app(self.url, secret_key="test-secret", **options)  # type: ignore[arg-type]


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


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": password, "csrf_token": token,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


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
