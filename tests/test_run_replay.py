"""`complaintwatch run` on the replay source at high speed, then `export mentions`.

The real command runs in a subprocess until the replayed story is over; the export must then
hold every bundled post exactly once, every one classified, each with the final status of the
replay's timeline (deleted, removed, suspended, restored …).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from collectors.replay import expected_final_statuses, load_timeline

pytestmark = pytest.mark.slow

SPEED = 120  # story seconds per real second: events ≥ 10 story minutes apart are ≥ 5 s apart
CATCH_UP_S = 180  # the most the run may take after the story's last event to show every final status

CONFIG = """
[database]
url = "{url}"

[scheduler]
classify_interval_s = 1
route_interval_s = 1
send_interval_s = 5
recheck_interval_s = 0.5
recheck_max_per_run = 5000

{brands}

[[sources]]
name = "replay"
platform = "replay"
interval_s = 0.5
options = {{ speed = {speed} }}

[audit]
cadence = [[1e12, 1]]
"""


def test_run_at_high_speed_then_export(tmp_path, database_url):
    timeline = load_timeline()
    brands = "\n".join(f'[[brands]]\nname = "{b}"\n' for b in sorted({p.brand for p in timeline.posts}))
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(url=database_url, brands=brands, speed=SPEED), encoding="utf-8")
    cli = [sys.executable, "-m", "monitor", "--config", str(config)]
    assert subprocess.run([*cli, "db", "upgrade"], capture_output=True, check=False).returncode == 0

    story_end = max(e.at for e in timeline.events) / SPEED
    expected = expected_final_statuses(timeline)
    # The log goes to a file: a pipe nobody reads while the bot runs fills up (64 KiB of "job skipped"
    # warnings on a loaded machine) and then blocks every thread that logs, freezing the bot.
    log_path = tmp_path / "run.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen([*cli, "run", "--no-dashboard"], stderr=log_file, text=True)
    try:
        time.sleep(story_end)
        # The last event, then re-check rounds until the export is final. A loaded machine (two cores
        # shared with the tagger, CPU steal) needs longer than a fixed pause, so poll up to a deadline.
        deadline = time.monotonic() + CATCH_UP_S
        while not _is_final(_export(cli), expected) and time.monotonic() < deadline:
            time.sleep(5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    errors = log_path.read_text(encoding="utf-8")
    assert process.returncode == 0, errors
    assert "Traceback" not in errors, errors

    records = _export(cli)
    ids = [r["native_id"] for r in records]
    assert len(ids) == len(set(ids)) == len(timeline.posts)
    assert all(r["model_version"] for r in records), "every post is classified"
    wrong = {
        r["native_id"]: (r["post_status"], expected[r["native_id"]])
        for r in records
        if r["post_status"] != expected[r["native_id"]]
    }
    assert not wrong, f"{wrong}\n-- the run's log, last lines --\n{errors[-4000:]}"


def _export(cli: list[str]) -> list[dict]:
    export = subprocess.run(
        [*cli, "export", "mentions", "--format", "jsonl"], capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in export.stdout.splitlines()]


def _is_final(records: list[dict], expected: dict[str, str]) -> bool:
    return len(records) == len(expected) and all(
        r["model_version"] and r["post_status"] == expected[r["native_id"]] for r in records
    )
