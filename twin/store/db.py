"""Engine and session factory: which database (TWIN_DATABASE_URL, else ./twin.db), and how."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from twin.store.tables.base import dumps_json

ENV_VAR = "TWIN_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///twin.db"
"""A SQLite file `twin.db` in the current directory, used when TWIN_DATABASE_URL is unset."""


def database_url(explicit: str | None = None) -> str:
    """The database to use: `explicit` if given, else TWIN_DATABASE_URL, else ./twin.db (SQLite)."""
    if explicit:
        return explicit
    return os.environ.get(ENV_VAR, "").strip() or DEFAULT_DATABASE_URL


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: `database_url()`).

    SQLite: foreign keys on, WAL journal (readers do not block the writer), real transactions
    (BEGIN issued by us, so DDL and a failed load roll back too); an in-memory database uses one
    shared connection (StaticPool) so every session sees the same data. PostgreSQL: psycopg 3
    (`postgresql://` and `postgresql+psycopg2://` are read as `postgresql+psycopg://`).
    Extra keyword arguments go to `sqlalchemy.create_engine`.
    """
    parsed = make_url(url if url is not None else database_url())
    # Never SQL parameters (user input, password hashes) in error messages or logs.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", dumps_json)  # JSONText stored as it is
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST/DB"
        )
    in_memory = parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    _sqlite_pragmas(engine, wal=not in_memory)
    return engine


def _sqlite_pragmas(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions out of pysqlite's hands: it would otherwise commit before DDL and
        # begin lazily, so a failed migration or load could leave half its changes behind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# One lock per SQLite database object: this process's writers take turns for its write lock.
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _WRITERS_LOCK:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
        return lock


@contextmanager
def write_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction that will write (committed when the block ends, rolled
    back if it raises).

    SQLite begins transactions deferred: one that reads and then writes fails at once (not
    after the busy timeout) when another connection wrote in between. So on SQLite the write
    lock is taken as the transaction begins (a write that changes nothing), and this process's
    threads take turns for it. PostgreSQL needs neither.
    """
    sqlite = engine.dialect.name == "sqlite"
    with _writer_lock(engine) if sqlite else nullcontext(), session_scope(engine) as session:
        if sqlite:
            session.execute(text("DELETE FROM alert_state WHERE 0 = 1"))
        yield session
