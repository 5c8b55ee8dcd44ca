"""``pytest --database-only`` (the Makefile's PostgreSQL pass) keeps just the tests that use the database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = """
import pytest

@pytest.fixture
def wrapped(store):
    return store

def test_direct(database_url):
    pass

def test_through_store(store):
    pass

def test_through_own_fixture(wrapped):
    pass

def test_no_database(tmp_path):
    pass
"""


def collected(folder: Path, *options: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *options],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {line.split("::")[-1] for line in result.stdout.splitlines() if "::" in line}


def test_database_only_keeps_tests_that_use_the_database(tmp_path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    everything = {"test_direct", "test_through_store", "test_through_own_fixture", "test_no_database"}
    assert collected(tmp_path) == everything
    assert collected(tmp_path, "--database-only") == everything - {"test_no_database"}
