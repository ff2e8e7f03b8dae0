"""on PostgreSQL, a commit that appends audit entries notifies channel pingan_live (live pages' wake-up)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 03:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One notification per statement; PostgreSQL folds the same one into one per transaction and
# delivers it at COMMIT, which is when the live pages' poller should look (core/live.py).
_NOTIFY = """
CREATE FUNCTION audit_entry_notify_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pingan_live', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_entry_notify_live AFTER INSERT ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_notify_live();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_notify_live ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_notify_live()")
