"""incident source id: the source system and id of an imported incident, unique per source

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 06:20:00

- `incident.source_system`, `incident.source_id`: nullable (a call taken here has neither); unique
  together, so that importing the same file twice stores each row once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_system", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("source_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_incident_source_system"), ["source_system", "source_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_incident_source_system"), type_="unique")
        batch_op.drop_column("source_id")
        batch_op.drop_column("source_system")
