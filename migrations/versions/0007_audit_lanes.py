"""the audit log in lanes: chains that commit in parallel, each entry in one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in pingan.core.audit; fixed here, as a migration must not change when the code does.
LANES = 8
GENESIS_HASH = "0" * 64
_HEADS = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("seq"), sa.column("last_hash"))


def upgrade() -> None:
    # Every entry so far was in the one chain, which becomes lane 1 (its hashes are unchanged).
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_seq"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_lane"), ["lane", "seq"])
    have = set(op.get_bind().execute(sa.select(_HEADS.c.id)).scalars())
    missing = [{"id": i, "seq": 0, "last_hash": GENESIS_HASH} for i in range(1, LANES + 1) if i not in have]
    if missing:
        op.bulk_insert(_HEADS, missing)


def downgrade() -> None:
    conn = op.get_bind()
    entries = sa.table("audit_entry", sa.column("lane", sa.SmallInteger))
    if conn.execute(sa.select(entries.c.lane).where(entries.c.lane != 1).limit(1)).first() is not None:
        raise RuntimeError("audit entries in lanes other than 1 cannot go back to a single chain")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_lane"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_seq"), ["seq"])
        batch_op.drop_column("lane")
    op.execute(_HEADS.delete().where(_HEADS.c.id != 1))
