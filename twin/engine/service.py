"""One run of the store-backed engine, and the Service of a configuration (built once per
process).

`run_once(config, now)` is the unit the scheduler's jobs and tests share: every feed polled
once (twin/engine/polling.py), new shipments planned and shipments moved along their routes
(`replan_pass`), one monitor pass (scores, alerts, incidents: approved ones applied;
twin/engine/passes.py), queued notifications delivered (twin/engine/outbox.py). Each step
commits on its own; a crash leaves either all of a step or none of it.

    from twin.engine.service import run_once
    report = run_once("twin.toml")                 # or a TwinConfig; now defaults to the wall clock
    report.incidents, report.rerouted
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from twin.domain.incidents import Incident
from twin.domain.plans import Assignment
from twin.domain.records import Shipment
from twin.domain.settings import TwinConfig
from twin.engine.context import Service, open_service
from twin.engine.engine import TickReport
from twin.engine.passes import collector_paused, monitor_pass, replan_pass
from twin.engine.polling import ingest_feed
from twin.files.config import load_config
from twin.store.db import session_scope
from twin.store.incidents import list_incidents
from twin.store.routes import get_routes
from twin.store.shipments import get_shipments

log = logging.getLogger("twin.daemon")

_SERVICES: dict[str, Service] = {}
_SERVICES_LOCK = threading.Lock()


def service_for(config: TwinConfig | str | Path, *, base: Path | None = None) -> Service:
    """The Service of a configuration (a TwinConfig or a twin.toml path), built once per process."""
    if not isinstance(config, TwinConfig):
        path = Path(config)
        config = load_config(path)
    root = (base or Path.cwd()).resolve()
    key = f"{root}\x00{config.model_dump_json()}"
    with _SERVICES_LOCK:
        if key not in _SERVICES:
            _SERVICES[key] = open_service(config, base=root)
        return _SERVICES[key]


def forget_services() -> None:
    """Drop cached services and close their connections (tests; the daemon at exit)."""
    with _SERVICES_LOCK:
        for service in _SERVICES.values():
            service.db.dispose()
        _SERVICES.clear()


def run_once(
    config: TwinConfig | str | Path, now: datetime | None = None, *, base: Path | None = None
) -> TickReport:
    """One full pass at `now` (default: the wall clock): every feed polled once, new shipments
    planned, one monitor pass (scores, alerts, incidents: approved ones applied), notifications
    delivered. Each step commits on its own; the returned report is the monitor pass's. The
    re-plan budget (`[monitor] replan_budget`) runs from the start of the run: the whole run
    ends near it."""
    service = service_for(config, base=base)
    started = time.perf_counter()  # the pass's re-plan budget runs from here
    when = now or datetime.now(UTC)
    with collector_paused():
        for feed in service.config.feeds:
            try:
                ingest_feed(service, feed)
            except Exception as exc:  # noqa: BLE001 - a broken feed never stops the pass
                log.warning("feed %s failed: %s: %s", feed.name, type(exc).__name__, exc)
        replan_pass(service, when)
        return monitor_pass(service, when, started=started)


def routes_of(service: Service) -> Mapping[str, Sequence[Assignment]]:
    """The stored plan of record (for tests and the console)."""
    with session_scope(service.db) as session:
        return get_routes(session, network_name=service.network_name)


def incidents_of(service: Service) -> list[Incident]:
    with session_scope(service.db) as session:
        return list_incidents(session)


def shipments_of(service: Service) -> list[Shipment]:
    with session_scope(service.db) as session:
        return get_shipments(session, network_name=service.network_name)


__all__ = [
    "Service",
    "forget_services",
    "incidents_of",
    "open_service",
    "routes_of",
    "run_once",
    "service_for",
    "shipments_of",
]
