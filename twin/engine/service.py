"""The store-backed engine: what the daemon (and `run_once`) does, one step = one transaction.

Each step loads what it needs from the store, works on it in memory, and writes what it did in
the same transaction, so a crash at any point leaves either all of a step or none of it:

- `ingest_feed`: one file (or one HTTP response) of a feed → its signals, quarantined rows and
  the feed's checkpoint (sha256 / offset, ETag / Last-Modified), together.
- `replan_pass`: shipments with no plan of record yet → planned under the constraints and risks
  in force → their routes.
- `monitor_pass`: the Engine rebuilt from the store (network, shipments, plan of record,
  constraints and holds of applied incidents, incidents, alert state with people's silences and
  acks, the signal history) → one `Engine.tick(now)` → scores, alert episodes and state,
  incidents with their transitions and audit entries, changed routes and queued notifications.
  Then the notification outbox is delivered (each notification once, keyed by a stable id).
- `run_once(config, now)`: all three, in that order: the unit the scheduler and tests call.

The approval contract: people approve in the store (`twin incidents approve`, the console: state
`approved`); the next monitor pass (`run_once` or the daemon's `monitor` job) applies it
(Engine._apply_decided) and records `applied` with its audit entry and the new routes.

    from twin.engine.service import run_once
    report = run_once("twin.toml")                 # or a TwinConfig; now defaults to the wall clock
    report.incidents, report.rerouted
"""

from __future__ import annotations

import glob
import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine as Database
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from twin.domain.incidents import Incident, IncidentState, Notification
from twin.domain.plans import Assignment
from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment
from twin.domain.settings import FeedSettings, TwinConfig
from twin.domain.signals import Quarantined
from twin.engine.engine import Engine, EngineSettings, Routes, TickReport
from twin.feeds.ingest import FileRead, IngestResult, ingest_bytes, ingest_file, refused_read
from twin.feeds.limits import FeedLimits, feed_limits
from twin.files.config import alert_rules, load_config, scoring_config
from twin.files.limits import use_limits
from twin.files.networks import bundled_networks, load_network
from twin.files.playbooks import playbooks_for
from twin.files.shipments import load_shipments
from twin.network.graph import WhatIf
from twin.notify.paging import incident_pages, resend_firing
from twin.notify.send import Channel, deliver
from twin.playbook.actions import REGISTRY
from twin.playbook.runner import plan_rollback
from twin.playbook.schema import Playbook
from twin.schedule import metrics
from twin.scoring.propagate import assess
from twin.scoring.scorers import to_risk_scores
from twin.shipments.tracking import follow_events
from twin.store.alerts import (
    latest_scores,
    list_acks,
    list_silences,
    load_state,
    save_alerts,
    save_scores,
    save_state,
)
from twin.store.db import database_url, make_engine, session_scope
from twin.store.feed_files import held_files, hold_file
from twin.store.incidents import (
    StaleState,
    get_incident,
    list_incidents,
    record_attempts,
    save_incident,
    save_transition,
)
from twin.store.migrate import upgrade
from twin.store.networks import save_network
from twin.store.routes import (
    enqueue_notifications,
    get_routes,
    mark_notification,
    pending_notifications,
    route_times,
    save_routes,
)
from twin.store.shipments import (
    ShipmentStatus,
    get_shipment_states,
    get_shipments,
    save_shipments,
    set_shipment_state,
)
from twin.store.signals import (
    get_checkpoint,
    list_checkpoints,
    oversized_quarantine,
    save_quarantine,
    save_signals,
    set_checkpoint,
    signals_between,
)
from twin.store.tracking import save_shipment_events, shipment_events_since

log = logging.getLogger("twin.daemon")
S = IncidentState
ACTIVE = (ShipmentStatus.planned, ShipmentStatus.in_transit)
# Incidents that changed this recently are paged (each event once): wider than any pass, so
# none is missed, and bounded, so the first pass after an upgrade does not page old history.
PAGE_WINDOW = timedelta(days=1)
# A notification that failed this many delivery attempts in all is given up (and reported).
GIVE_UP_AFTER = 20
# Shipments planned per replan pass: bounds one pass's solve time (the rest wait for the next).
REPLAN_BATCH = 400
# How far back incidents count for playbook cooldowns after a restart.
COOLDOWN_MEMORY = timedelta(days=14)


class PassConflict(RuntimeError):
    """The store changed under a pass (e.g. a person moved an incident meanwhile); the pass is
    rolled back whole and the next one starts from what is stored."""


@dataclass
class Service:
    """What every step needs, built once per configuration: the database, network, playbooks."""

    config: TwinConfig
    db: Database
    network: Network
    playbooks: list[Playbook]
    settings: EngineSettings
    channels: dict[str, Channel]
    base: Path = field(default_factory=Path.cwd)
    health: metrics.Health = field(default_factory=lambda: metrics.HEALTH)
    # Per-process politeness for failing feeds: {feed: (failures in a row, next try at)}.
    backoff: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def limits(self) -> FeedLimits:
        """The `[limits]` of twin.toml, as the feeds take them."""
        return feed_limits(self.config.limits)

    lock: threading.Lock = field(default_factory=threading.Lock)  # SQLite: one writer at a time
    step: threading.Lock = field(default_factory=threading.Lock)  # monitor and replan take turns

    @property
    def network_name(self) -> str:
        return self.network.name


def _utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def writing(service: Service) -> Iterator[Session]:
    """A session in one transaction that writes. On SQLite it takes the write lock first (a
    transaction that reads and then writes fails at once, not after the busy timeout, when
    someone else wrote in between) and steps of this process take turns."""
    sqlite = service.db.dialect.name == "sqlite"
    with service.lock if sqlite else nullcontext(), session_scope(service.db) as session:
        if sqlite:
            session.execute(text("DELETE FROM alert_state WHERE 0 = 1"))
        yield session


def _path(base: Path, ref: str) -> Path:
    path = Path(ref)
    return path if path.is_absolute() else base / path


def open_service(
    config: TwinConfig,
    *,
    base: Path | None = None,
    migrate: bool = True,
    health: metrics.Health | None = None,
) -> Service:
    """Connect to the store (migrating it to head with `migrate`), store the configured network
    and shipments (idempotent), and load the playbooks. Raises InputError for bad files."""
    root = base or Path.cwd()
    use_limits(config.limits)  # the network, shipments and playbooks below obey [limits]
    db = make_engine(database_url(config.database_url))
    if migrate:
        upgrade(db)
    ref = config.network
    network, problems = load_network(ref if ref in bundled_networks() else _path(root, ref))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    playbooks, warnings = playbooks_for(config, network, _path(root, config.playbooks))
    for warning in warnings:
        log.warning("%s", warning)
    with session_scope(db) as session:
        save_network(session, network=network)
    channels = {
        c.name: Channel(
            name=c.name,
            url=c.url,
            format=c.kind,
            attempts=c.attempts,
            timeout_s=c.timeout.total_seconds(),
            headers=tuple(c.headers.items()),
            routing_key=c.routing_key,
            console_url=config.serve.base_url,
        )
        for c in config.notify.channels
    }
    settings = EngineSettings(
        scoring=scoring_config(config), alerts=alert_rules(config), shadow=config.shadow
    )
    service = Service(
        config=config,
        db=db,
        network=network,
        playbooks=playbooks,
        settings=settings,
        channels=channels,
        base=root,
        health=health or metrics.HEALTH,
    )
    load_shipment_file(service)
    return service


def load_shipment_file(service: Service) -> int:
    """Store the configured shipments file (new ones inserted, changed ones updated, states
    kept); returns how many it holds. Nothing happens without a `shipments` key."""
    if not service.config.shipments:
        return 0
    path = _path(service.base, service.config.shipments)
    if not path.exists():
        log.warning("shipments file %s does not exist (yet)", path)
        return 0
    shipments, problems = load_shipments(path, service.network)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    with writing(service) as session:
        save_shipments(session, network_name=service.network_name, shipments=shipments)
    return len(shipments)


# --- feeds -------------------------------------------------------------------------------------


@dataclass
class FeedOutcome:
    """What one poll of a feed did."""

    feed: str
    files: int = 0
    skipped: int = 0
    inserted: int = 0
    rows: int = 0
    quarantined: int = 0
    files_quarantined: int = 0
    problems: list[Problem] = field(default_factory=list)
    not_modified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "files": self.files,
            "skipped": self.skipped,
            "rows": self.rows,
            "inserted": self.inserted,
            "quarantined": self.quarantined,
            "files_quarantined": self.files_quarantined,
            "problems": len(self.problems),
            "not_modified": self.not_modified,
        }


def _feed_files(base: Path, pattern: str) -> list[Path]:
    full = str(_path(base, pattern))
    found = sorted(Path(p) for p in glob.glob(full, recursive=True))
    # Hidden files are work in progress (write to .name.tmp, then rename): never read them.
    return [
        p
        for p in found
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith((".tmp", ".part", ".partial"))
    ]


def _store_read(
    service: Service,
    feed: str,
    key: str,
    result: IngestResult,
    *,
    sha256: str,
    offset: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> tuple[int, int, int]:
    """Signals, quarantine and checkpoint of one read, in one transaction."""
    frame, too_long = oversized_quarantine(result.frame, key)
    quarantine = result.quarantine + too_long
    with writing(service) as session:
        inserted = save_signals(session, frame=frame)
        save_quarantine(session, rows=quarantine)
        save_shipment_events(session, positions=result.positions)
        set_checkpoint(
            session,
            feed=feed,
            key=key,
            sha256=sha256,
            offset=offset,
            etag=etag,
            last_modified=last_modified,
        )
    metrics.SIGNALS_INGESTED.labels(feed).inc(inserted)
    metrics.SIGNALS_QUARANTINED.labels(feed).inc(len(quarantine))
    return inserted, len(frame), len(quarantine)


def ingest_feed(
    service: Service, feed: FeedSettings, *, client: httpx.Client | None = None
) -> FeedOutcome:
    """Poll one feed once: every changed file of its glob, or its URL (conditional GET).

    Raises for a feed that cannot be read at all (an unreachable URL, an HTTP error); bad rows
    are quarantined and reported in the outcome, never raised.
    """
    forced = None if feed.format == "auto" else feed.format
    outcome = FeedOutcome(feed.name)
    if feed.path is not None:
        with session_scope(service.db) as session:
            known = {k: cp.sha256 for k, cp in list_checkpoints(session, feed=feed.name).items()}
            held = held_files(session, feed=feed.name)
        for file in _feed_files(service.base, feed.path):
            key = str(file.resolve())
            outcome.files += 1
            # Each file on its own: one that cannot be read is held out (quarantined whole)
            # and the pass moves on to the next; it is not read again until re-queued.
            read = ingest_file(
                file,
                service.network,
                format=forced,
                limits=service.limits,
                metrics=service.settings.scoring.known_metrics,
            )
            if read.sha256 and read.sha256 in (known.get(key), held.get(key)):
                outcome.skipped += 1
                continue
            _store_file(service, feed.name, key, read, outcome, offset=read.size)
        return outcome
    assert feed.url is not None
    with session_scope(service.db) as session:
        checkpoint = get_checkpoint(session, feed=feed.name, key=feed.url)
    headers = dict(feed.headers)
    if checkpoint is not None and checkpoint.etag:
        headers["If-None-Match"] = checkpoint.etag
    if checkpoint is not None and checkpoint.last_modified:
        headers["If-Modified-Since"] = checkpoint.last_modified
    own = client is None
    http = client or httpx.Client(timeout=15.0, follow_redirects=True)
    largest = service.limits.largest
    try:
        # Streamed, so a response over the size limit is cut off there, never held whole.
        with http.stream("GET", feed.url, headers=headers) as response:
            if response.status_code != 304:
                response.raise_for_status()
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > largest:
                        break
                data = b"".join(chunks)
    finally:
        if own:
            http.close()
    outcome.files = 1
    if response.status_code == 304:
        outcome.not_modified, outcome.skipped = True, 1
        return outcome
    digest = hashlib.sha256(data).hexdigest()
    if checkpoint is not None and checkpoint.sha256 == digest:
        outcome.skipped = 1
        return outcome
    with session_scope(service.db) as session:
        if held_files(session, feed=feed.name).get(feed.url) == digest:
            outcome.skipped = 1
            return outcome
    if len(data) > largest:
        reason = f"a response larger than {largest} bytes, not read"
        read = refused_read(feed.url, reason, data[:2_000], digest, len(data))
    else:
        result = ingest_bytes(
            data,
            feed.url,
            service.network,
            format=forced,
            limits=service.limits,
            metrics=service.settings.scoring.known_metrics,
        )
        read = FileRead(result, digest, len(data))
    _store_file(
        service,
        feed.name,
        feed.url,
        read,
        outcome,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )
    return outcome


# What the store may refuse in a file's rows (text, types, keys): the file is held out whole
# and the feed moves on. Other errors (the database unreachable) fail the feed's poll.
_REFUSED_BY_STORE = (DataError, IntegrityError, ValueError, TypeError, RecursionError)


def _store_file(
    service: Service,
    feed: str,
    key: str,
    read: FileRead,
    outcome: FeedOutcome,
    *,
    offset: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Store one read file (signals, quarantine, checkpoint in one transaction), or hold it out
    with its reason when it could not be read (or the store refused it)."""
    refused = read.refused
    if refused is None:
        try:
            inserted, rows, bad = _store_read(
                service,
                feed,
                key,
                read.result,
                sha256=read.sha256,
                offset=offset,
                etag=etag,
                last_modified=last_modified,
            )
        except _REFUSED_BY_STORE as exc:
            refused = (
                f"the store refused it: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            )
        else:
            outcome.inserted += inserted
            outcome.rows += rows
            outcome.quarantined += bad
            outcome.problems += read.result.errors
            return
    quarantine = [q for q in read.result.quarantine if q.where == "file"] or [
        Quarantined(file=key, where="file", field=None, reason=refused, raw="")
    ]
    with writing(service) as session:
        hold_file(
            session,
            feed=feed,
            key=key,
            sha256=read.sha256,
            reason=refused,
            format=read.report.format,
            size=read.size,
        )
        save_quarantine(session, rows=read.result.quarantine if read.refused else quarantine)
        set_checkpoint(
            session,
            feed=feed,
            key=key,
            sha256=read.sha256,
            offset=offset,
            etag=etag,
            last_modified=last_modified,
        )
    metrics.FILES_QUARANTINED.labels(feed).inc()
    metrics.SIGNALS_QUARANTINED.labels(feed).inc(len(read.result.quarantine))
    service.health.file_quarantined(feed)
    outcome.quarantined += len(read.result.quarantine)
    outcome.files_quarantined += 1
    outcome.problems.append(Problem(key, "", None, f"file quarantined: {refused}"))


def poll_feed(service: Service, feed: FeedSettings) -> FeedOutcome | None:
    """`ingest_feed` with backoff: after a failure the feed is left alone for every × 2^n (at
    most 10 minutes); a failure is logged and re-raised for the job's report. None: backing off."""
    failures, next_try = service.backoff.get(feed.name, (0, 0.0))
    if time.monotonic() < next_try:
        return None
    try:
        outcome = ingest_feed(service, feed)
    except Exception as exc:
        failures += 1
        wait = min(feed.every.total_seconds() * 2**failures, 600.0)
        service.backoff[feed.name] = (failures, time.monotonic() + wait)
        metrics.FEED_ERRORS.labels(feed.name).inc()
        log.warning(
            "feed %s failed (%d in a row; next try in %.0fs): %s: %s",
            feed.name,
            failures,
            wait,
            type(exc).__name__,
            exc,
            extra={"feed": feed.name, "failures": failures},
        )
        raise
    service.backoff.pop(feed.name, None)
    if outcome.inserted or outcome.quarantined:
        log.info(
            "feed %s: %d new signals, %d quarantined",
            feed.name,
            outcome.inserted,
            outcome.quarantined,
            extra=outcome.as_dict(),
        )
    for problem in outcome.problems[:20]:
        log.warning("feed %s: %s", feed.name, problem, extra={"feed": feed.name})
    return outcome


# --- the engine, from the store and back -------------------------------------------------------


class _Recorder:
    """An Effector that only remembers constraints and holds: replaying an applied incident's
    actions through it rebuilds what that incident keeps in force, exactly as apply set it."""

    def __init__(self) -> None:
        self.constraints: dict[str, WhatIf] = {}
        self.holds: dict[str, str] = {}

    def constrain(self, incident_id: str, whatif: WhatIf, until: str) -> None:
        self.constraints[incident_id] = self.constraints.get(incident_id, WhatIf()).merged(whatif)

    def release(self, incident_id: str) -> None:
        pass

    def set_routes(self, shipment: str, routes: Routes) -> None:
        pass

    def hold(self, shipment: str, until: str) -> None:
        self.holds[shipment] = until

    def notify(self, incident_id: str, notification: Notification) -> None:
        pass


@dataclass
class Loaded:
    """An Engine rebuilt from the store, and what it was loaded with (to write back the difference)."""

    engine: Engine
    states: dict[str, IncidentState]
    restored: dict[str, Routes] = field(default_factory=dict)
    # Routes that carriers' actual events re-timed since they were stored.
    followed: dict[str, Routes] = field(default_factory=dict)


def load_engine(service: Service, session: Session, now: datetime) -> Loaded:
    """The Engine as the store has it at `now` (see the module docstring)."""
    engine = Engine(service.network, service.playbooks, service.settings)
    name = service.network_name
    engine.shipments = {s.id: s for s in get_shipments(session, network_name=name, status=ACTIVE)}
    engine.routes = {
        sid: r
        for sid, r in get_routes(session, network_name=name).items()
        if sid in engine.shipments
    }
    followed = follow_events(
        engine.routes, shipment_events_since(session, since=now - service.settings.history), now
    )
    engine.routes.update(followed)
    state = load_state(session)
    silences = tuple(s for s in list_silences(session) if s.ends_at > now)
    state = state.model_copy(update={"silences": silences, "acks": tuple(list_acks(session))})
    engine.alert_state = state
    open_ids = set(state.alerts)
    states: dict[str, IncidentState] = {}
    for incident in list_incidents(session):
        keep = (
            not incident.state.terminal
            or incident.alert_id in open_ids
            or incident.updated_at >= now - COOLDOWN_MEMORY
        )
        if not keep:
            continue
        engine.incidents[incident.id] = incident
        states[incident.id] = incident.state
        if incident.state in (S.applied, S.rolled_back):
            key = (incident.playbook_id, incident.alert.target)
            # Applied at or after its creation: the creation time is a safe lower bound.
            at = incident.updated_at if incident.state is S.applied else incident.created_at
            engine.fired_at[key] = max(engine.fired_at.get(key, at), at)
    recorder = _Recorder()
    for incident in engine.incidents.values():
        if incident.state is S.applied:
            for action in incident.actions:
                ((action_name, raw),) = action.items()
                step = REGISTRY[action_name]
                if action_name in ("avoid", "derate", "hold"):
                    step.apply(step.params.model_validate(raw), incident, recorder)
            for sid in [s for s in recorder.holds if s not in engine.holds]:
                engine.holds[sid] = incident.id  # owned by the incident, so release() lifts it
    engine.constraints = recorder.constraints
    loaded = Loaded(engine, states, followed=followed)
    _restore_rolled_back(service, session, loaded)
    history = signals_between(
        session, start=now - service.settings.history, end=now + timedelta(seconds=1)
    )
    engine.ingest(history)
    return loaded


def _restore_rolled_back(service: Service, session: Session, loaded: Loaded) -> None:
    """A person rolled an incident back in the store (`twin incidents rollback`): give its
    shipments their earlier routes, as far as the point of no return allows, once."""
    engine = loaded.engine
    rolled = [i for i in engine.incidents.values() if i.state is S.rolled_back]
    if not rolled:
        return
    written = route_times(session, network_name=service.network_name)
    for incident in rolled:
        new = {}
        for assignment in incident.new_routes:
            new.setdefault(assignment.shipment, []).append(assignment)
        for sid, old in plan_rollback(incident, incident.updated_at).restore.items():
            current = engine.routes.get(sid)
            if current is None or sid not in new or tuple(new[sid]) != tuple(current):
                continue  # already restored, or moved on since
            if written.get(sid) is not None and written[sid] >= incident.updated_at:
                continue
            engine.routes[sid] = tuple(old)
            loaded.restored[sid] = tuple(old)


def _score_rows(report: TickReport, now: datetime) -> list[Any]:
    return to_risk_scores(report.scores, now) if not report.scores.empty else []


def persist(
    service: Service, session: Session, loaded: Loaded, report: TickReport, now: datetime
) -> None:
    """Write what one tick did, in the caller's transaction (see the module docstring)."""
    engine = loaded.engine
    scores = _score_rows(report, now)
    stored = {(s.target, s.dimension): round(s.score, 4) for s in latest_scores(session)}
    fresh = {(s.target, s.dimension): round(s.score, 4) for s in scores}
    if any(stored.get(key) != value for key, value in fresh.items()):
        save_scores(session, scores=scores)  # only when they moved: a quiet pass writes nothing
    metrics.SCORES_COMPUTED.inc(len(scores))
    alerts = {e.alert.id: e.alert for e in report.events}
    alerts.update({a.id: a for a in engine.alert_state.alerts.values() if a.id not in alerts})
    save_alerts(session, alerts=list(alerts.values()))
    save_state(
        session, state=engine.alert_state.model_copy(update={"silences": (), "acks": ()}), at=now
    )
    order: list[str] = []
    for incident in report.incidents:
        if incident.id not in order:
            order.append(incident.id)
    for ident in order:
        final = engine.incidents[ident]
        entries = [a for a in report.audit if a.incident_id == ident]
        if ident not in loaded.states:
            _, created = save_incident(session, incident=final, audit=entries)
            if not created:
                raise PassConflict(f"incident {ident} is already stored: the pass starts again")
            continue
        for entry in entries:
            try:
                save_transition(
                    session,
                    incident=final.model_copy(update={"state": entry.to_state}),
                    entry=entry,
                )
            except StaleState as exc:
                raise PassConflict(str(exc)) from exc
    changed = {**loaded.restored, **report.rerouted}
    if loaded.followed:
        followed = {sid: routes for sid, routes in loaded.followed.items() if sid not in changed}
        save_routes(
            session, network_name=service.network_name, routes=followed, at=now, by="carrier events"
        )
    if changed:
        save_routes(session, network_name=service.network_name, routes=changed, at=now)
    # Paging follows the incidents' states (twin.notify.paging): each event once per incident.
    kinds = {name: channel.format for name, channel in service.channels.items()}
    for item in incident_pages(engine.incidents.values(), kinds, since=now - PAGE_WINDOW):
        enqueue_notifications(session, items=[item], at=now)


def _gauges(engine: Engine) -> None:
    open_alerts = [a for a in engine.alert_state.alerts.values() if a.cleared_at is None]
    for severity in ("warn", "critical"):
        metrics.ALERTS_OPEN.labels(severity).set(
            sum(1 for a in open_alerts if a.severity.value == severity)
        )
    counts = {s.value: 0 for s in S}
    for incident in engine.incidents.values():
        counts[incident.state.value] += 1
    for state, count in counts.items():
        metrics.INCIDENTS.labels(state).set(count)


def monitor_pass(
    service: Service, now: datetime, *, deliver_notifications: bool = True
) -> TickReport:
    """Rebuild the engine from the store, tick once at `now`, write what it did: one transaction.
    Then deliver queued notifications. Raises PassConflict if people moved an incident meanwhile
    (nothing of the pass is kept; the next pass sees their decision)."""
    with service.step, writing(service) as session:
        loaded = load_engine(service, session, now)
        report = loaded.engine.tick(now)
        report.rerouted = {**loaded.restored, **report.rerouted}
        persist(service, session, loaded, report, now)
    _gauges(loaded.engine)
    for event in report.events:
        log.info(
            "alert %s: %s %s %s (score %.2f)",
            event.kind,
            event.alert.severity.value,
            event.alert.dimension,
            event.alert.target,
            event.alert.score,
            extra={"alert": event.alert.id, "kind": event.kind},
        )
    for incident in {i.id: i for i in report.incidents}.values():
        final = loaded.engine.incidents[incident.id]
        log.info(
            "incident %s (%s on %s): %s",
            final.id,
            final.playbook_id,
            final.alert.target,
            final.state.value,
            extra={"incident": final.id, "state": final.state.value},
        )
    if deliver_notifications:
        deliver_pending(service, now)
        resend_firing_alerts(service, loaded.engine.incidents.values(), now)
    return report


# --- planning ------------------------------------------------------------------------------


def replan_pass(service: Service, now: datetime, *, batch: int = REPLAN_BATCH) -> int:
    """Plan shipments that have no plan of record yet (under the constraints and risks in force)
    and move shipments along their routes (planned → in_transit → delivered); one transaction.
    Returns how many shipments got a plan."""
    load_shipment_file(service)
    with service.step, writing(service) as session:
        loaded = load_engine(service, session, now)
        engine = loaded.engine
        _advance(service, session, engine, now)
        todo = sorted(
            (s for sid, s in engine.shipments.items() if sid not in engine.routes),
            key=lambda s: (s.ready_at, s.id),
        )[:batch]
        if not todo:
            return 0
        engine.scores = assess(engine.history, service.network, now, service.settings.scoring).frame
        started = time.perf_counter()
        plan = engine.plan_shipments(todo, now)
        metrics.SOLVER_SECONDS.observe(time.perf_counter() - started)
        if not plan.status.applicable:
            log.warning(
                "re-plan of %d shipments: plan %s, nothing recorded (retried next pass)",
                len(todo),
                plan.status.value,
            )
            return 0
        save_routes(
            session,
            network_name=service.network_name,
            routes={s.id: engine.routes.get(s.id, ()) for s in todo},
            at=now,
            by="planner",
        )
    log.info("planned %d new shipments", len(todo), extra={"planned": len(todo)})
    return len(todo)


def _advance(service: Service, session: Session, engine: Engine, now: datetime) -> None:
    """Shipments whose routes say they left or arrived change state (as the plan of record has it)."""
    states = get_shipment_states(session, network_name=service.network_name, status=ACTIVE)
    for sid, routes in engine.routes.items():
        legs = [leg for a in routes for leg in a.legs]
        state = states.get(sid)
        if not legs or state is None:
            continue
        if max(leg.arrive_at for leg in legs) <= now:
            status, node, at = (
                ShipmentStatus.delivered,
                legs[-1].to_node,
                max(leg.arrive_at for leg in legs),
            )
        elif min(leg.depart_at for leg in legs) <= now:
            moving = [leg for leg in legs if leg.depart_at <= now < leg.arrive_at]
            if moving:  # on its way from the node it last left
                current = max(moving, key=lambda leg: leg.depart_at)
                node, at = current.from_node, current.depart_at
            else:  # waiting at the node it last reached
                current = max(
                    (leg for leg in legs if leg.arrive_at <= now), key=lambda leg: leg.arrive_at
                )
                node, at = current.to_node, current.arrive_at
            status = ShipmentStatus.in_transit
        else:
            continue
        if state.status is not status or state.at_node != node:
            set_shipment_state(
                session,
                network_name=service.network_name,
                shipment_id=sid,
                status=status,
                at_node=node,
                at_time=at,
            )


# --- notifications -------------------------------------------------------------------------


def deliver_pending(service: Service, now: datetime | None = None) -> int:
    """Send queued notifications; each is marked delivered (or given up) in the store after its
    round. Its outbox id goes out as the `Idempotency-Key` header. Returns how many got through."""
    with session_scope(service.db) as session:
        pending = pending_notifications(session)
    sent = 0
    for item in pending:
        channel = service.channels.get(item.channel)
        if channel is None:
            with writing(service) as session:
                mark_notification(
                    session,
                    id=item.id,
                    attempts=0,
                    at=_utcnow(),
                    outcome=f"no channel named {item.channel!r} in [notify]: not sent",
                )
            metrics.NOTIFICATIONS.labels("no_channel").inc()
            log.warning("notification %s: no channel %r configured", item.id, item.channel)
            continue
        with session_scope(service.db) as session:
            incident = get_incident(session, id=item.incident_id)
        keyed = Channel(
            **{**channel.__dict__, "headers": (*channel.headers, ("Idempotency-Key", item.id))}
        )
        attempts = deliver(incident, item.notification, keyed)
        ok = bool(attempts) and attempts[-1].ok
        done = ok or item.attempts + len(attempts) >= GIVE_UP_AFTER
        outcome = "delivered" if ok else (attempts[-1].error if attempts else "not sent")
        with writing(service) as session:
            record_attempts(session, attempts=attempts)
            mark_notification(
                session,
                id=item.id,
                attempts=len(attempts),
                at=_utcnow() if done else None,
                outcome=outcome,
            )
        metrics.NOTIFICATIONS.labels(
            "delivered" if ok else ("given_up" if done else "failed")
        ).inc()
        sent += ok
    return sent


def resend_firing_alerts(service: Service, incidents: Iterable[Incident], now: datetime) -> None:
    """Re-send the open incidents to Alertmanager channels, `endsAt` a few passes ahead; only
    failures are recorded (a success every pass would flood the attempt log)."""
    attempts = resend_firing(incidents, service.channels, now, service.config.monitor.every)
    failed = [a for a in attempts if not a.ok]
    if failed:
        with writing(service) as session:
            record_attempts(session, attempts=failed)
    for attempt in attempts:
        metrics.NOTIFICATIONS.labels("refreshed" if attempt.ok else "failed").inc()


# --- one full pass -------------------------------------------------------------------------

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
    delivered. Each step commits on its own; the returned report is the monitor pass's."""
    service = service_for(config, base=base)
    when = now or _utcnow()
    for feed in service.config.feeds:
        try:
            ingest_feed(service, feed)
        except Exception as exc:  # noqa: BLE001 - a broken feed never stops the pass
            log.warning("feed %s failed: %s: %s", feed.name, type(exc).__name__, exc)
    replan_pass(service, when)
    return monitor_pass(service, when)


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
    "FeedOutcome",
    "Loaded",
    "PassConflict",
    "Service",
    "deliver_pending",
    "forget_services",
    "incidents_of",
    "ingest_feed",
    "load_engine",
    "monitor_pass",
    "open_service",
    "persist",
    "poll_feed",
    "replan_pass",
    "routes_of",
    "run_once",
    "service_for",
    "shipments_of",
]
