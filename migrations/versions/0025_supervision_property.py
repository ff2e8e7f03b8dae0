"""supervision: the seized-property ledger and the quality ledger

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 07:20:00

- `supervision_property`: seized items with their holder, custodian and state.
- `supervision_property_photo`: photos' SHA-256 and path; the files live in `property_photo_dir`.
- `supervision_property_movement`: hand-overs, requested by the handing user, confirmed by the receiver.
- `supervision_quality_entry`: deductions and appeal decisions, append-only (a trigger on PostgreSQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = pingan.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supervision_property",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "registered",
                "in_store",
                "checked_out",
                "released",
                "disposed",
                name="propertystate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("custodian", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", _T, nullable=False),
        sa.Column("found_unrelated_at", _T, nullable=True),
        sa.Column("closed_at", _T, nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["supervision_case.id"],
            name=op.f("fk_supervision_property_case_id_supervision_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_property")),
        sa.UniqueConstraint("case_id", "label", name=op.f("uq_supervision_property_case_id")),
    )
    op.create_index(
        op.f("ix_supervision_property_case_id"), "supervision_property", ["case_id"], unique=False
    )
    op.create_index(op.f("ix_supervision_property_state"), "supervision_property", ["state"], unique=False)
    op.create_table(
        "supervision_property_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", _T, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["supervision_property.id"],
            name=op.f("fk_supervision_property_photo_item_id_supervision_property"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_property_photo")),
    )
    op.create_index(
        op.f("ix_supervision_property_photo_item_id"), "supervision_property_photo", ["item_id"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_property_photo_sha256"), "supervision_property_photo", ["sha256"], unique=False
    )
    op.create_table(
        "supervision_property_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("custody", "check_out", "return", name="movementkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("to_user", sa.String(length=64), nullable=False),
        sa.Column("requested_at", _T, nullable=False),
        sa.Column("confirmed_at", _T, nullable=True),
        sa.Column("due_at", _T, nullable=True),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["supervision_property.id"],
            name=op.f("fk_supervision_property_movement_item_id_supervision_property"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_property_movement")),
    )
    op.create_index(
        op.f("ix_supervision_property_movement_item_id"),
        "supervision_property_movement",
        ["item_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_supervision_property_movement_to_user"),
        "supervision_property_movement",
        ["to_user"],
        unique=False,
    )

    op.create_table(
        "supervision_quality_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("deduction", "appeal", name="deductionkind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("appeal_of", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _T, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["supervision_case.id"],
            name=op.f("fk_supervision_quality_entry_case_id_supervision_case"),
        ),
        sa.ForeignKeyConstraint(
            ["appeal_of"],
            ["supervision_quality_entry.id"],
            name=op.f("fk_supervision_quality_entry_appeal_of_supervision_quality_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_quality_entry")),
        sa.UniqueConstraint("kind", "source", name=op.f("uq_supervision_quality_entry_kind")),
    )
    for column in ("case_id", "station_code", "officer", "month"):
        op.create_index(
            op.f(f"ix_supervision_quality_entry_{column}"),
            "supervision_quality_entry",
            [column],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY)


_APPEND_ONLY = """
CREATE FUNCTION supervision_quality_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'supervision_quality_entry is append-only: an appeal is a new entry';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER supervision_quality_entry_append_only BEFORE UPDATE OR DELETE ON supervision_quality_entry
    FOR EACH ROW EXECUTE FUNCTION supervision_quality_entry_append_only();
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS supervision_quality_entry_append_only ON supervision_quality_entry"
        )
        op.execute("DROP FUNCTION IF EXISTS supervision_quality_entry_append_only()")
    op.drop_table("supervision_quality_entry")
    op.drop_table("supervision_property_movement")
    op.drop_table("supervision_property_photo")
    op.drop_table("supervision_property")
