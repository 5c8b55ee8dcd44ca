"""scheduler job store: APScheduler's jobs table under the migrations too

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

APScheduler's ``SQLAlchemyJobStore`` creates ``apscheduler_jobs`` itself when the bot starts; declaring it
here means ``complaintwatch db upgrade`` creates every table, so the bot can run as a database user without
the right to create tables. The columns are APScheduler 3's own; its ``create(checkfirst=True)`` then finds
the table and leaves it alone. A database where a bot already made the table keeps it as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "apscheduler_jobs"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index(f"ix_{TABLE}_next_run_time", TABLE, ["next_run_time"])


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_next_run_time", table_name=TABLE)
    op.drop_table(TABLE)
