"""Alembic environment: runs on the connection handed over by ``monitor.store.Store``."""

from __future__ import annotations

from alembic import context

from monitor.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through Store.upgrade()
    raise RuntimeError("run migrations with `complaintwatch db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
