"""supervision: approvals of seized-property requests lapse, are used once, and may be withdrawn

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 17:00:00

- `supervision_request.expires_at`: an approval to return or dispose of a seized item is valid until
  then (set when approved, from `property_approval_valid_days`); past it the custodian's step is 409.
- `supervision_request.used_at`: when the custodian carried the approval out (state `used`).
- `supervision_request.withdrawn_at`, `withdrawal_reason`: the requester withdrew it (state
  `withdrawn`).

Existing rows: an approved release or disposal whose item is already released or disposed of becomes
`used` (used at the item's closing time); one still open gets `expires_at` = its decision + 7 days
(the default validity), so an approval given before this revision lapses like a new one.
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_VALID = timedelta(days=7)


def upgrade() -> None:
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("used_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("withdrawn_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), server_default="", nullable=False))

    req = sa.table(
        "supervision_request",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("state", sa.String()),
        sa.column("item_id", sa.Integer()),
        sa.column("decided_at", pingan.core.db.UTCDateTime(timezone=True)),
        sa.column("expires_at", pingan.core.db.UTCDateTime(timezone=True)),
        sa.column("used_at", pingan.core.db.UTCDateTime(timezone=True)),
    )
    item = sa.table(
        "supervision_property",
        sa.column("id", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("closed_at", pingan.core.db.UTCDateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(req.c.id, req.c.decided_at, item.c.state, item.c.closed_at)
        .join(item, item.c.id == req.c.item_id)
        .where(req.c.kind.in_(("release", "disposal")), req.c.state == "approved")
    ).all()
    for rid, decided_at, item_state, closed_at in rows:
        if item_state in ("released", "disposed"):
            bind.execute(sa.update(req).where(req.c.id == rid).values(state="used", used_at=closed_at))
        elif decided_at is not None:
            bind.execute(sa.update(req).where(req.c.id == rid).values(expires_at=decided_at + DEFAULT_VALID))


def downgrade() -> None:
    req = sa.table("supervision_request", sa.column("state", sa.String()))
    # A used approval was an approved one; a withdrawn request is kept as refused (never acted on).
    op.get_bind().execute(sa.update(req).where(req.c.state == "used").values(state="approved"))
    op.get_bind().execute(sa.update(req).where(req.c.state == "withdrawn").values(state="refused"))
    with op.batch_alter_table("supervision_request", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("used_at")
        batch_op.drop_column("expires_at")
