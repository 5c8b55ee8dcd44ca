"""Shared fixtures: a fresh, migrated database per test, on SQLite or PostgreSQL.

With ``COMPLAINTWATCH_TEST_DATABASE_URL`` set (a PostgreSQL URL), every test gets its own
schema in that database, dropped afterwards; otherwise a SQLite file under ``tmp_path``.
``pytest --database-only`` runs only the tests that use that database (the Makefile's PostgreSQL pass:
the others do not depend on which database it is, and already ran in the SQLite pass).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from monitor.store import Store

TEST_DATABASE_ENV = "COMPLAINTWATCH_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-only",
        action="store_true",
        help="run only the tests that use the test database (the database_url fixture, directly or not)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-only"):
        return
    kept = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if "database_url" not in getattr(item, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _postgres_url() -> str | None:
    return os.environ.get(TEST_DATABASE_ENV) or None


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    """URL of an empty database private to this test."""
    base = _postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'complaintwatch.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url) -> Iterator[Store]:
    """A migrated store on the test's private database."""
    instance = Store(database_url)
    instance.upgrade()
    yield instance
    instance.dispose()


@pytest.fixture
def on_postgres() -> bool:
    return _postgres_url() is not None
