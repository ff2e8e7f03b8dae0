"""supervision: requests for approval (审批), filed by one user and decided by another

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 09:30:00

- `supervision_request`: a case step that needs a superior's approval, or an appeal on a quality
  deduction; pending until the approver (a different user with the approver's role) approves or
  refuses it, with the reason kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = pingan.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supervision_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("step", "appeal", name="requestkind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum("pending", "approved", "refused", name="requeststate", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", _T, nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _T, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("result_event_id", sa.Integer(), nullable=True),
        sa.Column("result_entry_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["supervision_case.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["supervision_quality_entry.id"]),
        sa.ForeignKeyConstraint(["result_event_id"], ["supervision_event.id"]),
        sa.ForeignKeyConstraint(["result_entry_id"], ["supervision_quality_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("case_id", "entry_id", "station_code", "requested_by"):
        op.create_index(f"ix_supervision_request_{column}", "supervision_request", [column], unique=False)
    op.create_index(
        "ix_supervision_request_queue", "supervision_request", ["state", "approver"], unique=False
    )


def downgrade() -> None:
    op.drop_table("supervision_request")
