"""supervision: cases, parties, their event log, deadlines and breaches

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 06:09:23

- `supervision_case`: criminal and administrative cases, optionally linked to a 110 incident or a
  fraud report (plain ids, read through those packages' queries).
- `supervision_party`: people of a case, name sealed and ID number protected.
- `supervision_event`: the append-only log of measures and steps.
- `supervision_deadline`: deadlines as last evaluated against the rule pack (derived, replaced).
- `supervision_breach`: breaches, never deleted, with their audited explanation.

On PostgreSQL, triggers refuse to delete a breach, and to change or delete a step of the log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_KEPT_FOR_GOOD = """
CREATE FUNCTION supervision_kept_for_good() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is kept for good: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER supervision_breach_kept BEFORE DELETE ON supervision_breach
    FOR EACH ROW EXECUTE FUNCTION supervision_kept_for_good();
CREATE TRIGGER supervision_event_kept BEFORE UPDATE OR DELETE ON supervision_event
    FOR EACH ROW EXECUTE FUNCTION supervision_kept_for_good();
"""


def upgrade() -> None:
    op.create_table(
        "supervision_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("criminal", "administrative", name="casekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=False),
        sa.Column("supervisor", sa.String(length=64), nullable=False),
        sa.Column("opened_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="casestatus", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("closed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("fraud_report_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("pack_version", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_supervision_case_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_case")),
        sa.UniqueConstraint("number", name=op.f("uq_supervision_case_number")),
    )
    with op.batch_alter_table("supervision_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_case_fraud_report_id"), ["fraud_report_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_supervision_case_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_officer"), ["officer"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_station_code"), ["station_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_case_supervisor"), ["supervisor"], unique=False)

    op.create_table(
        "supervision_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("started_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("critical", "major", "minor", name="severity", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("met_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("explained_by", sa.String(length=64), nullable=True),
        sa.Column("explained_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["supervision_case.id"], name=op.f("fk_supervision_breach_case_id_supervision_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_breach")),
        sa.UniqueConstraint(
            "case_id", "rule_id", "subject", "started_at", name=op.f("uq_supervision_breach_case_id")
        ),
    )
    with op.batch_alter_table("supervision_breach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_breach_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_breach_recorded_at"), ["recorded_at"], unique=False)

    op.create_table(
        "supervision_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("started_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("warn_from", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("met_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "running", "warning", "met", "breached", name="deadlinestatus", native_enum=False, length=10
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum("critical", "major", "minor", name="severity", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("extensions", sa.String(length=128), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["supervision_case.id"],
            name=op.f("fk_supervision_deadline_case_id_supervision_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_deadline")),
    )
    with op.batch_alter_table("supervision_deadline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_deadline_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_supervision_deadline_open_due", ["met_at", "due_at"], unique=False)

    op.create_table(
        "supervision_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("suspect", "victim", "witness", name="partyrole", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("name_cipher", sa.String(length=255), nullable=False),
        sa.Column("name_masked", sa.String(length=64), nullable=False),
        sa.Column("national_id_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("national_id_cipher", sa.String(length=255), nullable=True),
        sa.Column("national_id_masked", sa.String(length=32), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["supervision_case.id"],
            name=op.f("fk_supervision_party_case_id_supervision_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_party")),
    )
    with op.batch_alter_table("supervision_party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_party_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supervision_party_national_id_pseudonym"), ["national_id_pseudonym"], unique=False
        )

    op.create_table(
        "supervision_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "case_opened",
                "summons",
                "questioning_started",
                "questioning_ended",
                "detention",
                "family_notified",
                "arrest_requested",
                "arrest_decided",
                "arrest",
                "bail",
                "bail_ended",
                "residential_surveillance",
                "surveillance_ended",
                "released",
                "seizure",
                "property_registered",
                "property_found_unrelated",
                "seizure_lifted",
                "extension",
                "transfer_for_prosecution",
                "case_decided",
                "case_closed",
                name="eventkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("flags", sa.String(length=128), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=True),
        sa.Column("extension_id", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["supervision_case.id"],
            name=op.f("fk_supervision_event_case_id_supervision_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["supervision_party.id"],
            name=op.f("fk_supervision_event_party_id_supervision_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_event")),
    )
    with op.batch_alter_table("supervision_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_event_case_id"), ["case_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_KEPT_FOR_GOOD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER supervision_event_kept ON supervision_event")
        op.execute("DROP TRIGGER supervision_breach_kept ON supervision_breach")
        op.execute("DROP FUNCTION supervision_kept_for_good()")
    with op.batch_alter_table("supervision_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_event_case_id"))
        batch_op.drop_index(batch_op.f("ix_supervision_event_at"))

    op.drop_table("supervision_event")
    with op.batch_alter_table("supervision_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_party_national_id_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_supervision_party_case_id"))

    op.drop_table("supervision_party")
    with op.batch_alter_table("supervision_deadline", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_deadline_open_due")
        batch_op.drop_index(batch_op.f("ix_supervision_deadline_case_id"))

    op.drop_table("supervision_deadline")
    with op.batch_alter_table("supervision_breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_breach_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_supervision_breach_case_id"))

    op.drop_table("supervision_breach")
    with op.batch_alter_table("supervision_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_case_supervisor"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_status"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_station_code"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_opened_at"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_officer"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_kind"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_incident_id"))
        batch_op.drop_index(batch_op.f("ix_supervision_case_fraud_report_id"))

    op.drop_table("supervision_case")
