"""orders: a lease on each in-flight bank message

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 10:30:00

- `bank_outbox.claimed_by`, `bank_outbox.lease_until`: the sender holding an in-flight message and
  until when. Several senders share one database; a sender killed mid-batch leaves its messages to
  the others once its lease runs out. Rows in flight from before this revision have no lease and are
  taken back by the next sender that starts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bank_outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", pingan.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank_outbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
