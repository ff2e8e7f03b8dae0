"""sensors: closing large events' alerts

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 13:40:00

- `crowd_alert.state`: active until a dispatcher or supervisor closes the alert as resolved, a false
  alarm or handed over; alerts raised before this migration are active.
- `crowd_alert.closed_at`, `closed_by`, `close_note`: who closed it, when, and the note saying why.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crowd_alert") as batch:
        batch.add_column(
            sa.Column(
                "state",
                sa.Enum(
                    "active",
                    "resolved",
                    "false_alarm",
                    "handed_over",
                    name="eventalertstate",
                    native_enum=False,
                    length=12,
                ),
                server_default="active",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("closed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=64), server_default="", nullable=False))
        batch.add_column(sa.Column("close_note", sa.String(length=255), server_default="", nullable=False))
        batch.create_index(batch.f("ix_crowd_alert_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crowd_alert") as batch:
        batch.drop_index(batch.f("ix_crowd_alert_state"))
        batch.drop_column("close_note")
        batch.drop_column("closed_by")
        batch.drop_column("closed_at")
        batch.drop_column("state")
