"""supervision: 110 call-backs on a weekly sample of closed incidents

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 13:30:48

- `callback_draw`: each week's sample, drawn once: the stated rate, the seed and the population.
- `callback_task`: a call-back to the caller of one sampled incident (110 回访), its outcome, and the
  complaint a dissatisfied call-back became.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_draw")),
        sa.UniqueConstraint("week_start", name=op.f("uq_callback_draw_week_start")),
    )
    op.create_table(
        "callback_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("incident_closed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "done", name="taskstate", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "satisfied",
                "dissatisfied",
                "not_reached",
                name="callbackoutcome",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("called_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("called_by", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_callback_task_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["callback_draw.id"], name=op.f("fk_callback_task_draw_id_callback_draw")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_callback_task_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_callback_task_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_task")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_callback_task_incident_id")),
    )
    with op.batch_alter_table("callback_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_task_draw_id"), ["draw_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_task_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_task_station_code"), ["station_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_task_station_code"))
        batch_op.drop_index(batch_op.f("ix_callback_task_state"))
        batch_op.drop_index(batch_op.f("ix_callback_task_draw_id"))

    op.drop_table("callback_task")
    op.drop_table("callback_draw")
