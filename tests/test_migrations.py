"""Every table comes from the migrations, APScheduler's job store included, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import inspect

from monitor.store import Store

JOBS = "apscheduler_jobs"


def tick() -> None:
    """A job target APScheduler can store by reference."""


def _scheduler_with_a_job(store: Store, when: datetime) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store.engine)}, timezone=UTC
    )
    scheduler.start(paused=True)
    scheduler.add_job(f"{__name__}:tick", "date", run_date=when, id="probe", replace_existing=True)
    return scheduler


def test_db_upgrade_creates_the_job_store_table_apscheduler_then_uses(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    columns = {c["name"] for c in inspect(store.engine).get_columns(JOBS)}
    assert columns == {"id", "next_run_time", "job_state"}
    when = datetime.now(UTC) + timedelta(days=1)
    scheduler = _scheduler_with_a_job(store, when)
    scheduler.shutdown(wait=False)
    reopened = _scheduler_with_a_job(store, when)
    try:
        assert [job.id for job in reopened.get_jobs()] == ["probe"]
    finally:
        reopened.shutdown(wait=False)


def test_a_table_the_bot_already_made_is_kept_with_its_jobs(database_url: str) -> None:
    store = Store(database_url)
    try:
        store.upgrade("0002")
        scheduler = _scheduler_with_a_job(store, datetime.now(UTC) + timedelta(days=1))
        scheduler.shutdown(wait=False)  # APScheduler created the table itself, as before migration 0003
        store.upgrade()
        assert store.current_revision() == store.head_revision()
        reopened = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=store.engine)})
        reopened.start(paused=True)
        try:
            assert [job.id for job in reopened.get_jobs()] == ["probe"]
        finally:
            reopened.shutdown(wait=False)
    finally:
        store.dispose()
