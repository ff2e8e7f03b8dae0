"""Migration 0018 corrects plans that an outbox-only warning marked delivered or answered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pingan.core.migrate import alembic_config
from tests.conftest import IN_CI, PG_ADMIN_URL, PG_HOWTO, _pg_reachable

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0013 (on SQLite, then on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'at-0013.db'}"
        command.upgrade(alembic_config(url), "0013")
        yield url
        return
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(PG_HOWTO)
        pytest.skip(PG_HOWTO)
    name = f"pingan_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0013")
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _plan(conn: object, plan_id: int, steps: list[tuple[str, str, str]]) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO warning_plan (id, person_key, created_at, status, reasons, evidence_key,"
            " amount_at_risk_fen, elderly, escalate_if_unanswered, first_contact_at)"
            " VALUES (:id, :person, :now, 'done', '[]', '', 800000, false, false, :now)"
        ),
        {"id": plan_id, "person": f"person-{plan_id}", "now": NOW},
    )
    for seq, (channel, state, detail) in enumerate(steps, start=1):
        conn.execute(  # type: ignore[attr-defined]
            text(
                "INSERT INTO warning_step (plan_id, seq, channel, state, updated_at, detail)"
                " VALUES (:plan, :seq, :channel, :state, :now, :detail)"
            ),
            {"plan": plan_id, "seq": seq, "channel": channel, "state": state, "now": NOW, "detail": detail},
        )
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO warning_outcome (plan_id, person_key, reached, flagged_at, later_listed_transfers,"
            " later_listed_amount_fen, later_report, amount_at_risk_fen, observed_until, recorded_at)"
            " VALUES (:plan, :person, true, :now, 0, 0, false, 800000, :now, :now)"
        ),
        {"plan": plan_id, "person": f"person-{plan_id}", "now": NOW},
    )


def test_outbox_only_steps_become_recorded_and_their_plan_is_not_reached(url_at_0013: str) -> None:
    recorded = '{"message_key": "risk:1:sms:1", "state": "recorded"}'
    recorded_call = '{"digit": null, "message_key": "risk:1:voice:1", "state": "recorded"}'
    delivered = '{"message_key": "risk:2:sms:1", "state": "delivered"}'
    engine = create_engine(url_at_0013)
    with engine.begin() as conn:
        _plan(conn, 1, [("sms", "delivered", recorded), ("voice", "answered", recorded_call)])
        _plan(conn, 2, [("sms", "delivered", delivered), ("voice", "answered", recorded_call)])
    engine.dispose()

    command.upgrade(alembic_config(url_at_0013), "0018")

    engine = create_engine(url_at_0013)
    with engine.connect() as conn:
        steps = conn.execute(
            text("SELECT plan_id, channel, state FROM warning_step ORDER BY plan_id, seq")
        ).all()
        plans = dict(conn.execute(text("SELECT id, first_contact_at IS NOT NULL FROM warning_plan")).all())
        reached = dict(conn.execute(text("SELECT plan_id, reached FROM warning_outcome")).all())
    engine.dispose()
    assert [tuple(s) for s in steps] == [
        (1, "sms", "recorded"), (1, "voice", "recorded"), (2, "sms", "delivered"), (2, "voice", "recorded"),
    ]  # fmt: skip
    assert (bool(plans[1]), bool(plans[2])) == (False, True)  # a real delivery report keeps its contact
    assert (bool(reached[1]), bool(reached[2])) == (False, True)
