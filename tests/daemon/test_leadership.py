"""Leadership with fencing on PostgreSQL: a lease that lapses is lost, a standby takes over from
a frozen leader (SIGSTOP) within 30 s, and a fenced-out leader's writes are refused."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.daemon.conftest import Daemon, drop_signals, query, red_sea, wait_for, write_config
from twin.schedule.leader import Fenced, PostgresLeader, fence
from twin.store.db import make_engine, session_scope

pytestmark = pytest.mark.postgres


def _write(engine: sa.Engine, value: str) -> None:
    with session_scope(engine) as session:
        session.execute(sa.text("INSERT INTO fenced_writes (value) VALUES (:v)"), {"v": value})


def test_a_lapsed_lease_is_lost_and_a_fenced_out_write_refused(pg_url: str) -> None:
    first, second = PostgresLeader(pg_url, lease_seconds=1.0), PostgresLeader(pg_url, 1.0)
    engine = make_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE fenced_writes (value text)"))
    unfence = fence(engine, first.check_fence)
    try:
        assert first.try_acquire() and first.epoch == 1
        assert not second.try_acquire(), "the lease is held: no second leader"
        _write(engine, "while leading")
        assert first.still_held()

        time.sleep(1.3)  # `first` is frozen: it renews nothing
        assert not first.still_held(), "a lease not renewed within lease_seconds is lost"
        assert second.try_acquire() and second.epoch == 2
        with pytest.raises(Fenced, match="epoch 1"):
            _write(engine, "after the take-over")
        assert [r.value for r in query(pg_url, "SELECT value FROM fenced_writes")] == [
            "while leading"
        ]
        # The new leader's writes pass its own fence.
        unfence()
        unfence = fence(engine, second.check_fence)
        _write(engine, "new leader")
        second.release()
        assert first.try_acquire() and first.epoch == 3, "a released lease is taken at once"
    finally:
        unfence()
        first.release()
        second.release()
        engine.dispose()


@pytest.mark.slow
def test_a_standby_takes_over_from_a_frozen_leader(
    tmp_path: Path, pg_url: str, daemons: list[Daemon]
) -> None:
    write_config(tmp_path, pg_url, lease=3)
    first, second = Daemon(tmp_path), Daemon(tmp_path)
    daemons += [first, second]
    wait_for(
        lambda: {first.role(), second.role()} == {"leader", "standby"},
        60,
        what="one leader, one standby",
    )
    leader, standby = (first, second) if first.role() == "leader" else (second, first)
    leader.proc.send_signal(signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        wait_for(lambda: standby.role() == "leader", 30, what="the standby to take over")
        took = time.monotonic() - frozen
        assert took < 30, f"take-over took {took:.1f}s"
        drop_signals(tmp_path, "after-freeze.jsonl", red_sea(source="thawed"))
        wait_for(
            lambda: (
                query(pg_url, "SELECT count(*) FROM signals WHERE source = 'thawed'")[0][0] == 2
            ),
            30,
            what="the new leader to ingest",
        )
    finally:
        leader.proc.send_signal(signal.SIGCONT)
    # Thawed, the old leader finds its lease gone and stands by: never two leaders.
    wait_for(lambda: leader.role() == "standby", 30, what="the old leader to stand by")
    assert standby.role() == "leader"
    # Frozen while running its jobs it finds its lease lapsed; frozen while preparing to lead
    # (migrations) it finds its sessions ended by the new leader. Either way it says so.
    said = [
        json.loads(line)["msg"]
        for line in leader.logs().splitlines()
        if line.startswith("{") and json.loads(line)["level"] == "error"
    ]
    assert any(m.startswith(("lost the leadership", "could not lead")) for m in said), said
    [lease] = query(pg_url, "SELECT epoch, holder FROM twin_leader_lease")
    assert lease.epoch >= 2 and f":{standby.proc.pid}:" in lease.holder
    assert query(pg_url, "SELECT count(*) FROM signals WHERE source = 'thawed'")[0][0] == 2
    assert standby.terminate() == 0 and leader.terminate() == 0
