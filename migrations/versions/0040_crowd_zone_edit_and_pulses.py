"""sensors: editing and retiring crowd zones; telemetry pulses for live pages

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 17:00:00

- `crowd_zone.watch_pct`, `control_pct`, `over_pct`: the zone's thresholds, in percent of capacity
  (70, 90 and 100 for the zones made before, as the rules had them).
- `crowd_zone.retired_at`, `retired_by`, `retire_note`: a retired zone is kept with its alerts'
  history, off the map, and raises nothing.
- `live_pulse`: "look again" for live pages from telemetry (crowd counts, drone reports), which
  writes no audit entry; on PostgreSQL a commit that appends pulses notifies `pingan_live`, as one
  that appends audit entries does (0017).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTIFY = """
CREATE FUNCTION live_pulse_notify_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pingan_live', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER live_pulse_notify_live AFTER INSERT ON live_pulse
    FOR EACH STATEMENT EXECUTE FUNCTION live_pulse_notify_live();
"""


def upgrade() -> None:
    with op.batch_alter_table("crowd_zone") as batch:
        batch.add_column(sa.Column("watch_pct", sa.Integer(), server_default="70", nullable=False))
        batch.add_column(sa.Column("control_pct", sa.Integer(), server_default="90", nullable=False))
        batch.add_column(sa.Column("over_pct", sa.Integer(), server_default="100", nullable=False))
        batch.add_column(sa.Column("retired_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_by", sa.String(length=64), server_default="", nullable=False))
        batch.add_column(sa.Column("retire_note", sa.String(length=255), server_default="", nullable=False))
    op.create_table(
        "live_pulse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_pulse")),
    )
    op.create_index(op.f("ix_live_pulse_at"), "live_pulse", ["at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER live_pulse_notify_live ON live_pulse")
        op.execute("DROP FUNCTION live_pulse_notify_live()")
    op.drop_index(op.f("ix_live_pulse_at"), table_name="live_pulse")
    op.drop_table("live_pulse")
    with op.batch_alter_table("crowd_zone") as batch:
        batch.drop_column("retire_note")
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
        batch.drop_column("over_pct")
        batch.drop_column("control_pct")
        batch.drop_column("watch_pct")
