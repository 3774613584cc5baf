"""The background daemon: become the leader (or wait as a standby), run the jobs on a schedule,
serve health and metrics, stop cleanly on SIGTERM / SIGINT.

    twin daemon --config twin.toml [--serve] [--log-json] [--clock wall|FILE]

Jobs (APScheduler, persistent job store in the same database; docs/daemon.md):
`feed:<name>` per [[feeds]] at its `every`, `monitor` at [monitor] every (the tick: scores,
alerts with expiry, silences, clear and rollback, incidents, approved ones applied,
notifications), `replan` at [replan] every (shipments not yet planned).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from twin.domain.settings import TwinConfig
from twin.engine.jobs import WALL
from twin.engine.service import forget_services, service_for
from twin.schedule.leader import AlreadyRunning, Fenced, fence, leadership_for
from twin.schedule.metrics import HEALTH
from twin.schedule.scheduler import JobSpec, build_scheduler
from twin.store.db import database_url

log = logging.getLogger("twin.daemon")
# Once told to stop, the daemon exits within this many seconds even if a job hangs.
STOP_DEADLINE_S = 30.0


@dataclass
class DaemonOptions:
    config_path: Path
    config: TwinConfig
    base: Path = field(default_factory=Path.cwd)
    clock: str = WALL
    retry_s: float = 2.0  # a standby's pause between tries for the leadership


def job_specs(options: DaemonOptions) -> list[JobSpec]:
    config = options.config
    args: tuple[Any, ...] = (
        str(options.config_path.resolve()),
        str(options.base.resolve()),
        options.clock,
    )
    jobs = [
        JobSpec(f"feed:{feed.name}", "twin.engine.jobs:feed_job", (*args, feed.name), feed.every)
        for feed in config.feeds
    ]
    jobs.append(JobSpec("replan", "twin.engine.jobs:replan_job", args, config.replan.every))
    jobs.append(JobSpec("monitor", "twin.engine.jobs:monitor_job", args, config.monitor.every))
    return jobs


class Daemon:
    """Leader election, the scheduler and the stop signal, for one daemon process."""

    def __init__(self, options: DaemonOptions, *, on_role: Callable[[str], None] | None = None):
        self.options = options
        self.url = database_url(options.config.database_url)
        self.stop = threading.Event()
        self.on_role = on_role
        self.leader = leadership_for(self.url, options.config.leader.lease_seconds)

    def _role(self, role: str) -> None:
        HEALTH.set_role(role)
        log.info("role: %s (%s)", role, self.leader.describe, extra={"role": role})
        if self.on_role:
            self.on_role(role)

    def request_stop(self, signum: int | None = None, _frame: Any = None) -> None:
        if not self.stop.is_set():
            log.info(
                "stopping (%s): finishing the job in hand",
                signal.Signals(signum).name if signum else "asked",
            )
            self.stop.set()
            watchdog = threading.Timer(STOP_DEADLINE_S, self._force_exit)
            watchdog.daemon = True
            watchdog.start()

    def _force_exit(self) -> None:
        log.error(
            "a job did not finish within %.0fs of the stop signal: exiting anyway", STOP_DEADLINE_S
        )
        os._exit(1)

    def run(self) -> int:
        """Run until stopped: 0 after a clean stop; raises AlreadyRunning for a SQLite store
        another daemon holds."""
        self._role("standby")
        while not self.stop.is_set():
            if not self.leader.try_acquire():
                if not self.leader.waits:
                    holder = getattr(self.leader, "holder", lambda: "?")()
                    raise AlreadyRunning(
                        f"another twin daemon (pid {holder}) is running on this database "
                        f"({self.leader.describe}); stop it first, or use PostgreSQL for a standby"
                    )
                self.stop.wait(self.options.retry_s)
                continue
            try:
                self._lead()
            except (SQLAlchemyError, Fenced) as exc:
                # Cut off while starting to lead (the store went away, or this daemon was frozen
                # and another took over and ended its sessions): stand by and try again.
                log.error("could not lead: %s", str(exc).splitlines()[0])
                self.stop.wait(self.options.retry_s)
            finally:
                self.leader.release()
            if not self.stop.is_set():
                self._role("standby")
        HEALTH.set_role("stopped")
        forget_services()
        return 0

    def _lead(self) -> None:
        self._role("leader")
        options = self.options
        lost = threading.Event()
        # The lease is renewed from the moment it is won: preparing (migrations, the network)
        # may take longer than the lease itself.
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(lost,), name="twin-lease", daemon=True
        )
        heartbeat.start()
        scheduler = None
        unfence: Callable[[], None] = lambda: None
        try:
            service = service_for(options.config, base=options.base)  # migrate, network, shipments
            # Every write of the jobs checks the lease before it commits (a fenced-out leader's
            # write is refused).
            unfence = fence(service.db, self.leader.check_fence)
            if lost.is_set():
                return
            scheduler = build_scheduler(self.url, job_specs(options))
            log.info("jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
            while not lost.wait(0.25) and not self.stop.is_set():
                pass
        finally:
            lost.set()
            heartbeat.join()
            started = time.monotonic()
            if scheduler is not None:
                scheduler.shutdown(wait=True)
                log.info("scheduler stopped in %.2fs", time.monotonic() - started)
            unfence()

    def _heartbeat(self, lost: threading.Event) -> None:
        """Renew the lease every min(lease / 3, 5) s until stopped or it is lost."""
        lease = self.options.config.leader.lease_seconds
        beat = max(0.5, min(lease / 3, 5.0))
        HEALTH.lease_held(lease)
        while not lost.wait(beat) and not self.stop.is_set():
            if not self.leader.still_held():
                log.error("lost the leadership (%s): stopping the jobs", self.leader.describe)
                lost.set()
            else:
                HEALTH.lease_held(lease)


def install_signal_handlers(daemon: Daemon) -> None:
    signal.signal(signal.SIGTERM, daemon.request_stop)
    signal.signal(signal.SIGINT, daemon.request_stop)


__all__ = ["STOP_DEADLINE_S", "Daemon", "DaemonOptions", "install_signal_handlers", "job_specs"]
