"""a finding's kind (report or trace) and the reason it marks a major case

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:20:00.000000

`police_finding.kind` says what approval issues: holder-linked stops (`report`), and freezes capped
at the traced amounts too (`trace`). Existing findings are the robot's report findings.
`police_finding.major_case_reason` is the drafter's reason for a 1-year freeze term. The order
state `converted` needs no change: states are strings in a VARCHAR(32) column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("police_finding", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("report", "trace", name="findingkind", native_enum=False, length=32),
                server_default="report",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("major_case_reason", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("police_finding", schema=None) as batch_op:
        batch_op.drop_column("major_case_reason")
        batch_op.drop_column("kind")
