"""command: each road segment's road name

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 10:00:00

- `road_edge.name`: the name of the segment's road (OpenStreetMap's `name`; the generated district's
  grid names), so that pages say where a segment is (纬12街, between 经30路 and 经31街). Segments stored
  before this migration have none until the graph is stored again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("road_edge") as batch:
        batch.add_column(sa.Column("name", sa.String(length=128), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("road_edge") as batch:
        batch.drop_column("name")
