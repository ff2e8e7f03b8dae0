"""The only code that writes complaints. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and records its audit entry there.

Every step re-evaluates the complaint's clocks against the complaint pack (`refresh`): a clock newly
breached is recorded as a breach, which is never deleted. A substantiated finding appends a deduction
to the supervision quality ledger (`scores.do_add_deduction`), citing the complaint; the officer's
appeal then follows the ledger's appeal path.

An extension of the handling period goes through supervision's approvals queue, the one way to
approve: the handler files the request naming the approver (`check_extension_request` /
`do_extension_request`); the approver approves or refuses it in the queue, which hands the approval
back to this package through the handler `install` registers (`approvals.register_kind`). Only then
is the extension step written and the clock moved on, checked again at that moment.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pingan.command import classify
from pingan.command import queries as command_queries
from pingan.core import audit, events
from pingan.core.auth import User
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.i18n import N_
from pingan.core.org import stations_by_code
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from pingan.core.schemas import MAX_ROW_ID
from pingan.core.scoping import check_station
from pingan.core.settings import get_settings
from pingan.supervision import approvals, scores
from pingan.supervision.choices import RequestKind, RequestState
from pingan.supervision.complaints import rules
from pingan.supervision.complaints.choices import (
    ComplaintStatus,
    Finding,
    StepKind,
    SubjectKind,
)
from pingan.supervision.complaints.model import (
    Complaint,
    ComplaintAttachment,
    ComplaintBreach,
    ComplaintLink,
    ComplaintStep,
)
from pingan.supervision.complaints.pack import ComplaintPack, in_force
from pingan.supervision.complaints.schemas import (
    AcceptIn,
    AnswerIn,
    AssignIn,
    CallbackIn,
    ComplaintIn,
    ExtensionRequestIn,
    FindingIn,
    NoteIn,
    ReviewDecisionIn,
    ReviewRequestIn,
)
from pingan.supervision.model import ApprovalRequest, SupervisionCase

# Complaints are registered at the counter, by the 12345 and 110 desks and by officers; they are
# handled by supervisors and the legal-supervision office (法制员), and read by them and the auditors.
# An officer does not read complaints: the complainant is protected from the officer complained of.
INTAKE_ROLES = frozenset({Role.LEGAL_SUPERVISOR, Role.SUPERVISOR, Role.DISPATCHER, Role.OFFICER, Role.SYSTEM})
HANDLERS = frozenset({Role.LEGAL_SUPERVISOR, Role.SUPERVISOR, Role.SYSTEM})
READERS = frozenset({Role.LEGAL_SUPERVISOR, Role.SUPERVISOR, Role.AUDITOR})
APPROVER_ROLES = frozenset({Role.SUPERVISOR, Role.LEGAL_SUPERVISOR})
HANDLING_RULE = "petition.handling"
HANDLING_EXTENSION = "complex"
REVIEW_WINDOW_RULE = "petition.review_window"
# Points a finding takes from the quality ledger: a policy choice of the bureau, not a statute.
FINDING_POINTS = {Finding.SUBSTANTIATED: 5, Finding.PARTLY: 2}
FUTURE_SKEW = timedelta(minutes=5)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "application/pdf": (b"%PDF", ".pdf"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
    "text/plain": (b"", ".txt"),
}
OPEN = frozenset({ComplaintStatus.RECEIVED, ComplaintStatus.ACCEPTED, ComplaintStatus.UNDER_REVIEW})
EVENT_RECEIVED = "supervision.complaint_received"
EVENT_BREACH = "supervision.complaint_breach_recorded"
CATEGORIES_FILE = Path(__file__).resolve().parent / "categories.toml"


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


def _user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _when(at: datetime, now: datetime, *, not_before: datetime | None, what: str) -> None:
    if at > now + FUTURE_SKEW:
        raise Invalid("is in the future", field="at")
    if not_before is not None and at < not_before:
        raise Invalid(f"is before {what} ({not_before.isoformat()})", field="at")


# ------------------------------------------------------------------------------------------ intake


@dataclass(frozen=True)
class Subject:
    """What a complaint is about, resolved: its station and the officer concerned, where there is one."""

    station_code: str
    officer: str | None
    case_id: int | None = None


def resolve_subject(session: Session, kind: SubjectKind, ref: str) -> Subject:
    """The subject's station and officer; Invalid naming `subject_ref` when it does not exist."""
    ref = ref.strip()
    if kind is SubjectKind.OFFICER:
        user = _user(session, ref)
        if user is None or user.role not in {
            Role.OFFICER,
            Role.SUPERVISOR,
            Role.TRAFFIC_POLICE,
            Role.DISPATCHER,
        }:
            raise Invalid(f"no officer {ref!r}", field="subject_ref")
        if user.station_code is None:
            raise Invalid(f"officer {ref!r} has no station", field="subject_ref")
        return Subject(user.station_code, user.username)
    if kind is SubjectKind.UNIT:
        if ref not in stations_by_code(session, {ref}):
            raise Invalid(f"no unit {ref!r}", field="subject_ref")
        return Subject(ref, None)
    if not ref.isdigit() or not 1 <= int(ref) <= MAX_ROW_ID:
        raise Invalid(f"{kind.value} is named by its number, not {ref!r}", field="subject_ref")
    if kind is SubjectKind.INCIDENT:
        incident = command_queries.incident_detail(session, int(ref))
        if incident is None:
            raise Invalid(f"no 110 incident {ref}", field="subject_ref")
        if incident.station_code is None:
            raise Invalid(f"110 incident {ref} has no station: name the unit instead", field="subject_ref")
        return Subject(incident.station_code, None)
    case = session.get(SupervisionCase, int(ref))
    if case is None:
        raise Invalid(f"no case {ref}", field="subject_ref")
    return Subject(case.station_code, case.officer, case.id)


@lru_cache(maxsize=1)
def category_model() -> tuple[classify.TextModel, dict[str, str]]:
    """The command platform's text classifier trained on the complaint categories' examples, once."""
    data = tomllib.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))
    texts = [t for v in data.values() for t in v["examples"]]
    labels = [k for k, v in data.items() for _ in v["examples"]]
    model = classify.train(texts, labels, min_df=1, steps=200)
    return model, {k: v["zh"] for k, v in data.items()}


def categories() -> dict[str, str]:
    """The complaint categories, code → Chinese name."""
    return category_model()[1]


def suggest_category(text: str) -> classify.Classification:
    """The classifier's suggested category for a complaint's text."""
    return category_model()[0].classify(text)


def check_intake(session: Session, data: ComplaintIn, *, actor: Actor, now: datetime) -> Subject:
    """Who may register, the subject exists, the complainant can be told apart, the time is sane."""
    _authorise(actor, INTAKE_ROLES, "register a complaint")
    if data.received_at > now + FUTURE_SKEW:
        raise Invalid("is in the future", field="received_at")
    if not (data.complainant_phone or data.complainant_id_number):
        raise Invalid(
            "give the complainant's phone or ID number, to answer and to find repeats",
            field="complainant_phone",
        )
    if data.category and data.category not in categories():
        raise Invalid(f"unknown category {data.category!r}", field="category")
    # Validate the identifiers now, so that the error names the field before anything is written.
    if data.complainant_phone:
        protect(PiiKind.PHONE, data.complainant_phone, field="complainant_phone")
    if data.complainant_id_number:
        protect(PiiKind.NATIONAL_ID, data.complainant_id_number, field="complainant_id_number")
    protect(PiiKind.NAME, data.complainant_name, field="complainant_name")
    return resolve_subject(session, data.subject_kind, data.subject_ref)


def earlier_for(session: Session, phone: str, id_number: str, data: ComplaintIn) -> list[rules.Earlier]:
    """Earlier complaints by the same complainant (phone or ID number, by pseudonym) or on the same
    subject, within the look-back."""
    since = data.received_at - rules.LOOKBACK
    who = [
        (Complaint.subject_kind == data.subject_kind) & (Complaint.subject_ref == data.subject_ref.strip())
    ]
    if phone:
        who.append(Complaint.complainant_phone.pseudonym == phone)
    if id_number:
        who.append(Complaint.complainant_id.pseudonym == id_number)
    q = select(Complaint).where(
        Complaint.received_at >= since, Complaint.received_at <= data.received_at, or_(*who)
    )
    return [
        rules.Earlier(
            c.id,
            c.complainant_phone.pseudonym if c.complainant_phone else "",
            c.complainant_id.pseudonym if c.complainant_id else "",
            c.subject_kind,
            c.subject_ref,
            c.text,
            c.received_at,
        )
        for c in session.scalars(q.order_by(Complaint.id))
    ]


def do_intake(
    session: Session, data: ComplaintIn, subject: Subject, *, actor: Actor, now: datetime
) -> Complaint:
    """Register the complaint, suggest its category, link it to earlier ones and start its clocks."""
    phone = (
        protect(PiiKind.PHONE, data.complainant_phone, field="complainant_phone")
        if data.complainant_phone
        else None
    )
    id_number = (
        protect(PiiKind.NATIONAL_ID, data.complainant_id_number, field="complainant_id_number")
        if data.complainant_id_number
        else None
    )
    key = id_number.pseudonym if id_number is not None else phone.pseudonym if phone is not None else ""
    suggestion = suggest_category(data.text)
    phone_key = phone.pseudonym if phone is not None else ""
    id_key = id_number.pseudonym if id_number is not None else ""
    earlier = earlier_for(session, phone_key, id_key, data)
    complaint = Complaint(
        channel=data.channel,
        external_ref=data.external_ref,
        received_at=data.received_at,
        complainant_name=protect(PiiKind.NAME, data.complainant_name).sealed,
        complainant_phone=phone,
        complainant_id=id_number,
        complainant_key=key,
        subject_kind=data.subject_kind,
        subject_ref=data.subject_ref.strip(),
        station_code=subject.station_code,
        officer=subject.officer,
        category=data.category or suggestion.label,
        suggested_category=suggestion.label,
        suggested_confidence=suggestion.confidence,
        text=data.text,
        status=ComplaintStatus.RECEIVED,
        created_by=actor.username,
    )
    session.add(complaint)
    session.flush()
    links = rules.find_links(
        phone_key, id_key, data.subject_kind, complaint.subject_ref, data.text, data.received_at, earlier
    )
    for link in links:
        session.add(
            ComplaintLink(
                complaint_id=complaint.id,
                earlier_id=link.earlier_id,
                reasons=",".join(r.value for r in link.reasons),
                similarity=link.similarity,
                repeat=link.repeat,
            )
        )
    complaint.is_repeat = any(link.repeat for link in links)
    _step(
        session,
        complaint,
        StepKind.RECEIVED,
        data.received_at,
        actor=actor,
        now=now,
        value=data.channel.value,
    )
    audit.record(
        session,
        actor=actor,
        action="supervision.complaint_received",
        object_type="complaint",
        object_id=complaint.id,
        detail={
            "channel": data.channel.value,
            "subject": f"{data.subject_kind.value}:{complaint.subject_ref}",
            "links": [link.earlier_id for link in links],
        },
    )
    refresh(session, complaint, now=now)
    events.emit(session, EVENT_RECEIVED, complaint_id=complaint.id, station_code=complaint.station_code)
    return complaint


def check_attachment(content: bytes, content_type: str, *, actor: Actor) -> str:
    """The file suffix of a valid attachment; Invalid naming `file` if empty, too large or of another type."""
    _authorise(actor, INTAKE_ROLES | HANDLERS, "attach a file to a complaint")
    if not content:
        raise Invalid("the file is empty", field="file")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Invalid(f"a file may be {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB at most", field="file")
    kind = ATTACHMENT_TYPES.get(content_type)
    if kind is None or not content.startswith(kind[0]):
        raise Invalid("an attachment is a PDF, JPEG, PNG or plain-text file", field="file")
    return kind[1]


def attachment_dir() -> Path:
    """Where attachments are stored, under the data directory, each under its SHA-256."""
    return get_settings().data_dir / "complaint_attachments"


def do_add_attachment(
    session: Session,
    complaint: Complaint,
    content: bytes,
    content_type: str,
    filename: str,
    suffix: str,
    *,
    actor: Actor,
    now: datetime,
) -> ComplaintAttachment:
    """Store the file once under its SHA-256 (as the property ledger stores photos) and record it."""
    digest = hashlib.sha256(content).hexdigest()
    relative = Path(digest[:2]) / f"{digest}{suffix}"
    target = attachment_dir() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(target)
    row = ComplaintAttachment(
        complaint_id=complaint.id,
        sha256=digest,
        path=relative.as_posix(),
        filename=Path(filename).name[:200] or f"attachment{suffix}",
        size=len(content),
        content_type=content_type,
        added_by=actor.username,
        added_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.complaint_attachment_added",
        object_type="complaint",
        object_id=complaint.id,
        detail={"attachment_id": row.id, "sha256": digest, "size": len(content)},
    )
    return row


def attachment_bytes(row: ComplaintAttachment) -> bytes:
    """The stored file, checked against its hash; Conflict if it was changed or lost."""
    target = attachment_dir() / row.path
    if not target.is_file():
        raise Conflict(f"the file of attachment {row.id} is missing from the store", field="id")
    content = target.read_bytes()
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise Conflict(f"the file of attachment {row.id} does not match its SHA-256", field="id")
    return content


# ----------------------------------------------------------------------------------------- handling


def get_complaint(session: Session, complaint_id: int, *, actor: Actor) -> Complaint:
    """A complaint in the actor's view, or NotFound."""
    complaint = session.get(Complaint, complaint_id) if 1 <= complaint_id <= MAX_ROW_ID else None
    if complaint is None:
        raise NotFound("no complaint", field="id")
    check_station(actor, complaint.station_code, what="complaint")
    return complaint


def _status(complaint: Complaint, allowed: Sequence[ComplaintStatus], what: str) -> None:
    if complaint.status not in allowed:
        raise Conflict(f"a complaint {complaint.status.value} cannot be {what}", field="status")


def _step(
    session: Session,
    complaint: Complaint,
    kind: StepKind,
    at: datetime,
    *,
    actor: Actor,
    now: datetime,
    value: str = "",
    note: str = "",
    rule_id: str | None = None,
    extension_id: str | None = None,
    approved_by: str | None = None,
    by: str | None = None,
) -> ComplaintStep:
    """Append a step to the timeline (append-only: written once); `by` names who took it when that is
    not `actor` (an approved request's requester)."""
    step = ComplaintStep(
        complaint_id=complaint.id,
        kind=kind,
        at=at,
        actor=by or actor.username,
        value=value,
        note=note,
        rule_id=rule_id,
        extension_id=extension_id,
        approved_by=approved_by,
        recorded_at=now,
    )
    session.add(step)
    session.flush()
    if step not in complaint.steps:  # a timeline loaded before the flush lacks the new step
        complaint.steps.append(step)
    return step


def _record(
    session: Session, complaint: Complaint, kind: StepKind, *, actor: Actor, now: datetime, **detail: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"supervision.complaint_{kind.value}",
        object_type="complaint",
        object_id=complaint.id,
        detail={k: str(v) for k, v in detail.items()},
    )
    refresh(session, complaint, now=now)


def check_accept(complaint: Complaint, data: AcceptIn, *, actor: Actor, now: datetime) -> None:
    _authorise(actor, HANDLERS, "decide on accepting a complaint")
    _status(complaint, [ComplaintStatus.RECEIVED], "accepted or refused")
    _when(data.at, now, not_before=complaint.received_at, what="the complaint was received")
    if not data.accept and len(data.note.strip()) < 2:
        raise Invalid("a refusal gives its reason", field="note")


def do_accept(
    session: Session, complaint: Complaint, data: AcceptIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Accept the complaint (受理), which starts the 60-day handling clock, or refuse it with the reason."""
    kind = StepKind.ACCEPTED if data.accept else StepKind.NOT_ACCEPTED
    _step(session, complaint, kind, data.at, actor=actor, now=now, note=data.note)
    complaint.status = ComplaintStatus.ACCEPTED if data.accept else ComplaintStatus.NOT_ACCEPTED
    complaint.accepted_at = data.at if data.accept else None
    _record(session, complaint, kind, actor=actor, now=now, at=data.at.isoformat())
    return complaint


def check_assign(
    session: Session, complaint: Complaint, data: AssignIn, *, actor: Actor, now: datetime
) -> None:
    _authorise(actor, HANDLERS, "assign a complaint")
    _status(complaint, [ComplaintStatus.ACCEPTED, ComplaintStatus.UNDER_REVIEW], "assigned")
    _when(data.at, now, not_before=complaint.accepted_at, what="the complaint was accepted")
    if data.station_code not in stations_by_code(session, {data.station_code}):
        raise Invalid(f"no unit {data.station_code!r}", field="station_code")


def do_assign(
    session: Session, complaint: Complaint, data: AssignIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Assign the complaint to a unit to investigate."""
    _step(
        session,
        complaint,
        StepKind.ASSIGNED,
        data.at,
        actor=actor,
        now=now,
        value=data.station_code,
        note=data.note,
    )
    complaint.assigned_station = data.station_code
    _record(session, complaint, StepKind.ASSIGNED, actor=actor, now=now, station=data.station_code)
    return complaint


def check_note(complaint: Complaint, data: NoteIn, *, actor: Actor, now: datetime) -> None:
    _authorise(actor, HANDLERS, "write an investigation note")
    _status(complaint, [ComplaintStatus.ACCEPTED, ComplaintStatus.UNDER_REVIEW], "noted")
    _when(data.at, now, not_before=complaint.accepted_at, what="the complaint was accepted")


def do_note(
    session: Session, complaint: Complaint, data: NoteIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Append an investigation note to the timeline."""
    _step(session, complaint, StepKind.NOTE, data.at, actor=actor, now=now, note=data.note)
    _record(session, complaint, StepKind.NOTE, actor=actor, now=now)
    return complaint


def check_finding(
    session: Session, complaint: Complaint, data: FindingIn, *, actor: Actor, now: datetime
) -> None:
    _authorise(actor, HANDLERS, "record a finding")
    _status(complaint, [ComplaintStatus.ACCEPTED], "given a finding")
    if complaint.finding is not None:
        raise Conflict("the finding is recorded already", field="finding")
    _when(data.at, now, not_before=complaint.accepted_at, what="the complaint was accepted")
    if data.officer and _user(session, data.officer) is None:
        raise Invalid(f"no officer {data.officer!r}", field="officer")


def do_finding(
    session: Session, complaint: Complaint, data: FindingIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Record the finding and root cause; a substantiated one appends a deduction to the quality ledger."""
    _step(
        session,
        complaint,
        StepKind.FINDING,
        data.at,
        actor=actor,
        now=now,
        value=data.finding.value,
        note=data.note,
    )
    complaint.finding = data.finding
    complaint.root_cause = data.root_cause
    if data.officer:
        complaint.officer = data.officer
    points = FINDING_POINTS.get(data.finding)
    if points is not None:
        case_id = int(complaint.subject_ref) if complaint.subject_kind is SubjectKind.CASE else None
        scores.do_add_deduction(
            session,
            scores.DeductionIn(
                source=f"complaint:{complaint.id}",
                station_code=complaint.station_code,
                officer=complaint.officer or "",
                rule_id=f"complaint.{data.finding.value}",
                month=scores.month_of(data.at),
                points=-points,
                reason=f"complaint {complaint.id} found {data.finding.value} ({data.root_cause.value})",
                case_id=case_id,
            ),
            actor=actor,
            now=now,
        )
    _record(
        session,
        complaint,
        StepKind.FINDING,
        actor=actor,
        now=now,
        finding=data.finding.value,
        root_cause=data.root_cause.value,
    )
    return complaint


def _check_handling_extendable(complaint: Complaint, at: datetime, *, pack: ComplaintPack | None) -> None:
    """The handling clock runs at `at`, was not extended, and has not run out (422; 409 extended)."""
    _status(complaint, [ComplaintStatus.ACCEPTED], "extended")
    clocks = rules.evaluate(step_list(complaint), pack or in_force(), at=at)
    clock = rules.running_clock(clocks, HANDLING_RULE)
    if clock is None:
        raise Invalid("no handling period runs to extend", field="at")
    if HANDLING_EXTENSION in clock.extensions:
        raise Conflict("the handling period was extended already", field="approver")
    if at > clock.due_at:
        raise Invalid(f"the handling period ran out at {clock.due_at.isoformat()}", field="at")


def extension_ref(complaint_id: int) -> str:
    """What the approvals queue calls a complaint's extension request about."""
    return f"complaint:{complaint_id}"


def check_extension_request(
    session: Session,
    complaint: Complaint,
    data: ExtensionRequestIn,
    *,
    actor: Actor,
    now: datetime,
    pack: ComplaintPack | None = None,
) -> None:
    """A request to extend goes to an active supervisor or legal supervisor other than its requester
    (403 otherwise), while the handling clock runs, once, and before it runs out (422; 409 when
    extended already or a request awaits its decision)."""
    _authorise(actor, HANDLERS, "request an extension")
    if not data.approver:
        raise Forbidden("an extension needs an approver", field="approver")
    if data.approver == actor.username:
        raise Forbidden("an extension is not approved by its requester (self-approval)", field="approver")
    approver = _user(session, data.approver)
    if approver is None or not approver.active or approver.role not in APPROVER_ROLES:
        raise Forbidden(
            f"{data.approver!r} is not an active supervisor or legal supervisor", field="approver"
        )
    _check_handling_extendable(complaint, now, pack=pack)
    for req in approvals.requests_about(session, extension_ref(complaint.id)):
        if req.state is RequestState.PENDING:
            raise Conflict(
                f"request #{req.id} to extend awaits the decision of {req.approver}", field="approver"
            )


def do_extension_request(
    session: Session, complaint: Complaint, data: ExtensionRequestIn, *, actor: Actor, now: datetime
) -> ApprovalRequest:
    """File the request in the approvals queue (audited there); the clock moves only when approved."""
    assert data.approver is not None  # checked: an extension names its approver
    return approvals.file_request(
        session,
        kind=RequestKind.COMPLAINT_EXTENSION,
        ref=extension_ref(complaint.id),
        station_code=complaint.station_code,
        approver=data.approver,
        summary=f"complaint {complaint.id}: handling period +30 days",
        payload={"complaint_id": complaint.id, "extension_id": HANDLING_EXTENSION},
        grounds=data.reason,
        actor=actor,
        now=now,
    )


def _requested(session: Session, req: ApprovalRequest) -> Complaint:
    complaint_id = int(json.loads(req.payload)["complaint_id"])
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("no complaint", field="id")
    return complaint


def _check_approved_extension(session: Session, req: ApprovalRequest, actor: Actor, now: datetime) -> None:
    """At the approval: the approver may still approve, and the handling clock can still be extended."""
    approver = _user(session, actor.username)
    if approver is None or not approver.active or approver.role not in APPROVER_ROLES:
        raise Forbidden(f"{actor.username!r} is not an active supervisor or legal supervisor", field="id")
    _check_handling_extendable(_requested(session, req), now, pack=None)


def _apply_approved_extension(session: Session, req: ApprovalRequest, actor: Actor, now: datetime) -> None:
    """Write the extension step, asked by the requester and approved by the decider, dated now: the
    handling clock runs 30 days longer from here (the reason is the one the complainant is told)."""
    complaint = _requested(session, req)
    _step(
        session,
        complaint,
        StepKind.EXTENSION,
        now,
        actor=actor,
        now=now,
        note=req.grounds,
        rule_id=HANDLING_RULE,
        extension_id=HANDLING_EXTENSION,
        approved_by=actor.username,
        by=req.requested_by,  # who asked for it; the approver is beside it
    )
    _record(
        session,
        complaint,
        StepKind.EXTENSION,
        actor=actor,
        now=now,
        requested_by=req.requested_by,
        approved_by=actor.username,
        request_id=req.id,
    )


def install() -> None:
    """Let the approvals queue decide complaint extensions, and name the findings' deduction rules
    (idempotent; web/reactions.py)."""
    scores.register_rule(f"complaint.{Finding.SUBSTANTIATED.value}", N_("complaint found substantiated"))
    scores.register_rule(f"complaint.{Finding.PARTLY.value}", N_("complaint found partly substantiated"))
    approvals.register_kind(
        RequestKind.COMPLAINT_EXTENSION,
        approvals.KindHandler(
            deciders=APPROVER_ROLES,
            check=_check_approved_extension,
            apply=_apply_approved_extension,
            href=lambda ref: f"/complaints/{ref.removeprefix('complaint:')}",
        ),
    )


def check_answer(complaint: Complaint, data: AnswerIn, *, actor: Actor, now: datetime) -> None:
    _authorise(actor, HANDLERS, "answer a complaint")
    _status(complaint, [ComplaintStatus.ACCEPTED], "answered")
    assert complaint.accepted_at is not None  # an accepted complaint has its time
    _when(data.at, now, not_before=complaint.accepted_at, what="the complaint was accepted")
    if complaint.finding is None:
        raise Invalid("record the finding before the answer", field="finding")


def do_answer(
    session: Session, complaint: Complaint, data: AnswerIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Give the written answer (书面答复); it meets the handling clock and opens the review window."""
    _step(session, complaint, StepKind.ANSWERED, data.at, actor=actor, now=now, note=data.text)
    complaint.answer = data.text
    complaint.answered_at = data.at
    complaint.status = ComplaintStatus.ANSWERED
    _record(session, complaint, StepKind.ANSWERED, actor=actor, now=now, at=data.at.isoformat())
    return complaint


def check_callback(complaint: Complaint, data: CallbackIn, *, actor: Actor, now: datetime) -> None:
    _authorise(actor, HANDLERS, "record a call-back")
    _status(
        complaint,
        [ComplaintStatus.ANSWERED, ComplaintStatus.UNDER_REVIEW, ComplaintStatus.CLOSED],
        "called back",
    )
    if complaint.callback_result is not None:
        raise Conflict("the call-back is recorded already", field="result")
    _when(data.at, now, not_before=complaint.answered_at, what="the answer")


def do_callback(
    session: Session, complaint: Complaint, data: CallbackIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Record the satisfaction call-back (回访) and its result."""
    _step(
        session,
        complaint,
        StepKind.CALLBACK,
        data.at,
        actor=actor,
        now=now,
        value=data.result.value,
        note=data.note,
    )
    complaint.callback_result = data.result
    _record(session, complaint, StepKind.CALLBACK, actor=actor, now=now, result=data.result.value)
    return complaint


def check_review_request(
    complaint: Complaint,
    data: ReviewRequestIn,
    *,
    actor: Actor,
    now: datetime,
    pack: ComplaintPack | None = None,
) -> None:
    """A review is requested within the 30-day window after the answer (422 after it)."""
    _authorise(actor, HANDLERS | INTAKE_ROLES, "record a review request")
    _status(complaint, [ComplaintStatus.ANSWERED], "reviewed")
    _when(data.at, now, not_before=complaint.answered_at, what="the answer")
    window = rules.running_clock(
        rules.evaluate(step_list(complaint), pack or in_force(), at=data.at), REVIEW_WINDOW_RULE
    )
    if window is None or data.at > window.due_at:
        due = window.due_at.isoformat() if window is not None else "the window"
        raise Invalid(f"the review window closed ({due})", field="at")


def do_review_request(
    session: Session, complaint: Complaint, data: ReviewRequestIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Record the complainant's review request (复查); it starts the 30-day review clock."""
    _step(session, complaint, StepKind.REVIEW_REQUESTED, data.at, actor=actor, now=now, note=data.note)
    complaint.status = ComplaintStatus.UNDER_REVIEW
    _record(session, complaint, StepKind.REVIEW_REQUESTED, actor=actor, now=now)
    return complaint


def check_review_decision(
    complaint: Complaint, data: ReviewDecisionIn, *, actor: Actor, now: datetime
) -> None:
    _authorise(actor, HANDLERS, "decide a review")
    _status(complaint, [ComplaintStatus.UNDER_REVIEW], "decided on review")
    requested = max((s.at for s in complaint.steps if s.kind is StepKind.REVIEW_REQUESTED), default=None)
    _when(data.at, now, not_before=requested, what="the review request")


def do_review_decision(
    session: Session, complaint: Complaint, data: ReviewDecisionIn, *, actor: Actor, now: datetime
) -> Complaint:
    """Record the review's decision; the complaint is closed."""
    _step(
        session,
        complaint,
        StepKind.REVIEW_DECIDED,
        data.at,
        actor=actor,
        now=now,
        value=data.outcome.value,
        note=data.note,
    )
    complaint.status = ComplaintStatus.CLOSED
    _record(session, complaint, StepKind.REVIEW_DECIDED, actor=actor, now=now, outcome=data.outcome.value)
    return complaint


# --------------------------------------------------------------------------------- clocks, breaches


def step_list(complaint: Complaint) -> list[rules.Step]:
    """The complaint's timeline as the clocks read it."""
    return [rules.Step(s.kind, s.at, s.rule_id, s.extension_id) for s in complaint.steps]


def refresh(
    session: Session, complaint: Complaint, *, now: datetime, pack: ComplaintPack | None = None
) -> tuple[rules.Clock, ...]:
    """Evaluate the complaint's clocks at `now` and record each newly breached one (a late step is noted)."""
    clocks = rules.evaluate(step_list(complaint), pack or in_force(), at=now)
    breached = [c for c in clocks if c.breached]
    if not breached:
        return clocks
    known = {
        (b.rule_id, b.started_at): b
        for b in session.scalars(select(ComplaintBreach).where(ComplaintBreach.complaint_id == complaint.id))
    }
    for c in breached:
        old = known.get((c.rule.id, c.started_at))
        if old is not None:
            if old.met_at is None and c.met_at is not None:
                old.met_at = c.met_at
            continue
        breach = ComplaintBreach(
            complaint_id=complaint.id,
            rule_id=c.rule.id,
            started_at=c.started_at,
            due_at=c.due_at,
            met_at=c.met_at,
            station_code=complaint.station_code,
            recorded_at=now,
        )
        session.add(breach)
        session.flush()
        audit.record(
            session,
            actor=Actor.system("supervision"),
            action="supervision.complaint_breach_recorded",
            object_type="complaint",
            object_id=complaint.id,
            detail={"rule_id": c.rule.id, "due_at": c.due_at.isoformat()},
        )
        events.emit(session, EVENT_BREACH, complaint_id=complaint.id, rule_id=c.rule.id)
    return clocks


def do_sweep(session: Session, *, now: datetime) -> int:
    """Re-evaluate every open or answered complaint and record the breaches; returns how many it read."""
    n = 0
    for complaint in session.scalars(
        select(Complaint)
        .where(Complaint.status.in_([*OPEN, ComplaintStatus.ANSWERED]))
        .order_by(Complaint.id)
    ):
        refresh(session, complaint, now=now)
        n += 1
    return n
