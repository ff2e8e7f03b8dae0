"""The audit log is append-only and hash-chained; `pingan audit verify` finds the first broken entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from pingan.cli import app
from pingan.core import audit, db
from pingan.core.audit import GENESIS_HASH as GENESIS
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.roles import Actor, Role
from tests.conftest import _wipe, bearer, bypass_append_only, make_user

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
        bypass_append_only(conn)
        target = conn.execute(text("select id from audit_entry where seq = 3")).scalar_one()
        conn.execute(update(AuditEntry).where(AuditEntry.id == target).values(actor="someone_else"))
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={target}" in result.output
    assert "edited" in result.output


def test_a_deleted_last_entry_is_detected(database: str) -> None:
    _write(3)
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
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
        bypass_append_only(conn)
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


def _lane_and_hashes() -> tuple[int, list[tuple[int, str]]]:
    with db.read_transaction() as s:
        rows = s.execute(
            select(AuditEntry.lane, AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq)
        ).all()
    return rows[0][0], [(seq, h) for _, seq, h in rows]


def test_a_chain_recomputed_without_the_key_does_not_verify(database: str) -> None:
    """Whoever can write the database but lacks PINGAN_AUDIT_KEY cannot re-hash an edit into place."""
    _write(3)
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
        rows = conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev = GENESIS
        for row in rows:  # the attacker edits entry 2, then re-chains with plain SHA-256
            entry = AuditEntry(**{c: getattr(row, c) for c in row._fields})
            if entry.seq == 2:
                entry.actor = "someone_else"
            entry.prev_hash = prev
            prev = audit.entry_hash(entry, keyed=False)
            conn.execute(
                update(AuditEntry)
                .where(AuditEntry.id == row.id)
                .values(actor=entry.actor, prev_hash=entry.prev_hash, hash=prev)
            )
        conn.execute(text("update audit_head set last_hash = :h where seq = 3"), {"h": prev})
    with db.read_transaction() as s:
        report = verify_chain(s)
    assert not report.ok
    assert report.broken_seq == 1
    assert "edited" in (report.reason or "")


def _truncate_to(lane: int, keep: int, new_head_hash: str) -> None:
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
        conn.execute(text("delete from audit_entry where lane = :l and seq > :k"), {"l": lane, "k": keep})
        conn.execute(
            text("update audit_head set seq = :k, last_hash = :h where id = :l"),
            {"k": keep, "h": new_head_hash, "l": lane},
        )


def test_the_newest_entries_deleted_with_the_head_moved_back_pass_the_chain_but_not_a_checkpoint(
    database: str, tmp_path: Path
) -> None:
    _write(4)
    out = tmp_path / "audit-checkpoints.jsonl"
    assert CliRunner().invoke(app, ["audit", "checkpoint", "--out", str(out)]).exit_code == 0
    lane, hashes = _lane_and_hashes()
    _truncate_to(lane, 2, dict(hashes)[2])
    with db.read_transaction() as s:
        assert verify_chain(s).ok  # the chain alone cannot tell
    result = CliRunner().invoke(app, ["audit", "verify", "--checkpoint", str(out)])
    assert result.exit_code == 1
    assert "entry 4 is gone" in result.output


def test_a_log_rewritten_and_rehashed_with_the_key_is_caught_by_a_checkpoint(database: str) -> None:
    _write(3)
    with db.read_transaction() as s:
        cp = audit.checkpoint(s)
    with db.get_engine().begin() as conn:
        bypass_append_only(conn)
        rows = conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev = GENESIS
        for row in rows:  # an insider with the key: rewrites entry 1 and re-chains every hash
            entry = AuditEntry(**{c: getattr(row, c) for c in row._fields})
            entry.object_id = "rewritten" if entry.seq == 1 else entry.object_id
            entry.prev_hash = prev
            prev = audit.entry_hash(entry)
            conn.execute(
                update(AuditEntry)
                .where(AuditEntry.id == row.id)
                .values(object_id=entry.object_id, prev_hash=entry.prev_hash, hash=prev)
            )
        conn.execute(text("update audit_head set last_hash = :h where seq = 3"), {"h": prev})
    with db.read_transaction() as s:
        assert verify_chain(s).ok
        assert "another hash" in (audit.verify_checkpoint(s, cp) or "")


def test_an_altered_checkpoint_file_is_refused(database: str) -> None:
    _write(2)
    with db.read_transaction() as s:
        cp = audit.checkpoint(s)
        lane = next(iter(cp.lanes))
        forged = audit.Checkpoint(cp.at, {lane: {"seq": 1, "hash": cp.lanes[lane]["hash"]}}, cp.mac)
        assert audit.verify_checkpoint(s, cp) is None
        assert "signature" in (audit.verify_checkpoint(s, forged) or "")


def test_postgresql_refuses_to_update_or_delete_an_audit_entry(postgres_url: str) -> None:
    db.configure(postgres_url)
    _wipe()
    _write(1)
    for statement in ("update audit_entry set actor = 'x'", "delete from audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"), db.get_engine().begin() as conn:
            conn.execute(text(statement))


def test_an_auditor_lists_who_revealed_what_and_why(client: TestClient, database: str) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    with db.transaction() as s:
        audit.record(
            s, actor=officer, action="fraud_report.reveal", object_type="fraud_report", object_id=7,
            purpose="case:AJ-2026-001 核实被害人身份",
        )  # fmt: skip
    _write(2)
    r = client.get("/api/v1/audit/entries", params={"action": "fraud_report.reveal"}, headers=bearer(auditor))
    assert r.status_code == 200
    [entry] = r.json()["items"]
    assert (entry["actor"], entry["object_id"], entry["purpose"]) == (
        "officer_li",
        "7",
        "case:AJ-2026-001 核实被害人身份",
    )


def test_reading_the_audit_log_is_itself_audited(client: TestClient, database: str) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    client.get("/api/v1/audit/entries", params={"who": "officer_li"}, headers=bearer(auditor))
    with db.read_transaction() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "audit.list")).scalars().all()
    assert entry.actor == "auditor_sun"
    assert '"who": "officer_li"' in entry.detail


def test_the_chain_is_verified_through_the_api_by_an_auditor_only(client: TestClient, database: str) -> None:
    _write(3)
    auditor = make_user("auditor_sun", Role.AUDITOR)
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    r = client.get("/api/v1/audit/verify", headers=bearer(auditor))
    assert r.json()["ok"] is True and r.json()["entries"] >= 3
    assert client.get("/api/v1/audit/verify", headers=bearer(analyst)).status_code == 403
