"""`twin alerts silence / silences / expire-silence / ack` as a user runs them: subprocesses on a
SQLite file chosen by TWIN_DATABASE_URL, everything read back from the store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twin.domain.alerts import Alert, Severity
from twin.store.alerts import list_acks, list_alerts, list_silences, save_alerts
from twin.store.db import make_engine, session_scope

OPENED = datetime(2024, 1, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store brought to the newest schema by `twin db upgrade`, once for the module."""
    path = tmp_path_factory.mktemp("alerts-store") / "alerts.db"
    env = {**os.environ, "TWIN_DATABASE_URL": f"sqlite:///{path}"}
    env.pop("TWIN_DEBUG", None)
    done = _twin(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def db(migrated: Path, tmp_path: Path) -> dict[str, str]:
    # Each test gets its own copy of the migrated store.
    path = tmp_path / "alerts.db"
    shutil.copyfile(migrated, path)
    env = {**os.environ, "TWIN_DATABASE_URL": f"sqlite:///{path}"}
    env.pop("TWIN_DEBUG", None)
    return env


def _twin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin.cli.app", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _json(env: dict[str, str], *args: str) -> object:
    done = _twin(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_silence_list_expire(db: dict[str, str]) -> None:
    made = _json(
        db,
        "alerts",
        "silence",
        "--target",
        "USLAX",
        "--dimension",
        "customs",
        "--dimension",
        "capacity",
        "--for",
        "6h",
        "--by",
        "ana",
        "--comment",
        "known strike",
    )
    assert made["state"] == "active" and made["matchers"] == {
        "target": "USLAX",
        "dimension": ["customs", "capacity"],
    }
    start, end = (datetime.fromisoformat(made[k]) for k in ("starts_at", "ends_at"))
    assert end - start == timedelta(hours=6)
    later = _json(
        db,
        "alerts",
        "silence",
        "--target",
        "~CN.*",
        "--kind",
        "port",
        "--for",
        "1d",
        "--by",
        "bo",
        "--comment",
        "typhoon season",
        "--starts-at",
        "2099-01-01T00:00:00Z",
    )
    assert later["state"] == "pending" and later["matchers"] == {"target": "~CN.*", "kind": "port"}

    listed = _json(db, "alerts", "silences")
    assert [s["id"] for s in listed] == [made["id"], later["id"]]

    expired = _json(db, "alerts", "expire-silence", made["id"])
    assert expired["state"] == "expired" and not expired["already_expired"]
    assert [s["id"] for s in _json(db, "alerts", "silences")] == [later["id"]]
    everything = _json(db, "alerts", "silences", "--all")
    assert {s["id"]: s["state"] for s in everything} == {
        made["id"]: "expired",
        later["id"]: "pending",
    }
    again = _json(db, "alerts", "expire-silence", made["id"])
    assert again["already_expired"]

    engine = make_engine(db["TWIN_DATABASE_URL"])
    with session_scope(engine) as session:
        stored = {s.id: s for s in list_silences(session)}
    engine.dispose()
    assert stored[made["id"]].created_by == "ana"
    assert stored[made["id"]].comment.startswith("known strike; expired at ")
    assert stored[made["id"]].ends_at < stored[made["id"]].starts_at + timedelta(hours=6)


def test_silence_bad_input_exits_2(db: dict[str, str]) -> None:
    done = _twin(
        db,
        "alerts",
        "silence",
        "--target",
        "USLAX",
        "--for",
        "soon",
        "--by",
        "ana",
        "--comment",
        " ",
    )
    assert done.returncode == 2
    assert "--for: not a duration" in done.stderr and "--comment: say why" in done.stderr
    missing = _twin(db, "alerts", "expire-silence", "s-nope")
    assert missing.returncode == 2 and "no such silence" in missing.stderr


def test_ack_open_alert(db: dict[str, str]) -> None:
    engine = make_engine(db["TWIN_DATABASE_URL"])
    alert = Alert(
        id="USLAX/customs/2024-01-10T00:00:00Z",
        target="USLAX",
        dimension="customs",
        severity=Severity.warn,
        score=0.6,
        peak=0.6,
        opened_at=OPENED,
        updated_at=OPENED,
    )
    cleared = alert.model_copy(
        update={"id": "SUEZ/security/x", "target": "SUEZ", "cleared_at": OPENED}
    )
    with session_scope(engine) as session:
        save_alerts(session, alerts=[alert, cleared])

    doc = _json(db, "alerts", "ack", alert.id, "--by", "ana", "--comment", "calling the broker")
    assert doc["alert_id"] == alert.id and doc["by"] == "ana"
    with session_scope(engine) as session:
        acks = list_acks(session, alert_id=alert.id)
        stored = {a.id: a for a in list_alerts(session)}
    assert [(a.by, a.comment) for a in acks] == [("ana", "calling the broker")]
    assert stored[alert.id].acked_by == "ana" and stored[alert.id].acked_at is not None

    listed = _json(db, "alerts", "list", "--open")
    assert [(a["id"], a["acked_by"]) for a in listed] == [(alert.id, "ana")]

    done = _twin(db, "alerts", "ack", cleared.id, "--by", "ana")
    assert done.returncode == 2 and "nothing to acknowledge" in done.stderr
    done = _twin(db, "alerts", "ack", "nope", "--by", "ana")
    assert done.returncode == 2 and "no such alert episode" in done.stderr
    engine.dispose()


def test_the_cli_and_the_console_acknowledge_alike(db: dict[str, str]) -> None:
    """Both record every acknowledgement and show the first person on the episode, whichever
    of them comes first (one implementation: twin.store.decisions)."""
    from twin.api.views import acknowledge
    from twin.store.users import Role, User

    engine = make_engine(db["TWIN_DATABASE_URL"])
    first = Alert(
        id="USLAX/customs/a",
        target="USLAX",
        dimension="customs",
        severity=Severity.warn,
        score=0.6,
        peak=0.6,
        opened_at=OPENED,
        updated_at=OPENED,
    )
    second = first.model_copy(update={"id": "USLAX/customs/b"})
    with session_scope(engine) as session:
        save_alerts(session, alerts=[first, second])
    bob = User(name="bob", role=Role.approver)

    _json(db, "alerts", "ack", first.id, "--by", "ana")  # the CLI first, then the console
    with session_scope(engine) as session:
        acknowledge(session, alert_id=first.id, user=bob, comment="me too", at=OPENED)
    with session_scope(engine) as session:  # the console first, then the CLI
        acknowledge(session, alert_id=second.id, user=bob, comment="", at=OPENED)
    _json(db, "alerts", "ack", second.id, "--by", "ana")
    with session_scope(engine) as session:
        shown = {a.id: a.acked_by for a in list_alerts(session)}
        kept = {
            a.id: sorted(k.by for k in list_acks(session, alert_id=a.id)) for a in (first, second)
        }
    engine.dispose()
    assert shown == {first.id: "ana", second.id: "bob"}
    assert kept == {first.id: ["ana", "bob"], second.id: ["ana", "bob"]}


def test_unmigrated_store_says_upgrade(tmp_path: Path) -> None:
    env = {**os.environ, "TWIN_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    done = _twin(env, "alerts", "silences")
    assert done.returncode == 1 and "twin db upgrade" in done.stderr


def test_silence_with_a_bad_pattern_exits_2_naming_it(db: dict[str, str], tmp_path: Path) -> None:
    args = ["alerts", "silence", "--for", "1h", "--by", "ana", "--comment", "x"]
    bad = _twin(db, *args, "--target", "SUEZ", "--target", "~(")
    assert bad.returncode == 2 and "~(" in bad.stderr and "not a regular expression" in bad.stderr
    assert "Traceback" not in bad.stderr
    slow = _twin(db, *args, "--target", "~(.*)*(.*)*(.*)*z", "--json")
    assert slow.returncode == 0, slow.stderr
    with session_scope(make_engine(db["TWIN_DATABASE_URL"])) as session:
        assert [s.matchers for s in list_silences(session)] == [{"target": "~(.*)*(.*)*(.*)*z"}]
