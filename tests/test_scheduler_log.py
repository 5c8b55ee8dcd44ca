"""The scheduler's log stays readable when a job overruns its interval."""

from __future__ import annotations

import logging
import threading
import time

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.scheduler import SkippedRunThrottle, _throttle_skip_warnings

SKIP_MESSAGE = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'


class FakeJob:
    def __init__(self, job_id: str):
        self.id = job_id


def _skip_record(job_id: str) -> logging.LogRecord:
    return logging.LogRecord(
        "apscheduler.scheduler", logging.WARNING, __file__, 1, SKIP_MESSAGE, (FakeJob(job_id), 1), None
    )


def test_one_skip_warning_per_job_per_period_and_the_count_of_the_rest():
    now = [0.0]
    throttle = SkippedRunThrottle(every=60, clock=lambda: now[0])
    assert throttle.filter(_skip_record("collect:x"))
    for _ in range(5):
        now[0] += 1
        assert not throttle.filter(_skip_record("collect:x"))
    assert throttle.filter(_skip_record("classify")), "another job has its own period"
    now[0] = 61
    record = _skip_record("collect:x")
    assert throttle.filter(record)
    assert record.getMessage().endswith("5 more such skips since the last warning")
    now[0] = 200
    quiet = _skip_record("collect:x")
    assert throttle.filter(quiet)
    assert "more such skips" not in quiet.getMessage()


def test_other_scheduler_messages_pass_untouched():
    throttle = SkippedRunThrottle(every=60, clock=lambda: 0.0)
    for _ in range(3):
        record = logging.LogRecord(
            "apscheduler.scheduler", logging.INFO, __file__, 1, "Scheduler started", (), None
        )
        assert throttle.filter(record)


def test_an_overrunning_job_under_a_real_scheduler_logs_one_skip(caplog):
    _throttle_skip_warnings()
    _throttle_skip_warnings()  # idempotent: one filter, however often the bot builds a scheduler
    assert (
        sum(isinstance(f, SkippedRunThrottle) for f in logging.getLogger("apscheduler.scheduler").filters)
        == 1
    )
    skipped = []
    release = threading.Event()
    scheduler = BackgroundScheduler(job_defaults={"max_instances": 1, "coalesce": True})
    scheduler.add_listener(lambda event: skipped.append(event), EVENT_JOB_MAX_INSTANCES)
    name = "overrunning-job-of-this-test"
    scheduler.add_job(release.wait, "interval", seconds=0.05, id=name, name=name)
    with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        scheduler.start()
        deadline = time.monotonic() + 30
        while len(skipped) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        release.set()
        scheduler.shutdown(wait=True)
    assert len(skipped) >= 5, "the job must have overrun several ticks"
    warnings = [r for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1
