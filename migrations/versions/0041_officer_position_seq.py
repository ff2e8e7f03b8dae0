"""sensors: each kept position's message number, taken once per device

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 17:00:00

- `officer_position.seq`: the tracker's message number of the position (`seq`); positions kept
  before this migration have none.
- A unique index on (`device_pk`, `seq`): a tracker's message is kept once, whichever ingest process
  took it (several share the positions through a shared subscription, docs/mqtt.md), so a position
  that arrives after a later one of its device is told from a replay by the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officer_position") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.create_index("uq_officer_position_device_seq", ["device_pk", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("officer_position") as batch:
        batch.drop_index("uq_officer_position_device_seq")
        batch.drop_column("seq")
