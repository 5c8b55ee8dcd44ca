"""Keeping a child process (the dashboard) running beside the bot.

A dashboard that crashes or is killed (say, by the kernel's out-of-memory killer) is started again, after a
pause, while the bot runs; one that keeps dying right after its start is given up with an error in the log,
so a broken install does not loop forever.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class ProcessKeeper:
    """Runs ``start()``'s process and starts it again when it exits, until :meth:`close`."""

    def __init__(
        self,
        name: str,
        start: Callable[[], subprocess.Popen],
        *,
        pause_s: float = 5.0,
        min_uptime_s: float = 30.0,
        max_quick_exits: int = 5,
    ) -> None:
        self.name, self.start = name, start
        self.pause_s, self.min_uptime_s, self.max_quick_exits = pause_s, min_uptime_s, max_quick_exits
        self.starts = 0
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._watch, name=f"keep-{name}", daemon=True)

    def open(self) -> ProcessKeeper:
        self._launch()
        self._thread.start()
        return self

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop watching and terminate the process (killed if it does not stop within ``timeout_s``)."""
        self._closing.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=timeout_s)

    def _launch(self) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            self._process = self.start()
            self.starts += 1

    def _watch(self) -> None:
        quick_exits = 0
        while not self._closing.is_set():
            with self._lock:
                process = self._process
            if process is None:
                return
            started = time.monotonic()
            code = process.wait()
            if self._closing.is_set():
                return
            quick_exits = quick_exits + 1 if time.monotonic() - started < self.min_uptime_s else 0
            if quick_exits >= self.max_quick_exits:
                log.error(
                    "%s exited %d times right after starting (last code %s); not starting it again",
                    self.name,
                    quick_exits,
                    code,
                )
                return
            log.warning("%s exited with code %s; starting it again in %.0f s", self.name, code, self.pause_s)
            if self._closing.wait(self.pause_s):
                return
            self._launch()
