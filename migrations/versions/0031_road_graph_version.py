"""command: the road graph's version

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 09:40:00

- `road_graph`: one row holding the stored road graph's version, renewed by every store, so that a
  process's cached routing graph is checked with one primary-key lookup. A graph stored before this
  revision gets a version here.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "road_graph",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("stored_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_graph")),
    )
    bind = op.get_bind()
    edges = bind.execute(sa.text("SELECT count(*) FROM road_edge")).scalar_one()
    if edges:
        nodes = bind.execute(sa.text("SELECT count(*) FROM road_node")).scalar_one()
        op.bulk_insert(
            table,
            [
                {
                    "id": 1,
                    "version": uuid.uuid4().hex,
                    "nodes": nodes,
                    "edges": edges,
                    "stored_at": datetime.now(UTC),
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("road_graph")
