"""sensors: large events and their zones

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 10:01:25

- `crowd_event`: a large event watched for crowd safety (its code, name and time).
- `crowd_zone`: its zones, each a GeoJSON polygon with a capacity, or a no-fly geofence for drones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crowd_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("starts_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crowd_event")),
        sa.UniqueConstraint("code", name=op.f("uq_crowd_event_code")),
    )
    op.create_table(
        "crowd_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("no_fly", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("polygon", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["crowd_event.id"], name=op.f("fk_crowd_zone_event_id_crowd_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crowd_zone")),
        sa.UniqueConstraint("event_id", "code", name=op.f("uq_crowd_zone_event_id")),
    )
    with op.batch_alter_table("crowd_zone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crowd_zone_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crowd_zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crowd_zone_event_id"))

    op.drop_table("crowd_zone")
    op.drop_table("crowd_event")
