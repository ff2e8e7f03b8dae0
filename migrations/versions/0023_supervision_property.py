"""supervision: the seized-property ledger (items, photos, hand-overs)

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-06 07:20:00

- `supervision_property`: seized items with their holder, custodian and state.
- `supervision_property_photo`: photos' SHA-256 and path; the files live in `property_photo_dir`.
- `supervision_property_movement`: hand-overs, requested by the handing user, confirmed by the receiver.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0023"
down_revision: str | None = "0021"
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


def downgrade() -> None:
    op.drop_table("supervision_property_movement")
    op.drop_table("supervision_property_photo")
    op.drop_table("supervision_property")
