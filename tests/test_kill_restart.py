"""SIGKILL in the middle of a collection, then a restart: no post lost, none duplicated.

Runs the real `complaintwatch run` in a subprocess on the replay source with tiny pages, kills
it with SIGKILL while pages are being stored, restarts collection and compares the stored ids
with the bundled stream.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.replay import load_timeline
from monitor.store import Store
from monitor.store.models import Mention

pytestmark = pytest.mark.slow

CONFIG = """
[database]
url = "{url}"

[scheduler]
classify_interval_s = 3600
route_interval_s = 3600
send_interval_s = 3600
recheck_interval_s = 3600
pages_per_run = 1000

[[brands]]
name = "{brand}"
terms = ["{brand}"]

[[sources]]
name = "replay"
platform = "replay"
interval_s = 0.2
options = {{ speed = 1000000, page_size = 3 }}
"""


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Mention)) or 0


def _start_bot(config: Path, log_file: Path) -> subprocess.Popen:
    """``complaintwatch run`` in the background, its log in a file: a pipe nobody reads can fill and
    freeze every thread that logs."""
    with log_file.open("w", encoding="utf-8") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def test_sigkill_during_collection_loses_and_duplicates_nothing(tmp_path, database_url):
    posts = load_timeline().posts
    brand = max({p.brand for p in posts}, key=lambda b: sum(p.brand == b for p in posts))
    expected = {p.id for p in posts if p.brand == brand}
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(url=database_url, brand=brand), encoding="utf-8")
    assert _cli(config, "db", "upgrade").returncode == 0
    store = Store(database_url)

    bot_log = tmp_path / "bot.log"
    process = _start_bot(config, bot_log)
    try:
        deadline = time.monotonic() + 60
        while _count(store) < 10 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert process.poll() is None, bot_log.read_text(encoding="utf-8")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    partial = _count(store)
    assert 0 < partial < len(expected), "the kill must land in the middle of the collection"

    result = _cli(config, "collect", "--once")
    assert result.returncode == 0, result.stderr
    with store.session() as session:
        stored = session.scalars(select(Mention.native_id).where(Mention.brand == brand)).all()
    assert len(stored) == len(set(stored))
    assert set(stored) == expected
    store.dispose()


def test_a_second_run_on_the_same_database_says_so_and_exits(tmp_path, database_url):
    config = tmp_path / "config.toml"
    brand = load_timeline().posts[0].brand
    config.write_text(CONFIG.format(url=database_url, brand=brand), encoding="utf-8")
    assert _cli(config, "db", "upgrade").returncode == 0
    bot_log = tmp_path / "bot.log"
    first = _start_bot(config, bot_log)
    try:
        store = Store(database_url)
        deadline = time.monotonic() + 60
        while _count(store) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _cli(config, "run", "--no-dashboard")
        assert second.returncode == 2
        assert "another complaintwatch run is already using" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    assert first.returncode == 0, bot_log.read_text(encoding="utf-8")
    store.dispose()
