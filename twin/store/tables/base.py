"""The shared SQLModel metadata, its constraint naming convention and shared column types."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Fixed constraint names let Alembic revisions (and SQLite batch migrations) name the same
# constraint the same way on every backend. Set before any table class is defined: every table
# module imports this one first.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

metadata: MetaData = SQLModel.metadata
"""All store tables, whichever module defines them (import `twin.store.tables` to fill it)."""


def table_of(model: type[SQLModel]) -> Table:
    """The table a table model is mapped to (SQLModel does not declare `__table__` for typing)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A zone-aware time stamp stored in UTC; SQLite keeps no zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing a time stamp without a zone: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    # YAML reads dates as date objects; JSON has no such type, so they are kept as ISO text.
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


class JSONText(str):
    """A value already encoded as JSON text (e.g. by pydantic's `dump_json`), for a JSONValue
    column: stored as it is rather than decoded and encoded again. At 50,000 shipments the
    routes and plan changes a pass writes spent seconds in that round trip."""


def dumps_json(value: Any) -> str:
    """The engines' JSON serializer (`make_engine`): JSONText as it is, anything else encoded."""
    return str(value) if isinstance(value, JSONText) else json.dumps(value)


def _is_str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


class JSONValue(TypeDecorator[Any]):
    """Free-form JSON (extra fields of records). Plain JSON, not JSONB, on PostgreSQL too:
    JSONB reorders keys, and a stored record must read back exactly as it was written."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, JSONText):
            # Passed through only to an engine whose serializer keeps it (make_engine's);
            # any other engine would store it as one JSON string, so it gets the value.
            serializer = getattr(dialect, "_json_serializer", None)
            return value if serializer is dumps_json else json.loads(value)
        if _is_str_list(value):
            return value  # already plain (paths, ids): nothing to normalise
        # Round-trip through text so values JSON cannot hold become plain ones up front.
        return json.loads(json.dumps(value, default=_jsonable))
