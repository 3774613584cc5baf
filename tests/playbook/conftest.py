"""Playbook fixtures."""

from __future__ import annotations

import pytest
from playbook_builders import make_alert

from twin.domain.alerts import Alert


@pytest.fixture
def alert() -> Alert:
    return make_alert()


# The store's backend fixtures (SQLite and PostgreSQL), shared rather than copied.
import importlib.util as _util
from pathlib import Path as _Path

_spec = _util.spec_from_file_location(
    "twin_store_test_fixtures", _Path(__file__).resolve().parents[1] / "store" / "conftest.py"
)
assert _spec and _spec.loader
_store = _util.module_from_spec(_spec)
_spec.loader.exec_module(_store)
engine = _store.engine
empty_url = _store.empty_url
pg_schema_url = _store.pg_schema_url
