"""Expected failures print one line naming the cause and exit with 2; --debug shows the traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BRAND_AND_REPLAY = """
[database]
url = "{url}"

[[brands]]
name = "Telvia"

[[sources]]
name = "replay"
platform = "replay"
options = {options}
"""


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[database]\nurl = sqlite:///oops\n", encoding="utf-8")
    result = run_cli("--config", str(config), "config", "check")
    assert_one_line_error(result, str(config), "not valid TOML")


def test_debug_shows_the_traceback(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[database]\nurl = 3\n", encoding="utf-8")
    result = run_cli("--config", str(config), "--debug", "config", "check")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "database.url: expected a string, got 3" in result.stderr


def test_unreadable_replay_file(tmp_path):
    data = tmp_path / "replay"
    data.mkdir()
    (data / "posts.jsonl").write_text('{"id": "rp-1"\n', encoding="utf-8")
    (data / "events.jsonl").write_text("", encoding="utf-8")
    config = tmp_path / "config.toml"
    options = f'{{ path = "{data}" }}'
    config.write_text(
        BRAND_AND_REPLAY.format(url=f"sqlite:///{tmp_path}/db.sqlite", options=options), "utf-8"
    )
    result = run_cli("--config", str(config), "config", "check")
    assert_one_line_error(result, "posts.jsonl:1: invalid JSON")


def test_database_that_cannot_be_opened(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    config = tmp_path / "config.toml"
    url = f"sqlite:///{blocker}/db.sqlite"
    config.write_text(BRAND_AND_REPLAY.format(url=url, options="{}"), encoding="utf-8")
    result = run_cli("--config", str(config), "db", "upgrade")
    assert_one_line_error(result, "database")


@pytest.mark.parametrize("command", [["status"], ["export", "mentions"]])
def test_outdated_schema_is_refused_with_the_fix(tmp_path, command):
    config = tmp_path / "config.toml"
    config.write_text(BRAND_AND_REPLAY.format(url=f"sqlite:///{tmp_path}/db.sqlite", options="{}"), "utf-8")
    result = run_cli("--config", str(config), *command)
    assert_one_line_error(result, "complaintwatch db upgrade")


def test_postgres_that_cannot_be_reached(tmp_path):
    config = tmp_path / "config.toml"
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    config.write_text(BRAND_AND_REPLAY.format(url=url, options="{}"), encoding="utf-8")
    result = run_cli("--config", str(config), "db", "upgrade")
    assert_one_line_error(result, "cannot open database", "127.0.0.1")


def test_a_bad_record_in_the_dev_data_is_named(tmp_path):
    folder = tmp_path / "data" / "germeval2018_offense"
    folder.mkdir(parents=True)
    (folder / "dev.jsonl").write_text('{"text": "Hallo", "labels": {"coarse": "OFENSE"}}\n', "utf-8")
    result = run_cli("evaluate", "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert_one_line_error(result, f"{folder / 'dev.jsonl'}:1: labels.coarse value 'OFENSE' is not one of")
