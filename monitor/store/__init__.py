"""Storage: one :class:`Store` per database URL (SQLite WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class StoreError(Exception):
    """The database cannot be opened or is not at the expected schema version."""


class Store:
    """Engine + session factory + migrations for one database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"database URL {url!r} is not valid: {exc}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            _prepare_sqlite_folder(parsed.database)
        self.engine = _create_engine(url, self.dialect, echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    # -- sessions ------------------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema --------------------------------------------------------------------------------------
    def _alembic(self) -> AlembicConfig:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        return config

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise StoreError(f"cannot open database {self.display_url}: {_root_cause(exc)}") from None

    def upgrade(self, revision: str = "head") -> tuple[str | None, str | None]:
        """Apply pending migrations up to ``revision``; returns (before, after) revisions."""
        before = self.current_revision()
        config = self._alembic()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise StoreError(f"cannot migrate database {self.display_url}: {_root_cause(exc)}") from None
        return before, self.current_revision()

    def check_schema(self) -> None:
        """Refuse to work on a database whose schema is behind (or ahead of) this code."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise StoreError(
                f"database {self.display_url} is at schema {current or 'none'}, this version needs {head}: "
                "run `complaintwatch db upgrade`"
            )

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def _create_engine(url: str, dialect: str, echo: bool) -> Engine:
    options: dict[str, Any] = {"echo": echo, "future": True}
    if dialect == "sqlite":
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    try:
        engine = create_engine(url, **options)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"cannot open database {url!r}: {exc}") from None
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while the bot writes; NORMAL sync is crash-safe under WAL.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _prepare_sqlite_folder(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the database folder {folder}: {exc.strerror}") from None


def _root_cause(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


__all__ = ["Base", "Store", "StoreError"]
