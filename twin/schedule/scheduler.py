"""APScheduler 3 wiring: interval jobs in a persistent job store in twin's own database.

Jobs are named by a textual reference ("twin.engine.jobs:monitor_job") with plain, picklable
arguments (the config path, never objects), so the job store can keep them across restarts.
Every job is coalesced (missed runs collapse into one), runs one instance at a time, and
tolerates a late start up to `misfire_grace_time`.

    jobs = [JobSpec("monitor", "twin.engine.jobs:monitor_job", ("twin.toml",), timedelta(seconds=30))]
    scheduler = build_scheduler(url, jobs)       # started, with the jobs installed
    ...
    scheduler.shutdown(wait=True)                # lets the running job finish
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

JOB_TABLE = "twin_scheduler_jobs"


@dataclass(frozen=True)
class JobSpec:
    """One interval job: its id, function reference, arguments and interval."""

    id: str
    func: str
    args: tuple[Any, ...]
    every: timedelta
    misfire_grace: timedelta | None = None

    @property
    def grace_seconds(self) -> int:
        grace = self.misfire_grace or max(self.every * 2, timedelta(seconds=30))
        return max(1, int(grace.total_seconds()))


def job_store(url: str, table: str = JOB_TABLE) -> SQLAlchemyJobStore:
    """A job store in table `table` of the database at `url` (created if missing)."""
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        options["pool_pre_ping"] = True
    else:
        options["connect_args"] = {"timeout": 30}  # SQLite: wait for the engine's writes
    return SQLAlchemyJobStore(
        url=parsed.render_as_string(hide_password=False), tablename=table, engine_options=options
    )


def install(
    scheduler: BackgroundScheduler, jobs: Sequence[JobSpec], now: datetime | None = None
) -> None:
    """Put `jobs` in the scheduler's store: a job already stored with the same function,
    arguments and interval keeps its next run time (a missed run fires once, coalesced);
    others are (re)placed to run now; stored jobs no longer configured are removed."""
    start = now or datetime.now(UTC)
    wanted = {spec.id for spec in jobs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    for spec in jobs:
        trigger = IntervalTrigger(seconds=max(spec.every.total_seconds(), 0.1), timezone=UTC)
        old = scheduler.get_job(spec.id)
        same = (
            old is not None
            and old.func_ref == spec.func
            and tuple(old.args) == tuple(spec.args)
            and getattr(old.trigger, "interval", None) == trigger.interval
        )
        if same:
            continue
        scheduler.add_job(
            spec.func,
            trigger=trigger,
            args=list(spec.args),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.grace_seconds,
            next_run_time=start,
        )


def build_scheduler(
    url: str, jobs: Sequence[JobSpec], *, workers: int = 4, start: bool = True
) -> BackgroundScheduler:
    """A BackgroundScheduler on a persistent job store at `url` with `jobs` installed."""
    scheduler = BackgroundScheduler(
        jobstores={"default": job_store(url)},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    if start:
        scheduler.start(paused=True)
        install(scheduler, jobs)
        scheduler.resume()
    return scheduler


__all__ = ["JOB_TABLE", "JobSpec", "build_scheduler", "install", "job_store"]
