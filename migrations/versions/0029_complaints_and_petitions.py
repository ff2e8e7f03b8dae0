"""supervision: complaints and petitions (信访投诉)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 09:26:55

- `complaint`: the complaint, its protected complainant, subject, category, status and handling.
- `complaint_step`: its timeline, append-only (a trigger on PostgreSQL).
- `complaint_attachment`: files' SHA-256 and path; the files live under the data directory.
- `complaint_link`: links to earlier complaints by the same complainant or on the same matter.
- `complaint_breach`: clocks breached, never deleted (a trigger on PostgreSQL).
- `supervision_quality_entry.case_id` becomes nullable: a complaint's deduction may cite no case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "counter",
                "hotline_12345",
                "letter",
                "web",
                "callback_110",
                name="channel",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("external_ref", sa.String(length=40), nullable=False),
        sa.Column("received_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("complainant_name_cipher", sa.String(length=255), nullable=False),
        sa.Column("complainant_name_masked", sa.String(length=64), nullable=False),
        sa.Column("complainant_phone_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("complainant_phone_cipher", sa.String(length=255), nullable=True),
        sa.Column("complainant_phone_masked", sa.String(length=32), nullable=True),
        sa.Column("complainant_id_pseudonym", sa.String(length=64), nullable=True),
        sa.Column("complainant_id_cipher", sa.String(length=255), nullable=True),
        sa.Column("complainant_id_masked", sa.String(length=32), nullable=True),
        sa.Column("complainant_key", sa.String(length=64), nullable=False),
        sa.Column(
            "subject_kind",
            sa.Enum("officer", "unit", "incident", "case", name="subjectkind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("suggested_category", sa.String(length=40), nullable=False),
        sa.Column("suggested_confidence", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "accepted",
                "not_accepted",
                "answered",
                "under_review",
                "closed",
                name="complaintstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("assigned_station", sa.String(length=32), nullable=True),
        sa.Column(
            "finding",
            sa.Enum(
                "substantiated", "partly", "not_substantiated", name="finding", native_enum=False, length=20
            ),
            nullable=True,
        ),
        sa.Column(
            "root_cause",
            sa.Enum(
                "attitude",
                "delay",
                "procedure",
                "law_application",
                "outside_remit",
                name="rootcause",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("accepted_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column(
            "callback_result",
            sa.Enum(
                "satisfied",
                "basically_satisfied",
                "dissatisfied",
                "unreachable",
                name="callbackresult",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_code"], ["station.code"], name=op.f("fk_complaint_station_code_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_channel"), ["channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaint_complainant_id_pseudonym"), ["complainant_id_pseudonym"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaint_complainant_key"), ["complainant_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaint_complainant_phone_pseudonym"),
            ["complainant_phone_pseudonym"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_complaint_officer"), ["officer"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_station_code"), ["station_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_status"), ["status"], unique=False)

    op.create_table(
        "complaint_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_attachment_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_attachment")),
    )
    with op.batch_alter_table("complaint_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_attachment_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaint_attachment_sha256"), ["sha256"], unique=False)

    op.create_table(
        "complaint_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("started_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("met_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("station_code", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_breach_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_breach")),
        sa.UniqueConstraint(
            "complaint_id", "rule_id", "started_at", name=op.f("uq_complaint_breach_complaint_id")
        ),
    )
    with op.batch_alter_table("complaint_breach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_breach_complaint_id"), ["complaint_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_breach_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_breach_station_code"), ["station_code"], unique=False)

    op.create_table(
        "complaint_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("earlier_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.String(length=60), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_link_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["earlier_id"], ["complaint.id"], name=op.f("fk_complaint_link_earlier_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_link")),
        sa.UniqueConstraint("complaint_id", "earlier_id", name=op.f("uq_complaint_link_complaint_id")),
    )
    with op.batch_alter_table("complaint_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_link_complaint_id"), ["complaint_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_link_earlier_id"), ["earlier_id"], unique=False)

    op.create_table(
        "complaint_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "received",
                "accepted",
                "not_accepted",
                "assigned",
                "note",
                "finding",
                "extension",
                "answered",
                "callback",
                "review_requested",
                "review_decided",
                name="stepkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=True),
        sa.Column("extension_id", sa.String(length=40), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_step_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_step")),
    )
    with op.batch_alter_table("complaint_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_step_complaint_id"), ["complaint_id"], unique=False)

    with op.batch_alter_table("supervision_quality_entry", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=True)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY)


_APPEND_ONLY = """
CREATE FUNCTION complaint_step_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'complaint_step is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER complaint_step_append_only BEFORE UPDATE OR DELETE ON complaint_step
    FOR EACH ROW EXECUTE FUNCTION complaint_step_append_only();
CREATE FUNCTION complaint_breach_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a complaint breach is never deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER complaint_breach_kept BEFORE DELETE ON complaint_breach
    FOR EACH ROW EXECUTE FUNCTION complaint_breach_kept();
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS complaint_step_append_only ON complaint_step")
        op.execute("DROP FUNCTION IF EXISTS complaint_step_append_only()")
        op.execute("DROP TRIGGER IF EXISTS complaint_breach_kept ON complaint_breach")
        op.execute("DROP FUNCTION IF EXISTS complaint_breach_kept()")
    with op.batch_alter_table("supervision_quality_entry", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("complaint_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_step_complaint_id"))

    op.drop_table("complaint_step")
    with op.batch_alter_table("complaint_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_link_earlier_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_link_complaint_id"))

    op.drop_table("complaint_link")
    with op.batch_alter_table("complaint_breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_breach_station_code"))
        batch_op.drop_index(batch_op.f("ix_complaint_breach_due_at"))
        batch_op.drop_index(batch_op.f("ix_complaint_breach_complaint_id"))

    op.drop_table("complaint_breach")
    with op.batch_alter_table("complaint_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_attachment_sha256"))
        batch_op.drop_index(batch_op.f("ix_complaint_attachment_complaint_id"))

    op.drop_table("complaint_attachment")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_status"))
        batch_op.drop_index(batch_op.f("ix_complaint_station_code"))
        batch_op.drop_index(batch_op.f("ix_complaint_received_at"))
        batch_op.drop_index(batch_op.f("ix_complaint_officer"))
        batch_op.drop_index(batch_op.f("ix_complaint_complainant_phone_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_complaint_complainant_key"))
        batch_op.drop_index(batch_op.f("ix_complaint_complainant_id_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_complaint_channel"))
        batch_op.drop_index(batch_op.f("ix_complaint_answered_at"))

    op.drop_table("complaint")
