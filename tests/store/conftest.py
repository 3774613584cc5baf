"""Store fixtures: every store test runs on SQLite and on PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from twin.domain.records import Lane, Network, Node, Shipment
from twin.store.db import make_engine
from twin.store.migrate import upgrade

POSTGRES_ENV = "TWIN_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (make test sets it); PostgreSQL case skipped")
    return url


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh PostgreSQL schema, dropped after the test.

    search_path is set by the connection's `options`, so migrations, the alembic_version table
    and every query land in that schema and tests never see each other's data.
    """
    base = _postgres_url()
    schema = f"twin_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend: a SQLite file (as users have) or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'twin.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database of each backend: in-memory SQLite (StaticPool) or a PostgreSQL schema."""
    url = "sqlite://" if request.param == "sqlite" else request.getfixturevalue("pg_schema_url")
    made = make_engine(url)
    upgrade(made)
    yield made
    made.dispose()


def small_network(name: str = "small", **changes: object) -> Network:
    """Every kind of field a node or lane may carry: optional ones, `via`, extras, odd text."""
    nodes = (
        Node(id="CN-SZ", kind="origin", name="Shenzhen 深圳", country="CN", lat=22.54, lon=114.06),
        Node(
            id="CNYTN",
            kind="port",
            name="Yantian",
            country="CN",
            lat=22.57,
            lon=114.28,
            capacity=6000,
            handling_days=0.5,
            operator="YICT",
            berths=[1, 2, 3],
        ),
        Node(id="SUEZ", kind="chokepoint", name="Suez Canal", lat=30.58, lon=32.27),
        Node(id="BAB", kind="chokepoint", name="Bab-el-Mandeb", lat=12.6, lon=43.3),
        Node(
            id="NLRTM",
            kind="port",
            name="Rotterdam",
            country="NL",
            lat=51.95,
            lon=4.14,
            clearance_days=1.25,
            customs_entry=True,
            notes={"zz": 1, "aa": [True, None, 1.5]},
        ),
        Node(
            id="NL-VENLO",
            kind="warehouse",
            tier="fulfillment",
            country="NL",
            capacity=1500,
            customs_entry=False,
        ),
    )
    lanes = (
        Lane(
            **{
                "id": "SZ-YTN-ROAD",
                "from": "CN-SZ",
                "to": "CNYTN",
                "mode": "road",
                "transit_days": 0.5,
                "cost_per_unit": 4,
            }
        ),
        Lane(
            **{
                "id": "YTN-RTM-SUEZ",
                "from": "CNYTN",
                "to": "NLRTM",
                "mode": "sea",
                "transit_days": 30,
                "cost_per_unit": 60.125,
                "capacity": 3000,
                "via": ["BAB", "SUEZ"],
                "transit_days_p90": 34.5,
                "carrier": "COSCO",
            }
        ),
        Lane(
            **{
                "id": "RTM-VENLO-ROAD",
                "from": "NLRTM",
                "to": "NL-VENLO",
                "mode": "road",
                "transit_days": 1,
                "cost_per_unit": 0,
            }
        ),
    )
    fields: dict[str, object] = {
        "name": name,
        "unit": "cbm",
        "currency": "USD",
        "nodes": nodes,
        "lanes": lanes,
    }
    fields.update(changes)
    return Network(**fields)  # type: ignore[arg-type]


def shipment(ident: str, **changes: object) -> Shipment:
    fields: dict[str, object] = {
        "id": ident,
        "origin": "CN-SZ",
        "destination": "NL-VENLO",
        "units": 12.5,
        "ready_at": datetime(2024, 1, 2, 6, tzinfo=UTC),
        "due_at": "2024-02-10T00:00:00+08:00",
    }
    fields.update(changes)
    return Shipment.model_validate(fields)


@pytest.fixture
def make_network() -> Any:
    """`small_network` as a fixture, so test modules need not import from conftest."""
    return small_network


@pytest.fixture
def make_shipment() -> Any:
    return shipment
