"""Through the daemon's own feed step: rows on an unknown target or metric are quarantined with
the reason and counted in the metrics, not stored as signals nobody scores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from twin.api.demo import drop_feed_file, write_demo
from twin.engine.polling import ingest_feed
from twin.engine.service import forget_services, service_for
from twin.schedule import metrics
from twin.store.db import session_scope
from twin.store.signals import list_quarantine

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_mistyped_rows_are_quarantined_and_counted(tmp_path: Path) -> None:
    config = write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=START)
    row = {"ts": "2024-01-01T00:00:00Z", "source": "s", "dimension": "security", "value": 3}
    drop_feed_file(
        tmp_path,
        "typos.jsonl",
        [
            {**row, "target": "SEUZ", "metric": "incidents_7d"},
            {**row, "target": "SUEZ", "metric": "incidnets_7d"},
            {**row, "target": "SUEZ", "metric": "incidents_7d"},
        ],
    )

    def counted() -> float:
        name, labels = "twin_signals_quarantined_total", {"feed": "demo-feed"}
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    before = counted()
    try:
        service = service_for(config, base=tmp_path)
        outcome = ingest_feed(service, service.config.feeds[0])
        assert outcome.quarantined == 2 and outcome.inserted == 1
        with session_scope(service.db) as session:
            reasons = sorted(q.reason for q in list_quarantine(session))
        assert reasons == [
            "metric 'incidnets_7d' is not scored (did you mean 'incidents_7d'?)",
            "target 'SEUZ' is not a node or lane of network console-demo (did you mean 'SUEZ'?)",
        ]
        assert counted() - before == 2
    finally:
        forget_services()
