"""The real dashboard under ``streamlit run`` on 127.0.0.1, a seeded database, a webhook receiver,
and headless Chromium driven by Playwright (Debian's /usr/bin/chromium, never a downloaded one).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESTINATION,
    REPO,
    STARTUP_TIMEOUT_S,
    WEBHOOK_SECRET,
    Receiver,
    free_port,
    screenshot,
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test, so fixtures can tell whether the test failed; a failed
    test leaves a screenshot in test-artifacts/failed-<test>.png, taken before any fixture is torn down."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        from playwright.sync_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):  # a crashed page has nothing to show
            screenshot(page, f"failed-{item.name}")
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as instance:
        yield instance


@pytest.fixture
def config_path(tmp_path: Path, receiver: Receiver) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[brands]]\nname = "Acme"\ncontacts = ["+49 800 1234000"]\n\n'
        f'[[destinations]]\nname = "{DESTINATION}"\nkind = "webhook"\nurl = "{receiver.url}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def app_env(config_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of the dashboard (and of this test process, for the sender)."""
    values = {
        "COMPLAINTWATCH_CONFIG": str(config_path),
        "COMPLAINTWATCH_DATABASE_URL": database_url,
        "COMPLAINTWATCH_DESTINATION_PRIVACY_DESK_SECRET": WEBHOOK_SECRET,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def dashboard(
    app_env: dict[str, str], seeded: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on a free port; yields its base URL."""
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO / "dashboard" / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    environment = {**os.environ, **app_env}
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, tmp_path / "streamlit.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if _failed(request):  # pytest shows this under "Captured stdout teardown"
            print("streamlit log (last 40 lines):\n" + "\n".join(_log_tail(tmp_path / "streamlit.log", 40)))


def _log_tail(path: Path, lines: int) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()
