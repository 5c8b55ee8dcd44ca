"""The dashboard beside the bot is started again when it dies, and given up when it cannot stay up."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

from monitor.keeper import ProcessKeeper

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
FAILING = [sys.executable, "-c", "import sys; sys.exit(3)"]


def _wait_until(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_killed_process_is_started_again_and_close_stops_it(caplog) -> None:
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        processes.append(subprocess.Popen(SLEEPER))
        return processes[-1]

    keeper = ProcessKeeper("dashboard", start, pause_s=0.05).open()
    try:
        processes[0].kill()  # the out-of-memory killer, say
        assert _wait_until(lambda: keeper.starts == 2)
        assert processes[0].poll() is not None and processes[1].poll() is None
        assert "dashboard exited with code -9; starting it again" in caplog.text
    finally:
        keeper.close()
    assert all(p.poll() is not None for p in processes), "close() leaves no process behind"
    time.sleep(0.2)
    assert keeper.starts == 2, "nothing is started after close()"


def test_a_process_that_keeps_dying_at_start_is_given_up(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.keeper"):
        keeper = ProcessKeeper(
            "dashboard", lambda: subprocess.Popen(FAILING), pause_s=0.01, max_quick_exits=3
        ).open()
        try:
            assert _wait_until(lambda: "not starting it again" in caplog.text)
        finally:
            keeper.close()
    assert keeper.starts == 3
    assert "dashboard exited 3 times right after starting (last code 3)" in caplog.text
