"""station scoping and sealed names: app_user.district_wide, order_appeal.appellant_*, fixed name masks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:30:00.000000

- `app_user.district_wide`: an officer's grant of the district-wide view (false for everyone).
- `order_appeal.appellant` becomes `appellant_cipher` and `appellant_masked`, like every other name.
  Existing names are encrypted here with `pingan.core.pii` and the configured keys (`PINGAN_PII_*`),
  the same keys the application uses to read them: the migration runs in the deployment that holds
  them, and a name in clear must not outlive the upgrade. The downgrade decrypts them back.
- Stored name masks (`fraud_report.victim_name_masked`, `account_holder.name_masked`) showed the
  length of the name; they become the first character and two stars, which needs no decryption.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pingan.core.pii import PiiKind, decrypt, protect

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_MASKS = (("fraud_report", "victim_name_masked"), ("account_holder", "name_masked"))


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("district_wide", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("order_appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appellant_cipher", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("appellant_masked", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    appeals = sa.table(
        "order_appeal",
        sa.column("id", sa.Integer),
        sa.column("appellant", sa.String),
        sa.column("appellant_cipher", sa.String),
        sa.column("appellant_masked", sa.String),
    )
    for appeal_id, name in conn.execute(sa.select(appeals.c.id, appeals.c.appellant)).all():
        # An empty or overlong legacy value is kept as well as it can be: trimmed to the name rule.
        sealed = protect(PiiKind.NAME, (name or "?").strip()[:64] or "?").sealed
        conn.execute(
            appeals.update()
            .where(appeals.c.id == appeal_id)
            .values(appellant_cipher=sealed.cipher, appellant_masked=sealed.masked)
        )
    with op.batch_alter_table("order_appeal", schema=None) as batch_op:
        batch_op.alter_column("appellant_cipher", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("appellant_masked", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("appellant")

    for table, column in NAME_MASKS:
        t = sa.table(table, sa.column(column, sa.String))
        conn.execute(
            t.update().values({column: sa.func.substr(t.c[column], 1, 1, type_=sa.String).concat("**")})
        )


def downgrade() -> None:
    # The former masks cannot be restored (they held the length); the short ones stay.
    with op.batch_alter_table("order_appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appellant", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    appeals = sa.table(
        "order_appeal",
        sa.column("id", sa.Integer),
        sa.column("appellant", sa.String),
        sa.column("appellant_cipher", sa.String),
    )
    for appeal_id, cipher in conn.execute(sa.select(appeals.c.id, appeals.c.appellant_cipher)).all():
        conn.execute(
            appeals.update().where(appeals.c.id == appeal_id).values(appellant=decrypt(PiiKind.NAME, cipher))
        )
    with op.batch_alter_table("order_appeal", schema=None) as batch_op:
        batch_op.alter_column("appellant", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("appellant_masked")
        batch_op.drop_column("appellant_cipher")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("district_wide")
