"""APScheduler wiring: one job per stage (and per source), a persistent job store in the same
database, one-instance protection, graceful shutdown on SIGINT/SIGTERM.

A job that fails is logged, recorded in ``job_runs`` and retried with back-off; it never stops
the other jobs. Jobs are stored by reference (``monitor.scheduler:run_job`` + the job name),
so the persistent store survives restarts and config changes replace them on start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import make_url

from monitor.learning import learn_from_reviews, train_data_dir
from monitor.pipeline import Pipeline
from monitor.store import Store
from monitor.store.models import JobRun

log = logging.getLogger(__name__)

_pipeline: Pipeline | None = None  # the running pipeline, for jobs loaded from the job store
MAX_RETRY_DELAY_S = 600.0


class AlreadyRunning(Exception):
    """Another ``complaintwatch run`` holds the instance lock on this database."""


# -- jobs --------------------------------------------------------------------------------------
def job_table(pipeline: Pipeline) -> dict[str, tuple[float, Callable[[], Any]]]:
    """Every scheduled job: name → (interval seconds, callable)."""
    settings = pipeline.config.settings.scheduler
    jobs: dict[str, tuple[float, Callable[[], Any]]] = {}
    for source in pipeline.config.enabled_sources():
        jobs[f"collect:{source.name}"] = (source.interval_s, _bind(pipeline.collect, source.name))
    jobs["classify"] = (settings.classify_interval_s, pipeline.classify)
    jobs["route"] = (settings.route_interval_s, pipeline.route)
    jobs["send"] = (settings.send_interval_s, pipeline.send)
    jobs["recheck"] = (settings.recheck_interval_s, pipeline.recheck)
    jobs["retention"] = (settings.retention_interval_s, _bind(_retention, pipeline))
    if train_data_dir(pipeline.config) is not None:  # refuses a train_data that is not a folder
        interval = pipeline.config.settings.classifier.retrain_interval_s
        jobs["learn"] = (interval, _bind(_learn, pipeline))
    return jobs


def _learn(pipeline: Pipeline) -> None:
    log.info("learn: %s", learn_from_reviews(pipeline.config, pipeline.store))


def _bind(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: function(*args)


def _retention(pipeline: Pipeline) -> int:
    from monitor.audit.retention import apply_retention

    with pipeline.store.session() as session:
        return apply_retention(session, pipeline.config.settings, pipeline.clock())


def run_job(name: str) -> None:
    """Entry point of every stored job: runs the named job of the current pipeline."""
    if _pipeline is None:
        raise RuntimeError("no pipeline is running in this process")
    _execute(_pipeline, name)


def _execute(pipeline: Pipeline, name: str) -> Any:
    jobs = job_table(pipeline)
    if name not in jobs:
        log.warning("job %s is no longer configured; ignoring", name)
        return None
    _record(pipeline.store, name, started=True)
    try:
        result = jobs[name][1]()
    except Exception as exc:  # a failing job must never stop the others
        log.error("job %s failed: %s", name, exc)
        log.debug("%s", traceback.format_exc())
        failures = _record(pipeline.store, name, error=f"{type(exc).__name__}: {exc}")
        _schedule_retry(name, failures, pipeline.config.settings.scheduler.retry_delay_s)
        return None
    _record(pipeline.store, name, result=result)
    return result


def _record(
    store: Store, name: str, *, started: bool = False, result: Any = None, error: str | None = None
) -> int:
    now = datetime.now(UTC)
    with store.session() as session:
        row = session.get(JobRun, name) or JobRun(
            job=name,
            runs=0,
            failures=0,
            consecutive_failures=0,
            last_status="",
            last_error="",
            last_result="",
        )
        session.add(row)
        if started:
            row.last_started_at, row.last_status = now, "running"
        elif error is not None:
            row.last_finished_at, row.last_status, row.last_error = now, "failed", error
            row.runs, row.failures = row.runs + 1, row.failures + 1
            row.consecutive_failures += 1
        else:
            row.last_finished_at, row.last_status, row.consecutive_failures = now, "ok", 0
            row.runs += 1
            row.last_result = _summary(result)
        return row.consecutive_failures


def _summary(result: Any) -> str:
    if isinstance(result, list):
        return "; ".join(str(item) for item in result)[:2000]
    return str(result)[:2000] if result is not None else ""


_scheduler: BackgroundScheduler | None = None


def _schedule_retry(name: str, failures: int, base_delay: float) -> None:
    """Retry a failed job sooner than its interval, backing off as failures repeat."""
    if _scheduler is None or not _scheduler.running:
        return
    delay = min(MAX_RETRY_DELAY_S, base_delay * 2 ** max(failures - 1, 0))
    job = _scheduler.get_job(name)
    run_at = datetime.now(UTC) + timedelta(seconds=delay)
    if job is not None and job.next_run_time is not None and job.next_run_time > run_at:
        job.modify(next_run_time=run_at)


# -- one instance per database -----------------------------------------------------------------
@contextmanager
def instance_lock(store: Store) -> Iterator[None]:
    """Hold an exclusive lock for this database while the bot runs; released when the process dies."""
    if store.dialect == "sqlite":
        with _file_lock(store) as ok:
            if not ok:
                raise AlreadyRunning(f"another complaintwatch run is already using {store.display_url}")
            yield
        return
    with store.engine.connect() as connection:
        key = 0x636F6D706C61696E  # "complain": one advisory lock per database
        if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise AlreadyRunning(f"another complaintwatch run is already using {store.display_url}")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def _file_lock(store: Store) -> Iterator[bool]:
    database = make_url(store.url).database or ""
    path = Path(database + ".lock") if database and database != ":memory:" else None
    if path is None:
        yield True
        return
    handle: IO[str] = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        yield False
        return
    try:
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield True
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


# -- running -----------------------------------------------------------------------------------
class SkippedRunThrottle(logging.Filter):
    """Lets APScheduler's "skipped: maximum number of running instances" warning through once per job per
    ``every`` seconds, and says how many it held back.

    A job that overruns its interval is otherwise reported on every tick of the scheduler; with the replay
    source's sub-second intervals on a slow machine that was most of the log.
    """

    PREFIX = 'Execution of job "%s" skipped'

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every, self.clock = every, clock
        self._last_shown: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            not str(record.msg).startswith(self.PREFIX)
            or not isinstance(record.args, tuple)
            or not record.args
        ):
            return True
        job = getattr(record.args[0], "id", str(record.args[0]))
        now = self.clock()
        last = self._last_shown.get(job)
        if last is not None and now - last < self.every:
            self._held[job] = self._held.get(job, 0) + 1
            return False
        self._last_shown[job] = now
        held = self._held.pop(job, 0)
        if held:
            record.msg = f"{record.msg}; {held} more such skips since the last warning"
        return True


SKIPPED_RUN_THROTTLE = SkippedRunThrottle()


def _throttle_skip_warnings() -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if SKIPPED_RUN_THROTTLE not in scheduler_log.filters:
        scheduler_log.addFilter(SKIPPED_RUN_THROTTLE)


class DrainingExecutor(ThreadPoolExecutor):
    """A thread pool that quietly drops submissions once shutdown has begun.

    APScheduler's scheduler thread can be between its "paused?" check and its submission when
    ``shutdown`` starts; the job would run at the next start anyway, so dropping it is right.
    """

    _closing = False

    def shutdown(self, wait: bool = True) -> None:
        self._closing = True
        super().shutdown(wait)

    def _do_submit_job(self, job: Any, run_times: Any) -> None:
        if self._closing:
            log.debug("not starting %s: shutting down", job)
            return
        super()._do_submit_job(job, run_times)


def build_scheduler(pipeline: Pipeline) -> BackgroundScheduler:
    global _pipeline
    _pipeline = pipeline
    _throttle_skip_warnings()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=pipeline.store.engine)},
        executors={"default": DrainingExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=UTC,
    )
    return scheduler


def run_forever(pipeline: Pipeline, stop: threading.Event | None = None) -> None:
    """Start every job now and on its interval until SIGINT/SIGTERM (or ``stop`` is set)."""
    global _scheduler
    stop = stop or threading.Event()
    with instance_lock(pipeline.store):
        scheduler = build_scheduler(pipeline)
        scheduler.start(paused=True)
        _scheduler = scheduler
        _install_signal_handlers(stop)
        now = datetime.now(UTC)
        configured = job_table(pipeline)
        for job in scheduler.get_jobs():
            if job.id not in configured:
                job.remove()
        for name, (interval, _) in configured.items():
            scheduler.add_job(
                "monitor.scheduler:run_job",
                "interval",
                args=[name],
                id=name,
                name=name,
                seconds=interval,
                next_run_time=now,
                replace_existing=True,
            )
        scheduler.resume()
        log.info("running %d jobs: %s", len(configured), ", ".join(configured))
        try:
            while not stop.wait(0.5):
                pass
        finally:
            log.info("shutting down: waiting for running jobs to finish")
            scheduler.pause()
            scheduler.shutdown(wait=True)
            _scheduler = None


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
