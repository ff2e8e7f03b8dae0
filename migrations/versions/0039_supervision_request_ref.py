"""supervision: requests of kinds that other packages own

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 16:45:00

- `supervision_request.ref`: what a request of a kind another package owns is about
  (`complaint:12` for a complaint's handling-period extension). The approvals queue dispatches such a
  request by its kind to the handler its package registered, and never reads that package's tables.
- `supervision_request.kind` is stored in 24 characters: `complaint_extension` is longer than the 10
  the earlier kinds needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=10), type_=sa.String(length=24), existing_nullable=False
        )
        batch_op.add_column(sa.Column("ref", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_supervision_request_ref"), ["ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_request_ref"))
        batch_op.drop_column("ref")
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=24), type_=sa.String(length=10), existing_nullable=False
        )
