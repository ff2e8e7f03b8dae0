"""directives: the bureau's directives to stations and the stations' answers

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 09:30:00

- `directive`: subject, text, issuer, issue time, deadline, the answer required, and the near-duplicate
  override (best similarity and the directives shown) when the issuer sent it anyway.
- `directive_recipient`: one row per station a directive goes to, with its answer and minutes spent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("issued_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "required_answer",
            sa.Enum("acknowledge", "report", "data", name="requiredanswer", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("duplicate_override", sa.Float(), nullable=True),
        sa.Column("similar_to", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive")),
    )
    with op.batch_alter_table("directive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_issuer"), ["issuer"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_subject"), ["subject"], unique=False)

    op.create_table(
        "directive_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("answered_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=False),
        sa.Column("minutes_spent", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directive.id"],
            name=op.f("fk_directive_recipient_directive_id_directive"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_directive_recipient_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_recipient")),
        sa.UniqueConstraint("directive_id", "station_code", name=op.f("uq_directive_recipient_directive_id")),
    )
    with op.batch_alter_table("directive_recipient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_recipient_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_directive_recipient_directive_id"), ["directive_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directive_recipient_station_code"), ["station_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("directive_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_recipient_station_code"))
        batch_op.drop_index(batch_op.f("ix_directive_recipient_directive_id"))
        batch_op.drop_index(batch_op.f("ix_directive_recipient_answered_at"))

    op.drop_table("directive_recipient")
    with op.batch_alter_table("directive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_subject"))
        batch_op.drop_index(batch_op.f("ix_directive_issuer"))
        batch_op.drop_index(batch_op.f("ix_directive_issued_at"))

    op.drop_table("directive")
