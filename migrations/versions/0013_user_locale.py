"""user locale: app_user.locale, the language of the user's pages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:00:00.000000

- `app_user.locale`: `zh_CN` or `en`; NULL (everyone at upgrade) follows the browser's
  Accept-Language, then zh_CN.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locale")
