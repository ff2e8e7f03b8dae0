"""The audit log is append-only and hash-chained; `pingan audit verify` finds the first broken entry."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from pingan.cli import app
from pingan.core import audit, db
from pingan.core.audit import GENESIS_HASH as GENESIS
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.roles import Actor, Role
from tests.conftest import _wipe

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


@pytest.mark.postgres
def test_a_transaction_commits_in_another_lane_while_one_lane_is_held(postgres_url: str) -> None:
    """Audited transactions do not queue behind one another: a held head is skipped, not waited on."""
    db.configure(postgres_url)
    _wipe()
    with db.get_engine().begin() as conn:  # every lane's head, as the migration makes them
        conn.execute(
            text("insert into audit_head (id, seq, last_hash) select n, 0, :h from generate_series(1, :k) n"),
            {"h": GENESIS, "k": audit.LANES},
        )
    _write(1)
    with db.get_engine().connect() as holder:
        held = holder.execute(text("select id from audit_head where seq = 1 for update")).scalar_one()
        with db.transaction() as s:
            s.execute(text("set local lock_timeout = '2s'"))  # a wait would fail the test, not hang it
            audit.record(s, actor=officer, action="while_held", object_type="t", object_id=1)
        holder.rollback()
    with db.transaction() as s:
        lane = s.execute(select(AuditEntry.lane).where(AuditEntry.action == "while_held")).scalar_one()
        assert lane != held
        assert verify_chain(s).ok


def test_an_entry_moved_to_another_lane_is_named_by_verify(database: str) -> None:
    """Even with both heads made to agree, the moved entry's hash gives it away: its lane is hashed."""
    _write(3)  # one after the other: all in one lane (on PostgreSQL, whichever lane the first took)
    with db.get_engine().begin() as conn:
        lane, target, moved_hash = conn.execute(
            text("select lane, id, hash from audit_entry where seq = 3")
        ).one()
        last_kept = conn.execute(
            text("select hash from audit_entry where lane = :l and seq = 2"), {"l": lane}
        ).scalar_one()
        other = 1 if lane != 1 else 2
        conn.execute(
            update(AuditEntry).where(AuditEntry.id == target).values(lane=other, seq=1, prev_hash=GENESIS)
        )
        conn.execute(
            text("update audit_head set seq = 2, last_hash = :h where id = :l"), {"h": last_kept, "l": lane}
        )
        conn.execute(text("delete from audit_head where id = :o"), {"o": other})
        conn.execute(
            text("insert into audit_head (id, seq, last_hash) values (:o, 1, :h)"),
            {"o": other, "h": moved_hash},
        )
    with db.transaction() as s:
        report = verify_chain(s)
    assert not report.ok
    assert report.broken_id == target
    assert "edited" in (report.reason or "")
