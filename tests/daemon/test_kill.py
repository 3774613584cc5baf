"""SIGKILL the daemon at random points, again and again: nothing lost, nothing twice, nothing half."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.daemon.conftest import (
    Daemon,
    Receiver,
    drop_signals,
    query,
    red_sea,
    wait_for,
    write_config,
)


@pytest.mark.postgres
@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_repeats_nothing(
    tmp_path: Path, pg_url: str, receiver: Receiver, daemons: list[Daemon]
) -> None:
    write_config(tmp_path, pg_url, hook=receiver.url)
    rng = random.Random(7)
    rounds, expected = 6, 0
    for round_ in range(rounds):
        daemon = Daemon(tmp_path)
        daemons.append(daemon)
        # A new file each round, some dropped while the daemon starts, some while it runs jobs.
        rows = red_sea(source=f"round-{round_}", value=5 + round_ % 3)
        drop_signals(tmp_path, f"round-{round_}.jsonl", rows)
        expected += len(rows)
        time.sleep(rng.uniform(1.5, 5.0))
        daemon.kill()

    survivor = Daemon(tmp_path)
    daemons.append(survivor)
    wait_for(
        lambda: (survivor.health()["jobs"].get("monitor") or {}).get("last_success"),
        30,
        what="the survivor's first monitor pass",
    )
    wait_for(
        lambda: query(pg_url, "SELECT count(*) FROM signals")[0][0] == expected,
        30,
        what="every signal",
    )
    wait_for(
        lambda: (
            query(pg_url, "SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL")[0][
                0
            ]
            == 0
            and query(pg_url, "SELECT count(*) FROM notification_outbox")[0][0] >= 1
        ),
        30,
        what="deliveries",
    )
    time.sleep(2)  # a few more passes: they must change nothing below
    assert survivor.terminate() == 0

    # No signal lost or stored twice.
    per_file = Counter(r.source for r in query(pg_url, "SELECT source FROM signals"))
    assert per_file == {f"round-{i}": 2 for i in range(rounds)}
    # One incident per (alert episode, playbook), and each state reached once in its audit trail.
    incidents = query(pg_url, "SELECT id, alert_id, playbook_id, state FROM incidents")
    assert incidents and len({(i.alert_id, i.playbook_id) for i in incidents}) == len(incidents)
    moves = Counter(
        (r.incident_id, r.to_state)
        for r in query(pg_url, "SELECT incident_id, to_state FROM incident_audit")
    )
    assert moves and max(moves.values()) == 1, f"a transition was recorded twice: {moves}"
    # Every applied incident's routes are all in the plan of record: nothing half-applied.
    from twin.domain.plans import Assignment

    stored = {
        r.shipment: [Assignment.model_validate(a).path for a in r.assignments]
        for r in query(pg_url, "SELECT shipment, assignments FROM plan_routes")
    }
    for incident in query(pg_url, "SELECT id, new_routes FROM incidents WHERE state = 'applied'"):
        wanted: dict[str, list[list[str]]] = {}
        for raw in incident.new_routes:
            a = Assignment.model_validate(raw)
            wanted.setdefault(a.shipment, []).append(a.path)
        for sid, paths in wanted.items():
            assert stored.get(sid) == paths, f"{incident.id}: {sid} not on its new route"
    # Each notification queued once and delivered under its own key; a repeat on the wire (a kill
    # between the POST and its mark) carries the same key, so the receiver can drop it.
    outbox = {r.id for r in query(pg_url, "SELECT id FROM notification_outbox")}
    assert set(receiver.keys) == outbox
    assert len(outbox) == len([i for i in incidents if i.state == "applied"])
