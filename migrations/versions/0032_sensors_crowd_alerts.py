"""sensors: crowd levels and large-event alerts

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 10:20:00

- `crowd_zone.level`, `last_count`, `counted_at`: a crowd zone's last count and the level it reached.
- `crowd_alert`: a zone reaching a crowd level (one per zone and level), or a drone in a no-fly zone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crowd_zone") as batch:
        batch.add_column(sa.Column("level", sa.String(length=10), server_default="", nullable=False))
        batch.add_column(sa.Column("last_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("counted_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "crowd_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("raised_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_pk"], ["sensor_device.id"], name=op.f("fk_crowd_alert_device_pk_sensor_device")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["crowd_event.id"], name=op.f("fk_crowd_alert_event_id_crowd_event")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["crowd_zone.id"], name=op.f("fk_crowd_alert_zone_id_crowd_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crowd_alert")),
    )
    with op.batch_alter_table("crowd_alert") as batch:
        batch.create_index(batch.f("ix_crowd_alert_device_pk"), ["device_pk"], unique=False)
        batch.create_index(batch.f("ix_crowd_alert_event_id"), ["event_id"], unique=False)
        batch.create_index(batch.f("ix_crowd_alert_raised_at"), ["raised_at"], unique=False)
        batch.create_index(batch.f("ix_crowd_alert_zone_id"), ["zone_id"], unique=False)


def downgrade() -> None:
    op.drop_table("crowd_alert")
    with op.batch_alter_table("crowd_zone") as batch:
        batch.drop_column("counted_at")
        batch.drop_column("last_count")
        batch.drop_column("level")
