"""One leader per database: of several daemons on one store, exactly one runs the jobs.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated
connection. The server drops it the moment that connection ends (process killed, host gone, TCP
reset), so a standby's next try (every `retry` seconds) takes over. A heartbeat checks the
connection; if it broke, leadership is lost and the daemon stops its jobs.

SQLite: an exclusive `flock` on `<database>.daemon.lock` next to the file. The kernel drops it
when the process dies. A second daemon on the same file refuses to start, naming the holder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


class AlreadyRunning(RuntimeError):
    """Raised when another daemon already holds the store (SQLite: it never waits)."""


class Leadership(Protocol):
    waits: bool  # True: a standby may wait for it (PostgreSQL); False: refuse at once (SQLite)
    describe: str

    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


def lock_key(url: str) -> int:
    """The advisory lock key of a store: one per database and search path, as a signed bigint."""
    parsed = make_url(url)
    text = f"twin-daemon\x00{parsed.database}\x00{sorted(parsed.query.items())}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


class PostgresLeader:
    waits = True

    def __init__(self, url: str):
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.key = lock_key(url)
        self.describe = (
            f"PostgreSQL advisory lock {self.key} on {parsed.render_as_string(hide_password=True)}"
        )
        self._engine = sa.create_engine(
            parsed,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "connect_timeout": 5,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "application_name": "twin-daemon",
            },
        )
        self._conn: sa.Connection | None = None

    def try_acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            got = self._conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar()
        except sa.exc.SQLAlchemyError:
            self._drop()
            return False
        return bool(got)

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            unsigned = self.key & 0xFFFFFFFFFFFFFFFF
            held = self._conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objsubid = 1 "
                    "AND classid::bigint = :hi AND objid::bigint = :lo"
                ),
                {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
            ).scalar()
        except sa.exc.SQLAlchemyError:
            self._drop()
            return False
        return bool(held)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except sa.exc.SQLAlchemyError:
                pass
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection is what we are cleaning up
                pass
        self._conn = None


class FileLeader:
    waits = False

    def __init__(self, lock_path: Path):
        self.path = lock_path
        self.describe = f"lock file {lock_path}"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def leadership_for(url: str) -> Any:
    """The leadership of a store URL: PostgresLeader, or FileLeader next to a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresLeader(url)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the daemon needs a database file or server, not an in-memory SQLite")
    return FileLeader(Path(database + ".daemon.lock").resolve())


__all__ = [
    "AlreadyRunning",
    "FileLeader",
    "Leadership",
    "PostgresLeader",
    "leadership_for",
    "lock_key",
]
