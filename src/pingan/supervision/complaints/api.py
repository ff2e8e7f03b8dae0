"""Complaints over HTTP (`/api/v1/supervision/complaints`): intake, attachments, each handling step,
the queue with its clocks, satisfaction per station and the bulletin's figures."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import Invalid, NotFound
from pingan.core.roles import Actor
from pingan.supervision import approvals
from pingan.supervision.complaints import actions, queries, rules
from pingan.supervision.complaints.choices import ComplaintStatus
from pingan.supervision.complaints.model import Complaint, ComplaintAttachment
from pingan.supervision.complaints.pack import in_force
from pingan.supervision.complaints.schemas import (
    AcceptIn,
    AnswerIn,
    AssignIn,
    AttachmentOut,
    CallbackIn,
    ClockOut,
    ComplaintIn,
    ComplaintOut,
    ExtensionRequestIn,
    FindingIn,
    LinkOut,
    NoteIn,
    ReviewDecisionIn,
    ReviewRequestIn,
    SatisfactionOut,
    StepOut,
)
from pingan.supervision.schemas import RequestOut

router = APIRouter(prefix="/api/v1/supervision/complaints", tags=["complaints"])
Intake = Annotated[Actor, Depends(require_roles(*actions.INTAKE_ROLES))]
Handler = Annotated[Actor, Depends(require_roles(*actions.HANDLERS))]
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def complaint_out(session: Session, c: Complaint, *, now: datetime, detail: bool = True) -> ComplaintOut:
    """A complaint as the API shows it: the complainant masked, its clocks standing at `now`."""
    out = ComplaintOut(
        id=c.id,
        channel=c.channel,
        external_ref=c.external_ref,
        received_at=c.received_at,
        complainant_name_masked=c.complainant_name.masked,
        complainant_phone_masked=c.complainant_phone.masked if c.complainant_phone else None,
        subject_kind=c.subject_kind,
        subject_ref=c.subject_ref,
        station_code=c.station_code,
        officer=c.officer,
        category=c.category,
        suggested_category=c.suggested_category,
        suggested_confidence=c.suggested_confidence,
        text=c.text,
        status=c.status,
        is_repeat=c.is_repeat,
        assigned_station=c.assigned_station,
        finding=c.finding,
        root_cause=c.root_cause,
        accepted_at=c.accepted_at,
        answered_at=c.answered_at,
        answer=c.answer,
        callback_result=c.callback_result,
    )
    if not detail:
        return out
    out.clocks = [
        ClockOut(
            rule_id=k.rule.id,
            title_en=k.rule.title_en,
            citation=k.rule.citation.short(),
            started_at=k.started_at,
            due_at=k.due_at,
            met_at=k.met_at,
            status=k.status,
            window=not k.rule.duty,
            extensions=list(k.extensions),
        )
        for k in rules.evaluate(actions.step_list(c), in_force(), at=now)
    ]
    out.steps = [
        StepOut(
            id=s.id,
            kind=s.kind,
            at=s.at,
            actor=s.actor,
            value=s.value,
            note=s.note,
            approved_by=s.approved_by,
        )
        for s in c.steps
    ]
    out.links = [
        LinkOut(complaint_id=v.other_id, reasons=list(v.reasons), similarity=v.similarity, repeat=v.repeat)
        for v in queries.links_of(session, c.id)
    ]
    out.attachments = [
        AttachmentOut.model_validate(a, from_attributes=True) for a in queries.attachments_of(session, c.id)
    ]
    return out


def _read(session: Session, c: Complaint, actor: Actor) -> None:
    """A complaint read shows its complainant (masked): the read is audited."""
    audit.record(
        session, actor=actor, action="supervision.complaint_read", object_type="complaint", object_id=c.id
    )


@router.post("", response_model=ComplaintOut, status_code=201)
def register(body: ComplaintIn, session: DbSession, actor: Intake) -> ComplaintOut:
    """Register a complaint: 422 naming the field when its subject does not exist."""
    now = clock.now()
    with session.begin():
        subject = actions.check_intake(session, body, actor=actor, now=now)
        c = actions.do_intake(session, body, subject, actor=actor, now=now)
        out = complaint_out(session, c, now=now)
    return out


@router.get("", response_model=list[ComplaintOut])
def list_queue(
    session: DbSession,
    actor: Reader,
    status: Annotated[ComplaintStatus | None, Query()] = None,
    station: Annotated[str | None, Query(max_length=16)] = None,
    attention: bool = False,
) -> list[ComplaintOut]:
    """The queue in view, by next due time; `attention`: a clock due soon or passed."""
    now = clock.now()
    with session.begin():
        rows = queries.queue(session, actor, now=now, status=status, station=station, attention=attention)
        out = [complaint_out(session, r.complaint, now=now) for r in rows]
        audit.record(
            session,
            actor=actor,
            action="supervision.complaint_list_read",
            object_type="complaint",
            object_id=len(out),
        )
    return out


@router.get("/satisfaction", response_model=list[SatisfactionOut])
def satisfaction(session: DbSession, actor: Reader) -> list[SatisfactionOut]:
    """Satisfaction per station: the sample size and 95% Wilson interval with each share."""
    with session.begin():
        rows = queries.satisfaction_by_station(session, actor)
    return [
        SatisfactionOut(
            station_code=r.station_code,
            satisfied=r.share.successes,
            n=r.share.n,
            low=r.share.low,
            high=r.share.high,
        )
        for r in rows
    ]


@router.get("/bulletin")
def bulletin(session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)]) -> dict[str, Any]:
    """The complaints part of the monthly bulletin (YYYY-MM, Beijing time)."""
    if not MONTH.match(month):
        raise Invalid("give the month as YYYY-MM", field="month")
    with session.begin():
        b = queries.bulletin(session, month, actor=actor)

    def share(s: rules.Share) -> dict[str, Any]:
        return {"count": s.successes, "n": s.n, "low": round(s.low, 4), "high": round(s.high, 4)}

    return {
        "month": b.month,
        "received": b.received,
        "received_last_year": b.received_last_year,
        "change": b.change,
        "by_root_cause": dict(b.by_root_cause),
        "by_channel": dict(b.by_channel),
        "substantiated": share(b.substantiated),
        "repeats": share(b.repeats),
        "satisfaction": share(b.satisfaction),
        "by_station": [{"station_code": s.station_code, **share(s.share)} for s in b.by_station],
        "breaches": b.breaches,
    }


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


@router.post("/category-suggestion")
def category_suggestion(body: TextIn, actor: Intake) -> dict[str, Any]:
    """The command platform's classifier's suggested category for a complaint text."""
    c = actions.suggest_category(body.text)
    return {
        "label": c.label,
        "confidence": c.confidence,
        "top": [{"label": s.label, "confidence": s.confidence} for s in c.top],
    }


@router.get("/{complaint_id}", response_model=ComplaintOut)
def get_one(complaint_id: int, session: DbSession, actor: Reader) -> ComplaintOut:
    now = clock.now()
    with session.begin():
        c = actions.get_complaint(session, complaint_id, actor=actor)
        _read(session, c, actor)
        out = complaint_out(session, c, now=now)
    return out


@router.post("/{complaint_id}/attachments", response_model=AttachmentOut, status_code=201)
def add_attachment(
    complaint_id: int, session: DbSession, actor: Intake, file: Annotated[UploadFile, File()]
) -> AttachmentOut:
    """Attach a PDF, JPEG, PNG or text file: stored under its SHA-256, the hash and path recorded."""
    now = clock.now()
    content = file.file.read(actions.MAX_ATTACHMENT_BYTES + 1)
    with session.begin():
        c = actions.get_complaint(session, complaint_id, actor=actor)
        suffix = actions.check_attachment(content, file.content_type or "", actor=actor)
        row = actions.do_add_attachment(
            session, c, content, file.content_type or "", file.filename or "", suffix, actor=actor, now=now
        )
        out = AttachmentOut.model_validate(row, from_attributes=True)
    return out


@router.get("/attachments/{attachment_id}")
def get_attachment(attachment_id: int, session: DbSession, actor: Reader) -> Response:
    """The attachment's file, checked against its SHA-256 (409 if it was changed or lost)."""
    with session.begin():
        row = session.get(ComplaintAttachment, attachment_id) if 1 <= attachment_id <= MAX_ROW_ID else None
        if row is None:
            raise NotFound("no attachment", field="id")
        actions.get_complaint(session, row.complaint_id, actor=actor)
        content = actions.attachment_bytes(row)
    return Response(content, media_type=row.content_type)


def _handle(
    session: Session,
    complaint_id: int,
    actor: Actor,
    check: Callable[[Complaint, datetime], None],
    do: Callable[[Complaint, datetime], Complaint],
) -> ComplaintOut:
    now = clock.now()
    with session.begin():
        c = actions.get_complaint(session, complaint_id, actor=actor)
        check(c, now)
        do(c, now)
        out = complaint_out(session, c, now=now)
    return out


@router.post("/{complaint_id}/accept", response_model=ComplaintOut)
def accept(complaint_id: int, body: AcceptIn, session: DbSession, actor: Handler) -> ComplaintOut:
    """Accept (受理) or refuse the complaint, with the reason for a refusal."""
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_accept(c, body, actor=actor, now=now),
        lambda c, now: actions.do_accept(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/assign", response_model=ComplaintOut)
def assign(complaint_id: int, body: AssignIn, session: DbSession, actor: Handler) -> ComplaintOut:
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_assign(session, c, body, actor=actor, now=now),
        lambda c, now: actions.do_assign(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/notes", response_model=ComplaintOut)
def note(complaint_id: int, body: NoteIn, session: DbSession, actor: Handler) -> ComplaintOut:
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_note(c, body, actor=actor, now=now),
        lambda c, now: actions.do_note(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/finding", response_model=ComplaintOut)
def finding(complaint_id: int, body: FindingIn, session: DbSession, actor: Handler) -> ComplaintOut:
    """Record the finding and root cause; a substantiated one deducts from the quality ledger."""
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_finding(session, c, body, actor=actor, now=now),
        lambda c, now: actions.do_finding(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/extension", response_model=RequestOut, status_code=201)
def extension(complaint_id: int, body: ExtensionRequestIn, session: DbSession, actor: Handler) -> RequestOut:
    """Ask the `approver` to extend the handling period by 30 days. The request waits in the approvals
    queue (`POST /api/v1/supervision/requests/{id}/decision`); the clock moves only when it is
    approved. 403 without an approver, naming oneself or anyone but an active supervisor or legal
    supervisor; 422 for an `approved_by` typed in; 409 while a request awaits its decision."""
    now = clock.now()
    with session.begin():
        c = actions.get_complaint(session, complaint_id, actor=actor)
        actions.check_extension_request(session, c, body, actor=actor, now=now)
        req = actions.do_extension_request(session, c, body, actor=actor, now=now)
        out = RequestOut.read(req, approvals.standing(req, now))
    return out


@router.post("/{complaint_id}/answer", response_model=ComplaintOut)
def answer(complaint_id: int, body: AnswerIn, session: DbSession, actor: Handler) -> ComplaintOut:
    """The written answer: 422 when dated before the acceptance."""
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_answer(c, body, actor=actor, now=now),
        lambda c, now: actions.do_answer(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/callback", response_model=ComplaintOut)
def callback(complaint_id: int, body: CallbackIn, session: DbSession, actor: Handler) -> ComplaintOut:
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_callback(c, body, actor=actor, now=now),
        lambda c, now: actions.do_callback(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/review-request", response_model=ComplaintOut)
def review_request(
    complaint_id: int, body: ReviewRequestIn, session: DbSession, actor: Handler
) -> ComplaintOut:
    """The complainant asks for a review: 422 after the 30-day window."""
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_review_request(c, body, actor=actor, now=now),
        lambda c, now: actions.do_review_request(session, c, body, actor=actor, now=now),
    )


@router.post("/{complaint_id}/review-decision", response_model=ComplaintOut)
def review_decision(
    complaint_id: int, body: ReviewDecisionIn, session: DbSession, actor: Handler
) -> ComplaintOut:
    return _handle(
        session,
        complaint_id,
        actor,
        lambda c, now: actions.check_review_decision(c, body, actor=actor, now=now),
        lambda c, now: actions.do_review_decision(session, c, body, actor=actor, now=now),
    )
