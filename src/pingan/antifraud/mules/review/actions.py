"""Review-queue writes: queue a candidate, confirm it (lists the account as suspected) or dismiss it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.antifraud.watchlist import actions as watchlist
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.core import audit, clock
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.roles import Actor, Role

REVIEWERS = (Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR)


def do_queue_candidate(
    session: Session,
    *,
    account_pseudonym: str,
    score: float,
    reasons: Sequence[str],
    actor: Actor,
    account_masked: str = "",
    bank: str | None = None,
    store_account_id: int | None = None,
    model_ref: str = "",
    now: datetime | None = None,
) -> MuleCandidate:
    """Queue an account for review, or refresh its pending candidate's score. Caller holds the transaction."""
    if not 0.0 <= score <= 1.0:
        raise Invalid("score lies between 0 and 1", field="score")
    at = now or clock.now()
    row = session.execute(
        select(MuleCandidate).where(
            MuleCandidate.account_pseudonym == account_pseudonym,
            MuleCandidate.status == CandidateStatus.PENDING,
        )
    ).scalar_one_or_none()
    if row is None:
        row = MuleCandidate(account_pseudonym=account_pseudonym, queued_at=at, status=CandidateStatus.PENDING)
        session.add(row)
    row.score, row.reasons, row.model_ref = score, json.dumps(list(reasons)), model_ref
    row.account_masked, row.bank, row.store_account_id = account_masked, bank, store_account_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mules.queue",
        object_type="mule_candidate",
        object_id=row.id,
        detail={"score": round(score, 4), "reasons": list(reasons), "model": model_ref},
    )
    return row


def do_record_candidate_view(session: Session, candidate: MuleCandidate, *, actor: Actor) -> None:
    """Audit the opening of a candidate's page (its account's transfers and reports). Caller holds the
    transaction."""
    if actor.role not in REVIEWERS:
        raise Forbidden("only anti-fraud analysts and supervisors review mule candidates")
    audit.record(
        session,
        actor=actor,
        action="mules.candidate.read",
        object_type="mule_candidate",
        object_id=candidate.id,
    )


def check_review(actor: Actor, note: str) -> None:
    """Only analysts and supervisors review, and a review says why."""
    if actor.role not in REVIEWERS:
        raise Forbidden("only anti-fraud analysts and supervisors review mule candidates")
    if not note.strip():
        raise Invalid("a review needs a note saying why", field="note")


def _pending(session: Session, candidate_id: int) -> MuleCandidate:
    row = session.get(MuleCandidate, candidate_id)
    if row is None:
        raise NotFound(f"no mule candidate {candidate_id}", field="candidate_id")
    if row.status != CandidateStatus.PENDING:
        raise Conflict(f"mule candidate {candidate_id} is already {row.status.value}")
    return row


def do_confirm(
    session: Session, *, candidate_id: int, note: str, actor: Actor, now: datetime | None = None
) -> MuleCandidate:
    """Confirm a candidate: its account enters the watchlist as `suspected` (warnings only, never orders)."""
    at = now or clock.now()
    row = _pending(session, candidate_id)
    entry = watchlist.do_list_account(
        session,
        account_pseudonym=row.account_pseudonym,
        account_masked=row.account_masked,
        bank=row.bank,
        store_account_id=row.store_account_id,
        source=WatchSource.SUSPECTED,
        confidence=row.score,
        evidence={
            "mule_candidate": row.id,
            "score": round(row.score, 4),
            "reasons": json.loads(row.reasons),
            "reviewed_by": actor.username,
            "note": note,
        },
        actor=actor,
        now=at,
    )
    row.status, row.reviewed_at, row.reviewed_by, row.review_note = (
        CandidateStatus.CONFIRMED,
        at,
        actor.username,
        note,
    )
    row.watchlist_entry_id = entry.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mules.confirm",
        object_type="mule_candidate",
        object_id=row.id,
        detail={"note": note},
    )
    return row


def do_dismiss(
    session: Session, *, candidate_id: int, note: str, actor: Actor, now: datetime | None = None
) -> MuleCandidate:
    """Dismiss a candidate: nothing is listed."""
    at = now or clock.now()
    row = _pending(session, candidate_id)
    row.status, row.reviewed_at, row.reviewed_by, row.review_note = (
        CandidateStatus.DISMISSED,
        at,
        actor.username,
        note,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mules.dismiss",
        object_type="mule_candidate",
        object_id=row.id,
        detail={"note": note},
    )
    return row
