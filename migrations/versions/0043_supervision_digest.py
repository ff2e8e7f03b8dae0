"""supervision: the daily digest's lines as sent

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 12:40:00

- `supervision_digest_line`: each line of a recipient's daily digest (a deadline of one of their
  cases due soon or passed that morning) as it was sent, so that the case officer and their
  supervisor read it in pingan, and a second run the same day sends nothing twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_digest_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("sent_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("due_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running", "warning", "met", "breached", name="deadlinestatus", native_enum=False, length=10
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["case_id"], ["supervision_case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "recipient", "case_id", "rule_id", "subject"),
    )
    op.create_index(
        "ix_supervision_digest_line_recipient_day", "supervision_digest_line", ["recipient", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_supervision_digest_line_recipient_day", table_name="supervision_digest_line")
    op.drop_table("supervision_digest_line")
