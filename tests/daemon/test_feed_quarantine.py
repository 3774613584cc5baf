"""One bad file never blocks its feed: it is held out whole (not re-read until re-queued) while
the feed reads the files after it in the same pass; rows the database refuses (NUL on
PostgreSQL) are quarantined alone; health and metrics say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from twin.engine import polling
from twin.engine.polling import ingest_feed
from twin.engine.service import forget_services, open_service
from twin.files.config import load_config
from twin.schedule import metrics
from twin.store.db import session_scope
from twin.store.feed_files import list_held_files, requeue_file
from twin.store.signals import list_quarantine

from .conftest import write_config

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ROW = {
    "ts": "2024-01-02T06:00:00Z",
    "source": "broker",
    "dimension": "customs",
    "metric": "clearance_hours",
    "value": 96,
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path: Path):
    url = (
        f"sqlite:///{tmp_path / 'twin.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    config = load_config(write_config(tmp_path, url))
    made = open_service(config, base=tmp_path, health=metrics.Health())
    yield made
    made.db.dispose()
    forget_services()


def _files(folder: Path) -> None:
    feeds = folder / "feeds"
    deep = "<a>" * 100_000 + "</a>" * 100_000
    (feeds / "a-deep.xml").write_text(f'<alert xmlns="{CAP_NS}">{deep}</alert>')
    (feeds / "b-nul.jsonl").write_text(
        json.dumps({**ROW, "target": "USLAX"})
        + "\n"
        + json.dumps({**ROW, "target": "USLGB", "note": "bad\u0000byte"})
        + "\n"
    )
    (feeds / "c-good.jsonl").write_text(json.dumps({**ROW, "target": "USOAK"}) + "\n")


def _targets(service) -> list[str]:
    with session_scope(service.db) as session:
        rows = session.execute(sa.text("SELECT target FROM signals ORDER BY target")).all()
    return [r[0] for r in rows]


def test_a_bad_file_is_held_and_the_feed_moves_on(service, tmp_path: Path) -> None:
    _files(tmp_path)
    feed = service.config.feed("drop")
    before = metrics.FILES_QUARANTINED.labels("drop")._value.get()
    outcome = ingest_feed(service, feed)
    # the deep CAP file is held; the good row of b and the file after it both land
    assert (outcome.files, outcome.files_quarantined, outcome.inserted) == (3, 1, 2)
    assert _targets(service) == ["USLAX", "USOAK"]
    with session_scope(service.db) as session:
        (held,) = list_held_files(session, feed="drop")
        quarantined = list_quarantine(session)
    assert held.key == str((tmp_path / "feeds" / "a-deep.xml").resolve())
    assert held.reason == "XML nested deeper than 32 elements" and held.format == "cap"
    nul = [q for q in quarantined if q.field == "extras"]
    assert len(nul) == 1 and "NUL" in nul[0].reason and "bad\\u0000byte" in nul[0].raw
    assert metrics.FILES_QUARANTINED.labels("drop")._value.get() == before + 1
    doc = service.health.document()
    assert doc["status"] == "degraded" and "feed:drop: quarantined a file" in doc["problems"][0]

    # the next pass reads nothing again: the held file is not retried
    again = ingest_feed(service, feed)
    assert (again.skipped, again.inserted, again.files_quarantined) == (3, 0, 0)

    # a person re-queues it: the next pass reads it (and, still bad, holds it again)
    with session_scope(service.db) as session:
        assert requeue_file(session, key=held.key) == [("drop", held.key)]
        assert list_held_files(session) == []
    third = ingest_feed(service, feed)
    assert (third.skipped, third.files_quarantined) == (2, 1)


def test_a_file_the_store_refuses_is_held_not_retried(service, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "feeds" / "a.jsonl").write_text(json.dumps({**ROW, "target": "USLAX"}) + "\n")
    (tmp_path / "feeds" / "b.jsonl").write_text(json.dumps({**ROW, "target": "USOAK"}) + "\n")
    real = polling._store_read

    def refuse_a(svc, feed, key, result, **kwargs):
        if key.endswith("a.jsonl"):
            raise sa.exc.DataError("INSERT", {}, ValueError("text the database refuses"))
        return real(svc, feed, key, result, **kwargs)

    monkeypatch.setattr(polling, "_store_read", refuse_a)
    outcome = ingest_feed(service, service.config.feed("drop"))
    assert (outcome.files_quarantined, outcome.inserted) == (1, 1)
    assert _targets(service) == ["USOAK"]
    with session_scope(service.db) as session:
        (held,) = list_held_files(session)
    assert held.reason.startswith("the store refused it: DataError")
    assert ingest_feed(service, service.config.feed("drop")).skipped == 2


def test_an_oversized_response_is_cut_off_and_held(tmp_path: Path) -> None:
    import httpx

    from twin.domain.settings import LimitSettings

    config = load_config(
        write_config(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", feed_url="http://feed.test/x")
    )
    tiny = LimitSettings(csv_mb=0.001, jsonl_mb=0.001, json_mb=0.001, cap_mb=0.001)
    service = open_service(
        config.model_copy(update={"limits": tiny}), base=tmp_path, health=metrics.Health()
    )
    sent: list[int] = []
    body = (json.dumps({**ROW, "target": "USLAX"}) + "\n").encode() * 200  # ~25 KB

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(200, content=body)

    feed = service.config.feed("remote")
    try:
        with httpx.Client(transport=httpx.MockTransport(handler)) as client:
            first = ingest_feed(service, feed, client=client)
            again = ingest_feed(service, feed, client=client)
    finally:
        service.db.dispose()
        forget_services()
    assert (first.files_quarantined, first.inserted) == (1, 0)
    assert "a response larger than 1048 bytes" in first.problems[-1].message
    assert (again.skipped, again.files_quarantined) == (1, 0)  # held: not read again
    assert len(sent) == 2


def test_twin_feeds_quarantine_and_requeue(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from twin.cli.app import app

    monkeypatch.setenv("TWIN_DATABASE_URL", f"sqlite:///{tmp_path / 'twin.db'}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    deep = tmp_path / "deep.xml"
    deep.write_text(f'<alert xmlns="{CAP_NS}">' + "<a>" * 100_000 + "</a>" * 100_000 + "</alert>")
    # Before: RecursionError, exit 1. Now: quarantined whole, nothing else to read: exit 2.
    first = runner.invoke(app, ["ingest", str(deep), "--feed", "nws", "--json"])
    assert first.exit_code == 2 and "file quarantined: XML nested deeper" in first.stderr
    listed = json.loads(runner.invoke(app, ["feeds", "quarantine", "--json"]).stdout)
    assert [(f["feed"], f["key"], f["format"]) for f in listed["files"]] == [
        ("nws", str(deep.resolve()), "cap")
    ]
    # held: the same file is skipped, not read again
    again = json.loads(runner.invoke(app, ["ingest", str(deep), "--feed", "nws", "--json"]).stdout)
    assert again["skipped"] == 1 and again["files_quarantined"] == 0
    requeued = runner.invoke(app, ["feeds", "requeue", str(deep)])
    assert requeued.exit_code == 0 and "nws:" in requeued.stdout
    assert runner.invoke(app, ["feeds", "requeue", str(deep)]).exit_code == 2  # not held now
    assert runner.invoke(app, ["ingest", str(deep), "--feed", "nws"]).exit_code == 2  # read again
