"""The audit log for the legal-supervision office (auditor role): entries with filters, and verification.

Who revealed what, when and why is `GET /api/v1/audit/entries?action=fraud_report.reveal` (each
entry carries the purpose). Reading the log is itself recorded in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.audit import AuditEntry, verify_chain
from pingan.core.deps import MAX_ROW_ID, DbSession, require_roles
from pingan.core.roles import Actor, Role

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
AUDIT_READERS = frozenset({Role.AUDITOR})
Auditor = Annotated[Actor, Depends(require_roles(*AUDIT_READERS))]
MAX_ID = MAX_ROW_ID


class AuditEntryOut(BaseModel):
    """One audit entry as stored, with its chain position."""

    id: int
    lane: int
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    purpose: str | None
    detail: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    """A page of entries, oldest first; `next_after_id` continues it."""

    items: list[AuditEntryOut]
    next_after_id: int | None


class ChainOut(BaseModel):
    """The chain's verification: how many entries, and the first broken one with its reason."""

    ok: bool
    entries: int
    broken_id: int | None
    broken_seq: int | None
    reason: str | None


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor looks for; None matches anything."""

    who: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def given(self) -> dict[str, str]:
        """The filters set, for the audit entry that records the read."""
        return {k: str(v) for k, v in vars(self).items() if v is not None}


def do_list_entries(
    session: Session, f: AuditFilter, *, actor: Actor, after_id: int = 0, limit: int = 100
) -> list[AuditEntry]:
    """Entries matching `f`, oldest first after `after_id`; the read is itself audited. Caller holds the transaction."""
    q = select(AuditEntry).where(AuditEntry.id > after_id)
    for column, value in (
        (AuditEntry.actor, f.who),
        (AuditEntry.action, f.action),
        (AuditEntry.object_type, f.object_type),
        (AuditEntry.object_id, f.object_id),
    ):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    rows = list(session.execute(q.order_by(AuditEntry.id).limit(limit)).scalars())
    audit.record(
        session,
        actor=actor,
        action="audit.list",
        object_type="audit_entry",
        object_id=rows[0].id if rows else after_id,
        detail=f.given() | {"returned": len(rows)},
    )
    return rows


# Every reveal of clear personal data is audited under an action ending in `.reveal`
# (`fraud_report.reveal`), with its purpose and case reference.
REVEAL_SUFFIX = ".reveal"


def do_list_reveals(
    session: Session, f: AuditFilter, *, actor: Actor, after_id: int = 0, limit: int = 100
) -> list[AuditEntry]:
    """Reveals of protected values matching `f` (actor, time), newest first before `after_id` (0: from
    the newest); the read is itself audited. Caller holds the transaction."""
    q = select(AuditEntry).where(AuditEntry.action.like(f"%{REVEAL_SUFFIX}"))
    if after_id:
        q = q.where(AuditEntry.id < after_id)
    if f.who is not None:
        q = q.where(AuditEntry.actor == f.who)
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    rows = list(session.execute(q.order_by(AuditEntry.id.desc()).limit(limit)).scalars())
    audit.record(
        session,
        actor=actor,
        action="audit.list_reveals",
        object_type="audit_entry",
        object_id=rows[0].id if rows else after_id,
        detail=f.given() | {"returned": len(rows)},
    )
    return rows


@router.get("/entries", response_model=AuditPage)
def list_entries(
    session: DbSession,
    actor: Auditor,
    who: Annotated[str | None, Query(max_length=64, description="the acting user or robot")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit entries matching every filter given, oldest first, `limit` at a time."""
    filters = AuditFilter(who, action, object_type, object_id, since, until)
    with session.begin():
        rows = do_list_entries(session, filters, actor=actor, after_id=after_id, limit=limit)
    items = [
        AuditEntryOut(
            id=e.id,
            lane=e.lane,
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            purpose=e.purpose,
            detail=json.loads(e.detail),
            hash=e.hash,
        )
        for e in rows
    ]
    return AuditPage(items=items, next_after_id=rows[-1].id if len(rows) == limit else None)


@router.get("/verify", response_model=ChainOut)
def verify(session: DbSession, actor: Auditor) -> ChainOut:
    """Walk every lane of the chain and say whether it holds, or where it breaks."""
    report = verify_chain(session)
    return ChainOut(
        ok=report.ok,
        entries=report.entries,
        broken_id=report.broken_id,
        broken_seq=report.broken_seq,
        reason=report.reason,
    )
