"""road graph: junctions and street segments for routing units to incidents

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 03:50:00

- `road_node`: junctions, WGS-84 degrees.
- `road_edge`: street segments in pgRouting's shape (`cost_s`, `reverse_cost_s` = -1 when one-way).
- On PostgreSQL, the `pgrouting` extension is created where the server has it available; without it
  routing runs in-process (scipy).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "road_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_node")),
    )
    op.create_table(
        "road_edge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("one_way", sa.Boolean(), nullable=False),
        sa.Column("road_class", sa.String(length=32), nullable=False),
        sa.Column("cost_s", sa.Float(), nullable=False),
        sa.Column("reverse_cost_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["source"], ["road_node.id"], name=op.f("fk_road_edge_source_road_node")),
        sa.ForeignKeyConstraint(["target"], ["road_node.id"], name=op.f("fk_road_edge_target_road_node")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_edge")),
    )
    with op.batch_alter_table("road_edge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_road_edge_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_road_edge_target"), ["target"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        available = bind.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")
        ).first()
        if available:
            op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE")


def downgrade() -> None:
    with op.batch_alter_table("road_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_road_edge_target"))
        batch_op.drop_index(batch_op.f("ix_road_edge_source"))
    op.drop_table("road_edge")
    op.drop_table("road_node")
