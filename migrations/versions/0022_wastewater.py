"""wastewater: sewersheds, lab results, quarantine, and the EUDA and Statistics Canada tables

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 06:50:00

Aggregates only: no table holds or links to a person, an address or a building.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ww_euda_load",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("metabolite", sa.String(length=32), nullable=False),
        sa.Column("site_code", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("city", sa.String(length=128), nullable=False),
        sa.Column("monday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("tuesday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("wednesday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("thursday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("friday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("saturday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("sunday", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("weekday_mean", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("weekend_mean", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column("daily_mean", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ww_euda_load")),
        sa.UniqueConstraint("year", "metabolite", "site_code", name=op.f("uq_ww_euda_load_year")),
    )
    with op.batch_alter_table("ww_euda_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ww_euda_load_site_code"), ["site_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ww_euda_load_year"), ["year"], unique=False)

    op.create_table(
        "ww_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "unknown_site",
                "negative_concentration",
                "zero_flow",
                "future_date",
                "malformed",
                "duplicate",
                name="quarantinereason",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ww_quarantine")),
    )
    with op.batch_alter_table("ww_quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ww_quarantine_at"), ["at"], unique=False)

    op.create_table(
        "ww_site",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("city", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ww_site")),
    )
    op.create_table(
        "ww_statcan_load",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("geo", sa.String(length=64), nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("load", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("imputation_rate", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ww_statcan_load")),
        sa.UniqueConstraint("month", "geo", "measure", name=op.f("uq_ww_statcan_load_month")),
    )
    with op.batch_alter_table("ww_statcan_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ww_statcan_load_month"), ["month"], unique=False)

    op.create_table(
        "ww_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_code", sa.String(length=16), nullable=False),
        sa.Column("sample_date", sa.Date(), nullable=False),
        sa.Column(
            "metabolite",
            sa.Enum(
                "benzoylecgonine",
                "cocaine",
                "amphetamine",
                "methamphetamine",
                "mdma",
                "thc_cooh",
                "ketamine",
                name="metabolite",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("concentration_ng_l", sa.Float(), nullable=False),
        sa.Column("flow_m3_day", sa.Float(), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("imported_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_code"], ["ww_site.code"], name=op.f("fk_ww_result_site_code_ww_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ww_result")),
        sa.UniqueConstraint("site_code", "sample_date", "metabolite", name=op.f("uq_ww_result_site_code")),
    )
    with op.batch_alter_table("ww_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ww_result_sample_date"), ["sample_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_ww_result_site_code"), ["site_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ww_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ww_result_site_code"))
        batch_op.drop_index(batch_op.f("ix_ww_result_sample_date"))

    op.drop_table("ww_result")
    with op.batch_alter_table("ww_statcan_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ww_statcan_load_month"))

    op.drop_table("ww_statcan_load")
    op.drop_table("ww_site")
    with op.batch_alter_table("ww_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ww_quarantine_at"))

    op.drop_table("ww_quarantine")
    with op.batch_alter_table("ww_euda_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ww_euda_load_year"))
        batch_op.drop_index(batch_op.f("ix_ww_euda_load_site_code"))

    op.drop_table("ww_euda_load")
