"""supervision: requests to return or dispose of a seized item

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 13:40:00

- `supervision_request.item_id`: the seized item a request to return (发还) or dispose of (处置) it
  names. The custodian releases or disposes of the item only on an approved request; the request kinds
  `release` and `disposal` need no schema change (the kind is stored as text).
- `supervision_request.case_id` may be empty: an appeal on a deduction that no case carries (a
  substantiated complaint's) is filed and decided in the queue like any other, now that the queue is
  the only way to decide an appeal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_supervision_request_item_id"), ["item_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_supervision_request_item_id_supervision_property"),
            "supervision_property",
            ["item_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_supervision_request_item_id_supervision_property"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_supervision_request_item_id"))
        batch_op.drop_column("item_id")
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
