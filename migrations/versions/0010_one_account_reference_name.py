"""one name for an account reference: bank_account.number_* becomes account_*

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 00:30:00.000000

An account's number is stored as `account_pseudonym`, `account_cipher` and `account_masked` in
every table that names an account (finding accounts, orders, the watchlist, the mule review queue);
the registry's own table called them `number_*`. Its index and unique constraint follow the columns.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTS = ("pseudonym", "cipher", "masked")


def _rename(old: str, new: str) -> None:
    old_ix, new_ix = f"ix_bank_account_{old}_pseudonym", f"ix_bank_account_{new}_pseudonym"
    old_uq, new_uq = f"uq_bank_account_bank_{old}", f"uq_bank_account_bank_{new}"
    if op.get_bind().dialect.name == "postgresql":
        # Renamed in place: the index and the constraint's index are kept, not built again.
        for part in PARTS:
            op.alter_column("bank_account", f"{old}_{part}", new_column_name=f"{new}_{part}")
        op.execute(f"ALTER INDEX {old_ix} RENAME TO {new_ix}")
        op.execute(f"ALTER TABLE bank_account RENAME CONSTRAINT {old_uq} TO {new_uq}")
        return
    # SQLite: the batch copies the table with the columns renamed; the constraint, which SQLite
    # cannot add to a table, takes a second copy (a batch resolves new names by the old ones).
    with op.batch_alter_table("bank_account", schema=None) as batch_op:
        batch_op.drop_constraint(old_uq, type_="unique")
        batch_op.drop_index(old_ix)
        for part in PARTS:
            batch_op.alter_column(f"{old}_{part}", new_column_name=f"{new}_{part}")
    with op.batch_alter_table("bank_account", schema=None) as batch_op:
        batch_op.create_index(new_ix, [f"{new}_pseudonym"], unique=False)
        batch_op.create_unique_constraint(new_uq, ["bank_code", f"{new}_pseudonym"])


def upgrade() -> None:
    _rename("number", "account")


def downgrade() -> None:
    _rename("account", "number")
