"""order_event.note becomes text: a timeline note is never cut to fit

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 03:30:00.000000

A note carries the reason a user gave for a decision (up to 255 characters, as the form and the API
take it) after a prefix such as "release: "; a 255-character column cut such notes silently.
The downgrade cuts notes longer than 255 characters, as the old column must.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.alter_column(
            "note", existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    op.execute("UPDATE order_event SET note = substr(note, 1, 255) WHERE length(note) > 255")
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.alter_column(
            "note", existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=False
        )
