"""The issue's must-hold as a user runs it: the real CLI against all four platform fakes at once.

The fakes run in this test process on 127.0.0.1; ``python -m monitor`` runs in subprocesses with a
config.toml naming all four and the secrets in ``COMPLAINTWATCH_*`` variables. After ``collect --once``
the fakes' worlds change (deletions, removals by moderators and by the platform, suspended, deactivated
and protected authors, one post deleted and restored), ``recheck --once --all`` runs, and
``export mentions --format jsonl`` must list every post exactly once with its platform, its native id
and the post and author status its fake's world dictates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from platform_worlds import BRAND, PLATFORMS, World, running

pytestmark = pytest.mark.slow


@pytest.fixture
def worlds() -> Iterator[dict[str, World]]:
    with ExitStack() as stack:
        yield {platform: stack.enter_context(running(platform)) for platform in PLATFORMS}


def write_config(path: Path, database_url: str, worlds: dict[str, World]) -> Path:
    lines = [
        "[database]",
        f"url = {toml(database_url)}",
        "",
        "[[brands]]",
        f"name = {toml(BRAND)}",
        f"terms = [{toml(BRAND)}]",
    ]
    for platform, world in worlds.items():
        lines += ["", "[[sources]]"]
        lines += [f"{key} = {toml(value)}" for key, value in world.source_table(platform).items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml(value: Any) -> str:
    """A TOML value for the few types a config here holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def run_cli(config: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_collect_recheck_export_reports_what_each_platform_did(
    tmp_path: Path, database_url: str, worlds: dict[str, World]
) -> None:
    planned = {p: [(change, world.post()) for change in world.changes()] for p, world in worlds.items()}
    restored = {p: world.post() for p, world in worlds.items()}
    config = write_config(tmp_path / "config.toml", database_url, worlds)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTWATCH_")}
    for world in worlds.values():
        env.update(world.env())

    run_cli(config, env, "db", "upgrade")
    collected = run_cli(config, env, "collect", "--once")
    for platform in PLATFORMS:
        posts = len(planned[platform]) + 1
        assert f"{platform}: " in collected and f"{posts} received, {posts} new" in collected, collected
    for platform, world in worlds.items():
        world.delete(restored[platform])
    run_cli(config, env, "recheck", "--once", "--all")  # sees the restored posts gone
    for platform, world in worlds.items():
        for change, post in planned[platform]:
            change.apply(post)
        world.undelete(restored[platform])
    rechecked = run_cli(config, env, "recheck", "--once", "--all")
    assert re.search(r"\b0 undecided", rechecked), rechecked
    exported = run_cli(config, env, "export", "mentions", "--format", "jsonl")

    records = [json.loads(line) for line in exported.splitlines() if line.strip()]
    keys = [(r["platform"], r["native_id"]) for r in records]
    assert len(keys) == len(set(keys)), "a post was exported twice"
    expected = {
        (platform, worlds[platform].native_id(post)): (change.post_status, change.author_status)
        for platform, plan in planned.items()
        for change, post in plan
    }
    expected.update({(p, worlds[p].native_id(post)): ("restored", "active") for p, post in restored.items()})
    assert {
        (r["platform"], r["native_id"]): (r["post_status"], r["author_status"]) for r in records
    } == expected
    assert {r["source"] for r in records} == set(PLATFORMS)
