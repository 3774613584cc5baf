"""What every step of the daemon needs, built once per configuration: the Service.

The database (migrated to head), the network and playbooks from their files, the engine
settings, the notification channels, and the configured shipments file kept in the store
(read again only when it changes).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine as Database

from twin.domain.incidents import Incident
from twin.domain.plans import Routes
from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment
from twin.domain.settings import TwinConfig
from twin.engine.engine import EngineSettings
from twin.feeds.limits import FeedLimits, feed_limits
from twin.files.config import alert_rules, scoring_config
from twin.files.limits import use_limits
from twin.files.networks import bundled_networks, load_network
from twin.files.playbooks import playbooks_for
from twin.files.shipments import load_shipments
from twin.files.stock import load_stock
from twin.notify.send import Channel
from twin.playbook.actions import OptimiseReplanner
from twin.playbook.schema import Playbook
from twin.schedule import metrics
from twin.shipments.capacity import CapacityLedger
from twin.stock.monitor import StockMonitor
from twin.store.common import DecodedRows
from twin.store.db import database_url, make_engine, session_scope, write_scope
from twin.store.migrate import upgrade
from twin.store.networks import save_network
from twin.store.shipments import save_shipments

log = logging.getLogger("twin.daemon")


@dataclass(frozen=True)
class FileSeen:
    """A file as last read: its modification time and size (cheap to compare), and the sha256
    of its bytes (a touched but unchanged file is not read again either)."""

    mtime_ns: int
    size: int
    sha256: str


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
    step: threading.Lock = field(default_factory=threading.Lock)  # monitor and replan take turns
    # The shipments file as last stored, and how many shipments it held.
    shipments_seen: FileSeen | None = None
    shipments_count: int = 0
    # The `[stock]` inputs as last read (newest modification time among their files), and the
    # monitor built from them; its demand forecast is kept between passes.
    stock_seen: int | None = None
    stock: StockMonitor | None = None
    # Shipments and routes as the last pass decoded them (re-used while their rows are unchanged).
    decoded_shipments: DecodedRows[Shipment] = field(default_factory=DecodedRows)
    decoded_routes: DecodedRows[Routes] = field(default_factory=DecodedRows)
    decoded_incidents: DecodedRows[Incident] = field(default_factory=DecodedRows)
    # The capacity the plan of record reserves, per (lane, departure), kept current pass by pass
    # (each pass takes in only the routes that changed: twin.shipments.capacity).
    capacity: CapacityLedger = field(default_factory=CapacityLedger)

    @property
    def network_name(self) -> str:
        return self.network.name

    @property
    def limits(self) -> FeedLimits:
        """The `[limits]` of twin.toml, as the feeds take them."""
        return feed_limits(self.config.limits)

    def path(self, ref: str) -> Path:
        """A configured file, relative to the configuration's folder."""
        return resolve(self.base, ref)


def resolve(base: Path, ref: str) -> Path:
    path = Path(ref)
    return path if path.is_absolute() else base / path


def carbon_replanner(service: Service) -> OptimiseReplanner:
    """The re-planner with `[emissions] carbon_price_per_t` as a per-lane cost (docs/emissions.md)."""
    from twin.emissions import Emissions
    from twin.files.emissions import load_emission_table

    settings = service.config.emissions
    if settings.carbon_price_per_t <= 0:
        return OptimiseReplanner()
    table = load_emission_table(service.path(settings.table) if settings.table else None)
    adder = Emissions(service.network, table).carbon_cost_per_unit(settings.carbon_price_per_t)
    return OptimiseReplanner(adder)


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
    network, problems = load_network(ref if ref in bundled_networks() else resolve(root, ref))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    playbooks, warnings = playbooks_for(config, network, resolve(root, config.playbooks))
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
        scoring=scoring_config(config),
        alerts=alert_rules(config),
        shadow=config.shadow,
        replan_budget=config.monitor.replan_budget,
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
    stock_monitor(service)
    return service


def stock_monitor(service: Service) -> StockMonitor | None:
    """The stock monitor of `[stock] path`, read again when a file of it changed (None without
    the key). Raises InputError for bad stock inputs (naming file, row and field) when there
    is no earlier good read; after one, a bad change is logged and the last good inputs kept,
    so one bad export does not stop the monitor passes."""
    settings = service.config.stock
    if settings.path is None:
        return None
    path = service.path(settings.path)
    if not path.exists():
        raise InputError([Problem(str(path), "", "[stock] path", "no such file or folder")])
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    stamp = max((f.stat().st_mtime_ns for f in files if f.is_file()), default=0)
    if service.stock is not None and service.stock_seen == stamp:
        return service.stock
    shipments = None
    try:
        if service.config.shipments and service.path(service.config.shipments).exists():
            shipments, _ = load_shipments(service.path(service.config.shipments), service.network)
        inputs, warnings = load_stock(path, service.network, shipments)
    except InputError as exc:
        if service.stock is None:
            raise
        log.error(
            "stock inputs %s changed but do not load; keeping the last good ones: %s", path, exc
        )
        service.stock_seen = stamp
        return service.stock
    for warning in warnings:
        log.warning("%s", warning)
    service.stock = StockMonitor(inputs, service.network, settings)
    service.stock_seen = stamp
    return service.stock


def load_shipment_file(service: Service) -> int:
    """Store the configured shipments file (new ones inserted, changed ones updated, states
    kept) if it changed since it was last stored; returns how many shipments it holds.
    Nothing happens without a `shipments` key. Raises InputError for a bad file."""
    if not service.config.shipments:
        return 0
    path = service.path(service.config.shipments)
    if not path.exists():
        log.warning("shipments file %s does not exist (yet)", path)
        return 0
    stat = path.stat()
    seen = service.shipments_seen
    if seen is not None and (seen.mtime_ns, seen.size) == (stat.st_mtime_ns, stat.st_size):
        return service.shipments_count
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    now_seen = FileSeen(stat.st_mtime_ns, stat.st_size, digest)
    if seen is not None and seen.sha256 == digest:
        service.shipments_seen = now_seen
        return service.shipments_count
    shipments, problems = load_shipments(path, service.network)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    with write_scope(service.db) as session:
        save_shipments(session, network_name=service.network_name, shipments=shipments)
    service.shipments_seen, service.shipments_count = now_seen, len(shipments)
    return len(shipments)
