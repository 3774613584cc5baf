"""One leader per database: of several daemons on one store, exactly one runs the jobs.

PostgreSQL: a lease row (table `twin_leader_lease`, made here on first use, like the
scheduler's job table) holding the leader's id, an epoch and an expiry in the server's clock.
The leader renews it every `min(lease / 3, 5)` s; a standby takes it once it has expired,
adding 1 to the epoch. A leader that cannot renew within `lease_seconds` (frozen, cut off,
database unreachable) has lost it: it stops its jobs on its own clock, and its writes are fenced
out: every transaction of the jobs checks, just before it commits, that the lease is still
its own at its epoch and unexpired (`SELECT … FOR SHARE`, which also makes a take-over wait for
that commit). A write by a fenced-out leader raises Fenced and is rolled back. Every connection
of a daemon carries its lease holder id as `application_name` (PGAPPNAME); a daemon that takes
the lease over ends the previous holder's sessions (`pg_terminate_backend`), so a frozen
leader's open transaction and its locks cannot hold up the new one.

SQLite: an exclusive `flock` on `<database>.daemon.lock` next to the file. The kernel drops it
when the process dies. A second daemon on the same file refuses to start, naming the holder.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

LEASE_TABLE = "twin_leader_lease"
LEASE_NAME = "daemon"


class AlreadyRunning(RuntimeError):
    """Raised when another daemon already holds the store (SQLite: it never waits)."""


class Fenced(RuntimeError):
    """A write by a daemon whose lease has lapsed or been taken over: refused, rolled back."""


class Leadership(Protocol):
    waits: bool  # True: a standby may wait for it (PostgreSQL); False: refuse at once (SQLite)
    describe: str

    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...
    def check_fence(self, connection: sa.Connection) -> None: ...


def lock_key(url: str) -> int:
    """A store's key (one per database and search path), as a signed bigint."""
    parsed = make_url(url)
    text = f"twin-daemon\x00{parsed.database}\x00{sorted(parsed.query.items())}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


_CREATE = f"""
CREATE TABLE IF NOT EXISTS {LEASE_TABLE} (
    name text PRIMARY KEY,
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
)"""
# A standby takes an expired lease (or the first one), one more epoch; and learns who had it.
_ACQUIRE = f"""
WITH previous AS (SELECT holder FROM {LEASE_TABLE} WHERE name = :name)
INSERT INTO {LEASE_TABLE} AS lease (name, holder, epoch, expires_at)
VALUES (:name, :me, 1, clock_timestamp() + make_interval(secs => :lease))
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder, epoch = lease.epoch + 1, expires_at = excluded.expires_at
WHERE lease.expires_at < clock_timestamp()
RETURNING epoch, (SELECT holder FROM previous) AS previous"""
_END_SESSIONS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = :app AND pid <> pg_backend_pid()"""
_RENEW = f"""
UPDATE {LEASE_TABLE}
SET expires_at = clock_timestamp() + make_interval(secs => :lease)
WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > clock_timestamp()
RETURNING epoch"""
_RELEASE = f"""
UPDATE {LEASE_TABLE} SET expires_at = clock_timestamp()
WHERE name = :name AND holder = :me AND epoch = :epoch"""
_FENCE = f"""
SELECT epoch FROM {LEASE_TABLE}
WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > clock_timestamp()
FOR SHARE"""


class PostgresLeader:
    waits = True

    def __init__(self, url: str, lease_seconds: float = 15.0):
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.key = lock_key(url)
        self.lease_s = float(lease_seconds)
        self.me = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Every libpq connection this process opens from now on carries the holder id.
        os.environ["PGAPPNAME"] = application_name(self.me)
        self.epoch: int | None = None
        self._deadline = 0.0  # monotonic: the lease is ours until then, at the latest
        self.describe = (
            f"PostgreSQL lease {LEASE_TABLE} ({self.lease_s:g}s) on "
            f"{parsed.render_as_string(hide_password=True)}"
        )
        # A renewal never waits longer than the lease itself.
        timeout_ms = max(100, int(self.lease_s * 1000 / 2))
        self._engine = sa.create_engine(
            parsed,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
            connect_args={
                "connect_timeout": max(1, int(self.lease_s / 2)),
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "application_name": application_name(self.me),
                "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
            },
        )
        self._conn: sa.Connection | None = None
        self._table_ready = False

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        if not self._table_ready:
            with self._conn.begin():
                # Two daemons starting at once must not both create the table.
                self._conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.key})
                self._conn.execute(sa.text(_CREATE))
            self._table_ready = True
        return self._conn

    def _params(self) -> dict[str, Any]:
        return {"name": LEASE_NAME, "me": self.me, "epoch": self.epoch, "lease": self.lease_s}

    def try_acquire(self) -> bool:
        started = time.monotonic()
        row = None
        for fresh in (self._conn is None, True):  # a kept connection may have been ended
            try:
                connection = self._connection()
                row = connection.execute(sa.text(_ACQUIRE), self._params()).first()
                if row is not None and row.previous and row.previous != self.me:
                    # The previous leader may be frozen inside a transaction holding locks.
                    connection.execute(
                        sa.text(_END_SESSIONS), {"app": application_name(row.previous)}
                    )
                break
            except sa.exc.SQLAlchemyError:
                self._drop()
                if fresh:
                    return False
        if row is None:
            return False
        self.epoch, self._deadline = int(row.epoch), started + self.lease_s
        return True

    def still_held(self) -> bool:
        """Renew the lease; False once it could not be renewed within lease_seconds."""
        if self.epoch is None:
            return False
        started = time.monotonic()
        if started >= self._deadline:
            return False
        try:
            renewed = self._connection().execute(sa.text(_RENEW), self._params()).scalar()
        except sa.exc.SQLAlchemyError:
            self._drop()
            return time.monotonic() < self._deadline  # keep trying until the lease runs out
        if renewed is None:
            self.epoch = None
            return False
        self._deadline = started + self.lease_s
        return True

    def seconds_left(self) -> float:
        return max(0.0, self._deadline - time.monotonic()) if self.epoch is not None else 0.0

    def check_fence(self, connection: sa.Connection) -> None:
        """Raise Fenced unless the lease is still ours, at our epoch, unexpired; inside the
        transaction about to commit, holding the lease row so no take-over passes meanwhile."""
        found = (
            connection.execute(sa.text(_FENCE), self._params()).scalar()
            if self.epoch is not None
            else None
        )
        if found is None:
            raise Fenced(
                f"this daemon's lease (epoch {self.epoch}) has lapsed or been taken over: "
                "the write is refused"
            )

    def release(self) -> None:
        if self._conn is not None and self.epoch is not None:
            try:
                self._conn.execute(sa.text(_RELEASE), self._params())
            except sa.exc.SQLAlchemyError:
                pass
        self.epoch = None
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection is what we are cleaning up
                pass
        self._conn = None


def application_name(holder: str) -> str:
    """The `application_name` of a lease holder's connections (PostgreSQL keeps 63 bytes)."""
    return f"twin {holder}"[:63]


def fence(engine: Engine, check: Callable[[sa.Connection], None]) -> Callable[[], None]:
    """Run `check` in every ORM transaction on `engine` just before it commits (raising rolls
    the transaction back). Returns the function that removes the fence."""

    def before_commit(session: Session) -> None:
        bind = session.get_bind()
        if bind is engine or getattr(bind, "engine", None) is engine:
            check(session.connection())

    event.listen(Session, "before_commit", before_commit)
    return lambda: event.remove(Session, "before_commit", before_commit)


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

    def check_fence(self, connection: sa.Connection) -> None:
        """Nothing to check: the flock is held until the process ends, and no one waits."""

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def leadership_for(url: str, lease_seconds: float = 15.0) -> Any:
    """The leadership of a store URL: PostgresLeader, or FileLeader next to a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresLeader(url, lease_seconds)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the daemon needs a database file or server, not an in-memory SQLite")
    return FileLeader(Path(database + ".daemon.lock").resolve())


__all__ = [
    "AlreadyRunning",
    "Fenced",
    "FileLeader",
    "Leadership",
    "PostgresLeader",
    "fence",
    "leadership_for",
    "lock_key",
]
