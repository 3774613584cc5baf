"""What the store's query modules share: save reports, a not-found error, network lookup."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, col

from twin.store.tables.base import dumps_json
from twin.store.tables.network import NetworkRow

T = TypeVar("T")

# Rows per DELETE ... IN (...): well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 1000


class NotFound(LookupError):
    """Raised when a stored network, shipment or other record of that name does not exist."""


@dataclass
class SaveReport:
    """What one save did, counted per table: rows inserted, updated, unchanged and deleted."""

    network_id: int
    created: bool = False
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.created or any(
            sum(counts.values()) for counts in (self.inserted, self.updated, self.deleted)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "created": self.created,
            "changed": self.changed,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def network_id(session: Session, *, name: str, for_update: bool = False) -> int:
    """The id of the stored network `name`; raises NotFound if there is none."""
    query = select(col(NetworkRow.id)).where(col(NetworkRow.name) == name)
    if for_update:
        query = query.with_for_update()
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no stored network named {name!r} (load it with `twin db load-network`)")
    return int(found)


class DecodedRows(Generic[T]):
    """Records decoded from stored rows, kept between reads by each row's raw content, so a row
    read again unchanged is not validated again (the daemon reads every shipment in flight and
    its route on each pass; decoding them was most of a pass at 50,000 shipments).

    A key whose raw content changed is decoded afresh; keys not read again are forgotten."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Any, T]] = {}

    def unknown(self, rows: Iterable[tuple[str, Any]]) -> list[str]:
        """The keys of (key, raw) rows that `decode` would decode afresh."""
        kept = self._kept
        return [key for key, raw in rows if (hit := kept.get(key)) is None or hit[0] != raw]

    def decode(self, rows: Iterable[tuple[str, Any]], decoder: Callable[[Any], T]) -> dict[str, T]:
        """{key: decoder(raw)} for (key, raw) rows, reusing what an equal raw decoded to before."""
        kept = self._kept
        fresh: dict[str, tuple[Any, T]] = {}
        for key, raw in rows:
            hit = kept.get(key)
            fresh[key] = hit if hit is not None and hit[0] == raw else (raw, decoder(raw))
        self._kept = fresh
        return {key: value for key, (_, value) in fresh.items()}


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def execute_many(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Execute `statement` (an INSERT, an upsert or an UPDATE with bound parameters) once per
    row of `rows` (dicts keyed by parameter name), in the session's transaction. SQLite: one
    `executemany` of sqlite3 itself, each value bound as its parameter's type binds it (at tens
    of thousands of rows SQLAlchemy's handling of each row's parameters took longer than the
    database); a statement with a parameter the rows do not carry (a column default) goes
    through SQLAlchemy. Other backends: `session.execute(statement, rows)`."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "sqlite":
        compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
        names = compiled.positiontup or []
        if all(name in rows[0] for name in names):
            binders = [
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            ]
            values = [
                tuple(
                    row[name] if bind is None else bind(row[name])
                    for name, bind in zip(names, binders, strict=True)
                )
                for row in rows
            ]
            driver = session.connection().connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(str(compiled), values)
            finally:
                cursor.close()
            return
    session.execute(statement, list(rows))


def bulk_insert(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows (each a dict of the table's columns; other keys are not stored), in
    the session's transaction. PostgreSQL: one COPY ... FROM STDIN, the values converted as
    the columns' types would bind them (at tens of thousands of rows, per-row parameter
    binding was most of the insert). Other backends: one executemany (`execute_many`)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        stored = {c.name for c in table.columns}
        execute_many(
            session, sa.insert(table), [{k: v for k, v in r.items() if k in stored} for r in rows]
        )
        return
    columns = [c for c in table.columns if c.name in rows[0]]
    names = ", ".join(f'"{c.name}"' for c in columns)
    raw = session.connection().connection.driver_connection
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    # Each column's conversion worked out once (not per value: hundreds of thousands of them).
    converters = [(c.name, _copy_converter(c, dialect)) for c in columns]
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                [
                    row.get(name) if convert is None else convert(row.get(name))
                    for name, convert in converters
                ]
            )


def _copy_converter(column: sa.Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a value of `column` is written: as the column's type binds it, JSON as its text
    (the engine's serializer); None: as it is."""
    kind: Any = column.type
    bind = None
    if isinstance(kind, TypeDecorator):
        bind, kind = kind.process_bind_param, kind.impl_instance
    if isinstance(kind, sa.JSON):
        null = None if kind.none_as_null else "null"

        def as_json(value: Any) -> Any:
            if bind is not None:
                value = bind(value, dialect)
            return null if value is None else dumps_json(value)

        return as_json
    if bind is not None:
        return lambda value: bind(value, dialect)
    return None
