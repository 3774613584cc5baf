"""The console tests' world: a seeded store (a real incident), three users, sign-in helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from twin.api.app import create_app
from twin.api.demo import Seeded
from twin.store.users import Role

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


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
