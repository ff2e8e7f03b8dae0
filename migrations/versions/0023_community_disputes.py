"""community disputes: disputes with parties, mediators, links, timeline, grades, tasks, breaches

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 06:45:16

- `dispute`: one dispute taken in for mediation (community package), with its latest grade, agreement,
  clock moments and wage-arrears amounts (fen). `incident_id` is command's incident id, no foreign key:
  community reads command through its actions, never its table.
- `dispute_party`: name sealed, phone and ID number protected (pseudonym indexed, for repeats).
- `dispute_mediator` (one per side of 四方联动), `dispute_link` (earlier disputes), `dispute_event`
  (the timeline), `dispute_grade` (every grading with its factor contributions), `dispute_task` (a red
  grade's station tasks), `dispute_breach` (deadlines missed, once per dispute and clock).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "neighbours",
                "family",
                "marriage",
                "wage_arrears",
                "consumer",
                "property_management",
                "traffic",
                name="disputetype",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open", "agreed", "failed", "escalated", name="disputestatus", native_enum=False, length=12
            ),
            nullable=False,
        ),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("taken_in_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("address_key", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("domestic_violence", sa.Boolean(), nullable=False),
        sa.Column("factor_inputs", sa.Text(), nullable=False),
        sa.Column(
            "grade",
            sa.Enum("red", "orange", "yellow", "blue", name="grade", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("closed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("agreed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("agreement_terms", sa.Text(), nullable=False),
        sa.Column("follow_up_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmation_applied_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dv_warning_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("protection_order_applied_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("protection_order_urgent", sa.Boolean(), nullable=False),
        sa.Column("protection_order_decided_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("employer", sa.String(length=128), nullable=False),
        sa.Column("owed_fen", sa.BigInteger(), nullable=False),
        sa.Column("recovered_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_dispute_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_address_key"), ["address_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_employer"), ["employer"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_grade"), ["grade"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_station_code"), ["station_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_taken_in_at"), ["taken_in_at"], unique=False)

    op.create_table(
        "dispute_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column(
            "clock",
            sa.Enum(
                "mediation",
                "follow_up",
                "confirmation",
                "dv_warning",
                "protection_order",
                name="clockkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("deadline", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_breach_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_breach")),
        sa.UniqueConstraint("dispute_id", "clock", name=op.f("uq_dispute_breach_dispute_id")),
    )
    with op.batch_alter_table("dispute_breach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_breach_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "taken_in",
                "graded",
                "repeat_found",
                "task_created",
                "agreed",
                "failed",
                "escalated",
                "follow_up_visit",
                "confirmation_applied",
                "dv_warning_issued",
                "protection_order_applied",
                "protection_order_decided",
                "recovered",
                "clock_breached",
                name="eventkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_event_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_event")),
    )
    with op.batch_alter_table("dispute_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_event_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "grade",
            sa.Enum("red", "orange", "yellow", "blue", name="grade", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("contributions", sa.Text(), nullable=False),
        sa.Column("reasons", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_grade_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_grade")),
    )
    with op.batch_alter_table("dispute_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_grade_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("earlier_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_link_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["earlier_id"], ["dispute.id"], name=op.f("fk_dispute_link_earlier_id_dispute")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_link")),
        sa.UniqueConstraint("dispute_id", "earlier_id", name=op.f("uq_dispute_link_dispute_id")),
    )
    with op.batch_alter_table("dispute_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_link_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_link_earlier_id"), ["earlier_id"], unique=False)

    op.create_table(
        "dispute_mediator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column(
            "side",
            sa.Enum(
                "station",
                "judicial_office",
                "lawyer",
                "community",
                name="mediator",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_mediator_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_mediator")),
        sa.UniqueConstraint("dispute_id", "side", name=op.f("uq_dispute_mediator_dispute_id")),
    )
    with op.batch_alter_table("dispute_mediator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_mediator_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("applicant", "respondent", name="partyrole", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("name_cipher", sa.String(length=255), nullable=False),
        sa.Column("name_masked", sa.String(length=64), nullable=False),
        sa.Column("phone_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("phone_cipher", sa.String(length=255), nullable=True),
        sa.Column("phone_masked", sa.String(length=32), nullable=True),
        sa.Column("national_id_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("national_id_cipher", sa.String(length=255), nullable=True),
        sa.Column("national_id_masked", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_party_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_party")),
    )
    with op.batch_alter_table("dispute_party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_party_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dispute_party_national_id_pseudonym"), ["national_id_pseudonym"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispute_party_phone_pseudonym"), ["phone_pseudonym"], unique=False
        )

    op.create_table(
        "dispute_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("home_visit", "art25_notification", name="taskkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_dispute_task_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_dispute_task_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_task")),
    )
    with op.batch_alter_table("dispute_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_task_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_task_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_task_station_code"), ["station_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_task_station_code"))
        batch_op.drop_index(batch_op.f("ix_dispute_task_due_at"))
        batch_op.drop_index(batch_op.f("ix_dispute_task_dispute_id"))

    op.drop_table("dispute_task")
    with op.batch_alter_table("dispute_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_party_phone_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_dispute_party_national_id_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_dispute_party_dispute_id"))

    op.drop_table("dispute_party")
    with op.batch_alter_table("dispute_mediator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_mediator_dispute_id"))

    op.drop_table("dispute_mediator")
    with op.batch_alter_table("dispute_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_link_earlier_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_link_dispute_id"))

    op.drop_table("dispute_link")
    with op.batch_alter_table("dispute_grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_grade_dispute_id"))

    op.drop_table("dispute_grade")
    with op.batch_alter_table("dispute_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_event_dispute_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_event_at"))

    op.drop_table("dispute_event")
    with op.batch_alter_table("dispute_breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_breach_dispute_id"))

    op.drop_table("dispute_breach")
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_taken_in_at"))
        batch_op.drop_index(batch_op.f("ix_dispute_status"))
        batch_op.drop_index(batch_op.f("ix_dispute_station_code"))
        batch_op.drop_index(batch_op.f("ix_dispute_kind"))
        batch_op.drop_index(batch_op.f("ix_dispute_incident_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_grade"))
        batch_op.drop_index(batch_op.f("ix_dispute_employer"))
        batch_op.drop_index(batch_op.f("ix_dispute_address_key"))

    op.drop_table("dispute")
