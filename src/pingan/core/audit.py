"""The tamper-evident audit log: append-only and chained with an HMAC.

Every write (`do_*`) and every read of personal data records an entry in the same transaction.
Each entry's hash is an HMAC-SHA256, under a key kept outside the database (`PINGAN_AUDIT_KEY`),
of a canonical JSON encoding of its fields and the previous hash. Editing, deleting or reordering
any row breaks the chain at that row, and whoever can write the database but lacks the key cannot
forge a chain that verifies. Entries written before the chain was keyed (below a lane's
`hmac_from_seq`) keep their plain SHA-256 hashes and verify as such.

Two things a chain alone cannot show: the newest entries deleted with the head moved back, and the
whole log rewritten by someone holding the key. Signed checkpoints of every lane's head, exported
to a file outside the database (`checkpoint`, `pingan audit checkpoint`), catch both
(`verify_checkpoint`). On PostgreSQL a trigger refuses UPDATE and DELETE on the entries.

The log is `LANES` chains (lanes), each with its head row (`audit_head.id` is the lane). Appending
locks a head until COMMIT, so one chain would let only one audited transaction commit at a time:
on PostgreSQL a transaction takes whichever head no other one holds, and commits in parallel with
the others (the stop-payment benchmark spent a tenth of its server time queued on a single head).
Each lane is a complete chain that `verify_chain` walks on its own, and an entry's lane is part of
its hash, so an entry cannot be moved between lanes unseen. SQLite has one writer at a time
anyway, and appends to lane 1 only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Insert,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from pingan.core import bulk, clock
from pingan.core.db import Base, PendingUntilCommit, UTCDateTime
from pingan.core.roles import Actor
from pingan.core.settings import get_settings

GENESIS_HASH = "0" * 64
# Enough for the audited transactions that commit at once in one server (its request threads, the
# robot's claimers and recorders, the bank callbacks); more lanes cost nothing but a head row each.
LANES = 8


class AuditEntry(Base):
    """One audited action (审计记录). Never updated or deleted by the application."""

    __tablename__ = "audit_entry"

    __table_args__ = (UniqueConstraint("lane", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lane: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A lane's last sequence number and hash (`id` is the lane); updating it serialises the lane's appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # The first sequence number hashed with the key; the entries before it predate the keyed chain.
    hmac_from_seq: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


def _printable(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; keep it visible instead of failing the audited action.
    return None if value is None else value.replace("\x00", "\\x00")


def _canonical(entry: AuditEntry) -> bytes:
    body: dict[str, object] = {
        "seq": entry.seq,
        "at": clock.ensure_utc(entry.at).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "purpose": entry.purpose,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    if entry.lane != 1:  # lane 1 hashes as the single chain did before lanes, so old logs still verify
        body["lane"] = entry.lane
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _key() -> bytes:
    return get_settings().audit_key.encode()


def entry_hash(entry: AuditEntry, *, keyed: bool = True) -> str:
    """HMAC-SHA256 under the audit key of the entry's canonical encoding, which includes the previous
    entry's hash; `keyed=False` gives the plain SHA-256 of entries from before the keyed chain."""
    if not keyed:
        return hashlib.sha256(_canonical(entry)).hexdigest()
    return hmac.new(_key(), _canonical(entry), hashlib.sha256).hexdigest()


_pending: PendingUntilCommit[AuditEntry] = PendingUntilCommit("pingan_pending_audit")


def span(ids: Sequence[int]) -> str | int:
    """The object id of an entry naming several objects: the one id, or "first..last" (the entry's
    detail names each)."""
    return ids[0] if len(set(ids)) == 1 else f"{min(ids)}..{max(ids)}"


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction.

    The entry is written when the transaction commits (`_link_pending`), after the rest of its
    work, and is dropped with it on rollback (of the transaction, or of the savepoint it was
    recorded in). Its `seq`, `prev_hash` and `hash` are assigned then.
    """
    entry = AuditEntry(
        at=clock.now(),
        actor=actor.username,
        role=actor.role.value,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        purpose=_printable(purpose),
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, default=str),
    )
    _pending.add(session, entry)
    return entry


@sa_event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    """Write the transaction's audit entries into the chain, as the last thing before COMMIT.

    The head row is locked by its UPDATE: on PostgreSQL that row lock, and on SQLite the write lock,
    make concurrent committers wait, so the chain never forks. The transaction's own work is flushed
    first, so the head is held only for three statements and the commit (measured: holding it from
    the first audited write to commit serialised every writer behind whole transactions and
    deadlocked against row locks taken after it). A transaction holding the head takes no other
    lock after it, so it cannot be part of a deadlock cycle.
    """
    if session.in_nested_transaction():
        return  # a savepoint released (SQLAlchemy fires before_commit for it too): wait for the real commit
    entries = _pending.take(session)
    if not entries:
        return
    session.flush()
    n = len(entries)
    lane, (last_seq, prev) = _take_head(session, n)
    for i, entry in enumerate(entries):
        entry.lane = lane
        entry.seq = last_seq - n + 1 + i
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(entry)
    # A Core insert of the table, not the ORM bulk insert of the entity: the rows are complete
    # already, and the ORM path cost ~0.1 ms a row (measured with py-spy in bench/channels.py).
    # One statement for all of them (`core.bulk`), not one per entry.
    bulk.insert_rows(session, _ENTRY_TABLE, [{c: getattr(e, c) for c in _COLUMNS} for e in entries])
    session.execute(_SET_HEAD, {"lane": lane, "h": prev})


_lane_turn = itertools.count()


def _take_head(session: Session, n: int) -> tuple[int, tuple[int, str]]:
    """Lock a lane's head, advanced by `n` entries: (lane, (its new last seq, its last hash)). A lane
    without its head row yet (the migration makes them all) gets it here.

    On PostgreSQL, the first head no other transaction holds, looked at from a lane that turns with
    each call (SKIP LOCKED); when every one is held, this waits for the turn's lane.
    """
    lane = 1
    if session.get_bind().dialect.name == "postgresql":
        turn = next(_lane_turn) % LANES
        free = session.execute(_BUMP_FREE_HEAD, {"n": n, "turn": turn, "lanes": LANES}).first()
        if free is not None:
            return int(free[0]), (int(free[1]), str(free[2]))
        lane = turn + 1
    row = session.execute(_BUMP_HEAD, {"lane": lane, "n": n}).first()
    if row is None:
        session.execute(_seed_head(session.get_bind().dialect.name), {"lane": lane, "h": GENESIS_HASH})
        row = session.execute(_BUMP_HEAD, {"lane": lane, "n": n}).one()
    return lane, (int(row[0]), str(row[1]))


@functools.cache
def _seed_head(dialect: str) -> Insert:
    """An empty head for a lane, unless another transaction made it first (then the update waits for it)."""
    values = {"id": bindparam("lane"), "seq": 0, "last_hash": bindparam("h")}
    if dialect == "postgresql":
        return pg_insert(_HEAD_TABLE).values(values).on_conflict_do_nothing()
    return sqlite_insert(_HEAD_TABLE).values(values).on_conflict_do_nothing()


_ENTRY_TABLE = cast(Table, AuditEntry.__table__)
_HEAD_TABLE = cast(Table, AuditHead.__table__)
# Built once: building these statements (and their cache keys) at every commit was most of the
# audit's cost, about 1 ms of each audited transaction (cProfile), and on PostgreSQL the head row
# stays locked from the first of them to the commit.
_BUMP_HEAD = (
    update(_HEAD_TABLE)
    .where(_HEAD_TABLE.c.id == bindparam("lane"))
    .values(seq=_HEAD_TABLE.c.seq + bindparam("n"))
    .returning(_HEAD_TABLE.c.seq, _HEAD_TABLE.c.last_hash)
)
_FREE_HEAD = (
    select(_HEAD_TABLE.c.id)
    .order_by((_HEAD_TABLE.c.id + bindparam("turn")) % bindparam("lanes"))
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_BUMP_FREE_HEAD = (
    update(_HEAD_TABLE)
    .where(_HEAD_TABLE.c.id == _FREE_HEAD)
    .values(seq=_HEAD_TABLE.c.seq + bindparam("n"))
    .returning(_HEAD_TABLE.c.id, _HEAD_TABLE.c.seq, _HEAD_TABLE.c.last_hash)
)
_SET_HEAD = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == bindparam("lane")).values(last_hash=bindparam("h"))
_COLUMNS = (
    "lane",
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "detail",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: how many entries, and the first broken one with its reason."""

    entries: int
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every entry links and hashes correctly up to the head."""
        return self.reason is None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk each lane in sequence order and report the first entry whose link or hash does not hold,
    or a lane whose entries end before its head."""
    heads = {h.id: h for h in session.execute(select(AuditHead)).scalars()}
    lanes = sorted(set(heads) | set(session.execute(select(AuditEntry.lane).distinct()).scalars()))
    count = 0
    for lane in lanes:
        walked, broken = _verify_lane(session, lane, heads.get(lane), batch=batch)
        count += walked
        if broken is not None:
            return ChainReport(count, *broken)
    return ChainReport(count)


def _verify_lane(
    session: Session, lane: int, head: AuditHead | None, *, batch: int
) -> tuple[int, tuple[int | None, int | None, str] | None]:
    where = "" if lane == 1 else f"lane {lane}: "
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.lane == lane, AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for e in rows:
            count += 1
            keyed = e.seq >= (head.hmac_from_seq if head is not None else 1)
            if e.seq != expected_seq:
                return count, (e.id, e.seq, f"{where}sequence gap: expected {expected_seq}, found {e.seq}")
            if e.prev_hash != prev:
                return count, (e.id, e.seq, f"{where}prev_hash does not match the previous entry's hash")
            if not hmac.compare_digest(entry_hash(e, keyed=keyed), e.hash):
                return count, (e.id, e.seq, f"{where}content does not match its hash (edited)")
            prev = e.hash
            expected_seq += 1
            last_seq = e.seq
        session.expunge_all()
    if head is not None and (head.seq != last_seq or head.last_hash != prev):
        return count, (None, head.seq, f"{where}the chain ends before its head: entries were deleted")
    return count, None


@dataclass(frozen=True)
class Checkpoint:
    """Every lane's head at one moment, signed with the audit key (`mac`), for a file outside the database."""

    at: str
    lanes: dict[str, dict[str, object]]
    mac: str

    def body(self) -> bytes:
        """The signed content: everything but the signature, canonically encoded."""
        return json.dumps(
            {"at": self.at, "lanes": self.lanes}, sort_keys=True, separators=(",", ":")
        ).encode()

    def as_json(self) -> str:
        """One line of a checkpoint file."""
        return json.dumps({"at": self.at, "lanes": self.lanes, "mac": self.mac}, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Checkpoint:
        """Parse one line of a checkpoint file."""
        raw = json.loads(line)
        return cls(at=str(raw["at"]), lanes=dict(raw["lanes"]), mac=str(raw["mac"]))


def checkpoint(session: Session) -> Checkpoint:
    """A signed checkpoint of every lane's head (sequence number and last hash)."""
    lanes: dict[str, dict[str, object]] = {
        str(h.id): {"seq": h.seq, "hash": h.last_hash}
        for h in session.execute(select(AuditHead).order_by(AuditHead.id)).scalars()
        if h.seq > 0
    }
    unsigned = Checkpoint(at=clock.now().isoformat(timespec="seconds"), lanes=lanes, mac="")
    return Checkpoint(unsigned.at, lanes, hmac.new(_key(), unsigned.body(), hashlib.sha256).hexdigest())


def verify_checkpoint(session: Session, cp: Checkpoint) -> str | None:
    """Why the log no longer holds what `cp` recorded, or None when it does.

    Each lane's entry at the checkpoint's sequence number must still be there with the recorded hash:
    an entry deleted with the head moved back, or a log rewritten and re-hashed, cannot keep it.
    """
    expected = hmac.new(_key(), cp.body(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, cp.mac):
        return f"checkpoint of {cp.at}: its signature does not verify (the file was altered, or another key)"
    for lane, head in sorted(cp.lanes.items(), key=lambda kv: int(kv[0])):
        seq = int(str(head["seq"]))
        found = session.execute(
            select(AuditEntry.hash).where(AuditEntry.lane == int(lane), AuditEntry.seq == seq)
        ).scalar_one_or_none()
        if found is None:
            return (
                f"checkpoint of {cp.at}: lane {lane} entry {seq} is gone (entries deleted, head moved back)"
            )
        if not hmac.compare_digest(found, str(head["hash"])):
            return f"checkpoint of {cp.at}: lane {lane} entry {seq} has another hash (the log was rewritten)"
    return None
