"""The audit log is append-only and hash-chained; `pingan audit verify` finds the first broken entry."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text, update
from typer.testing import CliRunner

from pingan.cli import app
from pingan.core import audit, db
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.roles import Actor, Role

officer = Actor("officer_li", Role.OFFICER, 1)


def _write(n: int) -> None:
    for i in range(n):
        with db.transaction() as s:
            audit.record(
                s, actor=officer, action="fraud_report.view", object_type="fraud_report", object_id=i
            )


def test_a_fresh_chain_of_writes_verifies(database: str) -> None:
    _write(5)
    with db.transaction() as s:
        report = verify_chain(s)
    assert report.ok
    assert report.entries == 5


def test_each_entry_links_to_the_previous_hash(database: str) -> None:
    _write(3)
    with db.transaction() as s:
        rows = s.query(AuditEntry).order_by(AuditEntry.seq).all()
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_an_entry_edited_in_the_database_is_named_by_verify(database: str) -> None:
    _write(4)
    with db.get_engine().begin() as conn:
        target = conn.execute(text("select id from audit_entry where seq = 3")).scalar_one()
        conn.execute(update(AuditEntry).where(AuditEntry.id == target).values(actor="someone_else"))
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={target}" in result.output
    assert "edited" in result.output


def test_a_deleted_last_entry_is_detected(database: str) -> None:
    _write(3)
    with db.get_engine().begin() as conn:
        conn.execute(text("delete from audit_entry where seq = 3"))
    with db.transaction() as s:
        report = verify_chain(s)
    assert not report.ok
    assert "deleted" in (report.reason or "")


def test_verify_prints_ok_on_an_intact_chain(database: str) -> None:
    _write(2)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0
    assert result.output.startswith("OK")


def test_a_rolled_back_write_leaves_no_entry(database: str) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        audit.record(s, actor=officer, action="x", object_type="t", object_id=1)
        raise RuntimeError("crash before commit")
    _write(1)
    with db.transaction() as s:
        assert verify_chain(s).entries == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=st.lists(
        st.tuples(st.sampled_from(["view", "reveal", "register"]), st.text(max_size=30)), max_size=8
    )
)
def test_the_chain_verifies_after_any_sequence_of_writes(
    database: str, actions: list[tuple[str, str]]
) -> None:
    with db.transaction() as s:
        before = verify_chain(s).entries
    for action, purpose in actions:
        with db.transaction() as s:
            audit.record(s, actor=officer, action=action, object_type="t", object_id=1, purpose=purpose)
    with db.transaction() as s:
        report = verify_chain(s)
    assert report.ok
    assert report.entries == before + len(actions)
