"""command: the loot-recovery record of property crimes

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 11:20:00

- `incident_loot`: the items taken in a property crime, their value, and how much was recovered
  (追赃挽损). The 24-hour case clock needs no table: it is computed from the incident's event log
  (`case_solved`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = pingan.core.db.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "incident_loot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("value_lost_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_recovered_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _T, nullable=False),
        sa.Column("recovered_at", _T, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_loot_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_loot")),
    )
    op.create_index(op.f("ix_incident_loot_incident_id"), "incident_loot", ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_loot_incident_id"), table_name="incident_loot")
    op.drop_table("incident_loot")
