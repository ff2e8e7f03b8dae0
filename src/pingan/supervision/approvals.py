"""Requests for approval (审批): one user asks, a different user with the approver's role decides.

- **A step that needs a superior** (detention, arrest request, bail, residential surveillance,
  seizure, an extension: `actions.NEEDS_APPROVAL`): the case officer files it naming the approver; it
  is checked at once as the step would be, and queues on the approver's page. Approving it records the
  step in the case's log (requested by the filer, approved by the decider) through
  `actions.check_step`/`do_record_event`, checked again at that moment. Refusing it records the
  reason; the log is untouched. This is the only way such a step enters the log: recording it
  directly is refused (403).
- **The return or disposal of a seized item** (发还, 处置): the case officer or the custodian files it
  naming the approver, who may be neither the filer nor the item's custodian. Approving it lets the
  custodian release or dispose of the item (`ledger.check_close` looks for the approved request);
  without one, the release is refused (409). The approval is valid for `property_approval_valid_days`
  (a local policy setting, stored on the request as `expires_at` when approved): past it the approval
  has lapsed and the custodian's step is refused (409); carrying it out uses it (`used`), once.
- **A request of a kind another package owns** (a complaint's handling-period extension, 延期): that
  package checks and files it here (`file_request`, with a `ref` such as `complaint:12` and the
  approver it names) and registers a `KindHandler` for its kind (`register_kind`, installed with the
  reactions in `web/reactions.py`). Deciding it dispatches by kind: the handler's roles decide, only
  the named approver, and approving runs the handler's check again and then its write, in the
  deciding transaction. The queue thus reaches that package without importing it (the package sits
  above the queue and files through it), and a refusal by the check rolls the approval back.
- **An appeal on a quality deduction** (申诉): a user of the station files it with the points asked
  back and the grounds; it queues for the legal-supervision office. Approving it writes the appeal
  decision through `scores.check_appeal`/`do_appeal`: a new entry, the deduction unchanged.

Deciding one's own request is refused (403), as is deciding a step named for another approver. A
request is decided once (409). Its requester may withdraw it, with the reason, while it is pending, or
once approved to return or dispose of an item until the custodian uses it or it lapses. Filing,
deciding and withdrawing are audited in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station
from pingan.core.settings import get_settings
from pingan.supervision import actions, scores
from pingan.supervision.choices import (
    CaseStatus,
    DeductionKind,
    PropertyState,
    RequestKind,
    RequestStanding,
    RequestState,
)
from pingan.supervision.model import ApprovalRequest, PropertyItem, QualityEntry, SupervisionCase
from pingan.supervision.rules import BEIJING
from pingan.supervision.schemas import EventIn, PropertyRequestIn, StepRequestIn

FILERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR})
# The requests a named approver decides (an appeal goes to the legal-supervision office as a whole).
NAMED_APPROVER = frozenset({RequestKind.STEP, RequestKind.RELEASE, RequestKind.DISPOSAL})
PROPERTY_KINDS = {"release": RequestKind.RELEASE, "disposal": RequestKind.DISPOSAL}
# The item's state each property request ends in.
CLOSES_TO = {RequestKind.RELEASE: PropertyState.RELEASED, RequestKind.DISPOSAL: PropertyState.DISPOSED}
VERB = {RequestKind.RELEASE: "release", RequestKind.DISPOSAL: "dispose of"}
OPEN_ITEM = frozenset({PropertyState.REGISTERED, PropertyState.IN_STORE, PropertyState.CHECKED_OUT})


def approval_validity() -> timedelta:
    """How long an approval to return or dispose of seized property stays valid (a policy setting)."""
    return timedelta(days=get_settings().property_approval_valid_days)


def standing(req: ApprovalRequest, now: datetime) -> RequestStanding:
    """How the request reads at `now`: its state, except that an approval past its `expires_at` has
    lapsed. Valid through `expires_at` itself; one second later it has lapsed. Pure."""
    if req.state is RequestState.APPROVED and req.expires_at is not None and now > req.expires_at:
        return RequestStanding.LAPSED
    return RequestStanding(req.state.value)


def _bj(at: datetime | None) -> str:
    return f"{at.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}" if at is not None else ""


def _audit(session: Session, actor: Actor, action: str, req: ApprovalRequest, **detail: object) -> None:
    ref = {"ref": req.ref} if req.ref else {}
    audit.record(
        session,
        actor=actor,
        action=f"supervision.request_{action}",
        object_type="supervision_request",
        object_id=req.id,
        detail={"kind": req.kind.value, "case_id": req.case_id, **ref, **detail},
    )


# ------------------------------------------------------------------- kinds other packages own

# (session, request, the deciding actor, now): raises a DomainError to refuse, or writes.
KindStep = Callable[[Session, ApprovalRequest, Actor, datetime], None]


@dataclass(frozen=True)
class KindHandler:
    """How the queue decides a request of a kind another package owns: the roles that decide it (only
    the approver it names), the check made again when it is approved, the write an approval makes, and
    the page the request is about (`href`)."""

    deciders: frozenset[Role]
    check: KindStep
    apply: KindStep
    href: Callable[[str], str]


_kinds: dict[RequestKind, KindHandler] = {}


def register_kind(kind: RequestKind, handler: KindHandler) -> None:
    """Let the queue decide requests of `kind` through `handler` (idempotent: the latest one counts)."""
    if kind in (RequestKind.STEP, RequestKind.APPEAL, *CLOSES_TO):
        raise ValueError(f"requests of kind {kind.value} are decided by the queue itself")
    _kinds[kind] = handler


def _kind_handler(kind: RequestKind) -> KindHandler:
    handler = _kinds.get(kind)
    if handler is None:  # the process did not install the reactions (web/reactions.py)
        raise Unavailable(f"requests of kind {kind.value} cannot be decided here", field="id")
    return handler


def href_of(req: ApprovalRequest) -> str | None:
    """The page a request is about: its case, or the page its kind's handler names."""
    if req.case_id is not None:
        return f"/supervision/cases/{req.case_id}"
    handler = _kinds.get(req.kind)
    return handler.href(req.ref) if handler is not None and req.ref else None


def file_request(
    session: Session,
    *,
    kind: RequestKind,
    ref: str,
    station_code: str,
    approver: str,
    summary: str,
    payload: dict[str, object],
    grounds: str,
    actor: Actor,
    now: datetime,
) -> ApprovalRequest:
    """File a request of a registered kind, checked by its package first; it waits on the named
    approver's page. Caller holds the transaction; the filing is audited there."""
    _kind_handler(kind)
    req = ApprovalRequest(
        kind=kind,
        state=RequestState.PENDING,
        case_id=None,
        ref=ref,
        station_code=station_code,
        payload=json.dumps(payload, ensure_ascii=False),
        summary=summary[:200],
        approver=approver,
        requested_by=actor.username,
        requested_at=now,
        grounds=grounds,
        decision_reason="",
    )
    session.add(req)
    session.flush()
    _audit(session, actor, "filed", req, approver=approver)
    return req


def requests_about(session: Session, ref: str) -> Sequence[ApprovalRequest]:
    """The requests filed about `ref` (`complaint:12`), oldest first."""
    return session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.ref == ref).order_by(ApprovalRequest.id)
    ).all()


# ------------------------------------------------------------------------------------------- filing


def check_request_step(
    session: Session, case: SupervisionCase, data: StepRequestIn, *, actor: Actor, now: datetime
) -> None:
    """A step that needs approval, to an approver other than the filer, that could be recorded as it stands."""
    actions._authorise(actor, FILERS, "request an approval")
    if data.kind not in actions.NEEDS_APPROVAL:
        raise Invalid(f"a {data.kind.value} needs no approval: record it directly", field="kind")
    actions.check_step(session, case, step_of(data), actor=actor, now=now, approved_by=data.approver)


def step_of(data: StepRequestIn) -> EventIn:
    """The step a request asks for, without its approver."""
    return EventIn.model_validate(data.model_dump(exclude={"approver"}))


def _stored_step(req: ApprovalRequest) -> EventIn:
    """The step a stored request asks for (a request filed before 0036 kept its approver in the step)."""
    raw = json.loads(req.payload)
    for key in ("approver", "approved_by"):
        raw.pop(key, None)
    return EventIn.model_validate(raw)


def do_request_step(
    session: Session, case: SupervisionCase, data: StepRequestIn, *, actor: Actor, now: datetime
) -> ApprovalRequest:
    """File the request; it waits on the named approver's page."""
    summary = data.kind.value + (f" {data.rule_id}/{data.extension_id}" if data.rule_id else "")
    req = ApprovalRequest(
        kind=RequestKind.STEP,
        state=RequestState.PENDING,
        case_id=case.id,
        station_code=case.station_code,
        payload=step_of(data).model_dump_json(),
        summary=summary[:200],
        approver=data.approver,
        requested_by=actor.username,
        requested_at=now,
        grounds=data.note,
        decision_reason="",
    )
    session.add(req)
    session.flush()
    _audit(session, actor, "filed", req, approver=data.approver, step=data.kind.value)
    return req


# --------------------------------------------------------------------------- seized property


def _open_requests(session: Session, item_id: int, now: datetime) -> list[ApprovalRequest]:
    """The item's requests still pending, or approved and not lapsed at `now`."""
    rows = session.scalars(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.item_id == item_id,
            ApprovalRequest.state.in_((RequestState.PENDING, RequestState.APPROVED)),
        )
        .order_by(ApprovalRequest.id)
    ).all()
    return [r for r in rows if standing(r, now) is not RequestStanding.LAPSED]


def check_request_property(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: PropertyRequestIn,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """A request to return or dispose of an item still held, once (409 while one is pending or approved
    and not lapsed), to an approver who is neither the filer nor the item's custodian (403)."""
    actions._authorise(actor, FILERS, "request the return or disposal of seized property")
    if case.status is not CaseStatus.OPEN:
        raise Conflict("the case is closed", field="id")
    if item.state not in OPEN_ITEM:
        raise Conflict(f"the item is {item.state.value} already", field="id")
    held = _open_requests(session, item.id, now)
    if held:
        raise Conflict(
            f"request #{held[0].id} to {VERB[held[0].kind]} this item is {held[0].state.value} already",
            field="kind",
        )
    actions.check_approver(session, data.approver, requester=actor.username, field="approver")
    if data.approver == item.custodian:
        # 办案与保管相分离: the keeper who hands the item out does not approve handing it out.
        raise Forbidden(
            f"{data.approver} is the custodian of the item and cannot approve its release or disposal",
            field="approver",
        )


def do_request_property(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: PropertyRequestIn,
    *,
    actor: Actor,
    now: datetime,
) -> ApprovalRequest:
    """File the request; it waits on the named approver's page. Caller holds the transaction."""
    kind = PROPERTY_KINDS[data.kind]
    req = ApprovalRequest(
        kind=kind,
        state=RequestState.PENDING,
        case_id=case.id,
        item_id=item.id,
        station_code=case.station_code,
        payload=json.dumps({"item": item.label}, ensure_ascii=False),
        summary=f"{kind.value} {item.label}"[:200],
        approver=data.approver,
        requested_by=actor.username,
        requested_at=now,
        grounds=data.grounds,
        decision_reason="",
    )
    session.add(req)
    session.flush()
    _audit(session, actor, "filed", req, approver=data.approver, item_id=item.id)
    return req


def approved_for(
    session: Session, item: PropertyItem, state: PropertyState, *, now: datetime
) -> ApprovalRequest:
    """The approved request, in force at `now`, to release or dispose of the item (`state`: where it
    ends); Conflict (409) naming why when there is none: none filed, one awaiting its decision, one for
    the other step, or the approval lapsed (valid through its `expires_at`) or already used."""
    wanted = next(k for k, v in CLOSES_TO.items() if v is state)
    requests = _open_requests(session, item.id, now)
    approved = [r for r in requests if r.kind is wanted and r.state is RequestState.APPROVED]
    if approved:
        return approved[-1]
    last = session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.item_id == item.id, ApprovalRequest.kind == wanted)
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    ).first()
    if (
        last is not None
        and last.state is RequestState.APPROVED
        and standing(last, now) is RequestStanding.LAPSED
    ):
        raise Conflict(
            f"the approval of request #{last.id} to {VERB[wanted]} this item lapsed at "
            f"{_bj(last.expires_at)} (Beijing time): send a new request",
            field="id",
        )
    if last is not None and last.state is RequestState.USED:
        raise Conflict(
            f"the approval of request #{last.id} to {VERB[wanted]} this item was used at "
            f"{_bj(last.used_at)} (Beijing time); an approval is used once",
            field="id",
        )
    pending = [r for r in requests if r.kind is wanted]
    if pending:
        raise Conflict(
            f"request #{pending[-1].id} to {VERB[wanted]} this item awaits the decision of "
            f"{pending[-1].approver}",
            field="id",
        )
    raise Conflict(
        f"no approved request to {VERB[wanted]} this item: send a request to a superior "
        f"(POST /api/v1/supervision/property/{item.id}/requests) and wait for the approval",
        field="id",
    )


def check_request_appeal(
    session: Session, entry: QualityEntry, points: int, grounds: str, *, actor: Actor
) -> None:
    """An appeal on a deduction of the filer's station, asking back 1 to the points taken, once."""
    actions._authorise(actor, FILERS, "appeal a deduction")
    check_station(actor, entry.station_code, what="deduction")
    if entry.kind is not DeductionKind.DEDUCTION:
        raise Invalid("an appeal is filed on a deduction", field="entry_id")
    if not 1 <= points <= -entry.points:
        raise Invalid(f"an appeal asks back 1 to {-entry.points} points", field="points")
    if len(grounds.strip()) < 5:
        raise Invalid("give the grounds of the appeal (5 characters at least)", field="grounds")
    decided = session.scalars(select(QualityEntry.id).where(QualityEntry.appeal_of == entry.id)).first()
    if decided is not None:
        raise Conflict("the appeal on this deduction is decided already", field="entry_id")
    pending = session.scalars(
        select(ApprovalRequest.id).where(
            ApprovalRequest.entry_id == entry.id, ApprovalRequest.state == RequestState.PENDING
        )
    ).first()
    if pending is not None:
        raise Conflict("an appeal on this deduction awaits its decision", field="entry_id")


def do_request_appeal(
    session: Session, entry: QualityEntry, points: int, grounds: str, *, actor: Actor, now: datetime
) -> ApprovalRequest:
    """File the appeal; it waits on the legal-supervision office's page."""
    req = ApprovalRequest(
        kind=RequestKind.APPEAL,
        state=RequestState.PENDING,
        case_id=entry.case_id,
        entry_id=entry.id,
        station_code=entry.station_code,
        payload=json.dumps({"points": points}),
        summary=f"{entry.rule_id} {entry.month} {entry.points}"[:200],
        approver=None,
        requested_by=actor.username,
        requested_at=now,
        grounds=grounds.strip(),
        decision_reason="",
    )
    session.add(req)
    session.flush()
    _audit(session, actor, "filed", req, entry_id=entry.id, points=points)
    return req


# ----------------------------------------------------------------------------------------- deciding


def get_request(session: Session, request_id: int, *, actor: Actor) -> ApprovalRequest:
    req = session.get(ApprovalRequest, request_id) if request_id > 0 else None
    if req is None:
        raise NotFound("no request", field="id")
    check_station(actor, req.station_code, what="request")
    return req


def check_decide(session: Session, req: ApprovalRequest, approve: bool, reason: str, *, actor: Actor) -> None:
    """Decided once, by someone other than the requester, with the approver's role; a step or a
    property request only by the approver it names, and a property request never by the item's
    custodian; a refusal with its reason."""
    if req.state is not RequestState.PENDING:
        raise Conflict(f"the request is {req.state.value} already", field="id")
    if actor.username == req.requested_by:
        raise Forbidden("the requester cannot decide their own request (self-approval)", field="id")
    if req.kind in NAMED_APPROVER or req.kind in _kinds:
        roles = _kinds[req.kind].deciders if req.kind in _kinds else actions.APPROVER_ROLES
        actions._authorise(actor, roles, "approve a request")
        if actor.username != req.approver:
            raise Forbidden(f"the request goes to {req.approver}", field="id")
    elif req.kind is not RequestKind.APPEAL:
        _kind_handler(req.kind)
    else:
        actions._authorise(actor, scores.APPEAL_DECIDERS, "decide an appeal")
    if req.kind in CLOSES_TO and req.item_id is not None:
        item = session.get_one(PropertyItem, req.item_id)
        if approve and actor.username == item.custodian:
            raise Forbidden(
                f"{actor.username} is the custodian of the item and cannot approve its release or disposal",
                field="id",
            )
        if approve and item.state not in OPEN_ITEM:
            raise Conflict(f"the item is {item.state.value} already", field="id")
    if not approve and len(reason.strip()) < 2:
        raise Invalid("a refusal gives its reason", field="reason")


def do_decide(
    session: Session, req: ApprovalRequest, approve: bool, reason: str, *, actor: Actor, now: datetime
) -> None:
    """Approve (the step is recorded, or the appeal's entry written, checked again now; a property
    request becomes the custodian's authority to release or dispose of the item) or refuse (the reason
    kept). Caller holds the transaction; a refusal by the step's checks rolls it all back."""
    if approve:
        if req.kind is RequestKind.STEP:
            assert req.case_id is not None  # a step is always filed on its case
            case = session.get_one(SupervisionCase, req.case_id)
            requester = actions._user(session, req.requested_by)
            if requester is None or not requester.active:
                raise Conflict(f"the requester {req.requested_by} is no longer active", field="id")
            data = _stored_step(req)
            actions.check_step(
                session, case, data, actor=requester.actor(), now=now, approved_by=actor.username
            )
            row = actions.do_record_event(
                session,
                case,
                data,
                actor=actor,
                now=now,
                requested_by=req.requested_by,
                approved_by=actor.username,
            )
            req.result_event_id = row.id
        elif req.kind is RequestKind.APPEAL:
            assert req.entry_id is not None
            entry = session.get_one(QualityEntry, req.entry_id)
            points = int(json.loads(req.payload)["points"])
            scores.check_appeal(session, entry, points, actor=actor)
            text = reason.strip() or req.grounds
            decision = scores.do_appeal(session, entry, points, text, actor=actor, now=now)
            req.result_entry_id = decision.id
        elif req.kind in CLOSES_TO:
            req.expires_at = now + approval_validity()
        else:
            handler = _kind_handler(req.kind)
            handler.check(session, req, actor, now)
            handler.apply(session, req, actor, now)
    req.state = RequestState.APPROVED if approve else RequestState.REFUSED
    req.decided_by, req.decided_at, req.decision_reason = actor.username, now, reason.strip()
    session.flush()
    extra = {"expires_at": req.expires_at.isoformat()} if approve and req.expires_at is not None else {}
    _audit(session, actor, "approved" if approve else "refused", req, reason=reason.strip(), **extra)


def mark_used(req: ApprovalRequest, *, now: datetime) -> None:
    """The custodian carried the approval out: it cannot be used again. Called by `ledger.do_close`
    in its transaction (which audits the step with the request's id)."""
    req.state = RequestState.USED
    req.used_at = now


# --------------------------------------------------------------------------------------- withdrawing


def check_withdraw(req: ApprovalRequest, reason: str, *, actor: Actor, now: datetime) -> None:
    """Only its requester withdraws a request (403), with the reason (422): while it is pending, or once
    approved to return or dispose of an item until the custodian uses it or it lapses (409 otherwise)."""
    if actor.username != req.requested_by:
        raise Forbidden(f"only the requester {req.requested_by} may withdraw the request", field="id")
    now_standing = standing(req, now)
    if now_standing is RequestStanding.LAPSED:
        raise Conflict(f"the approval lapsed at {_bj(req.expires_at)} (Beijing time) already", field="id")
    if now_standing is RequestStanding.APPROVED and req.kind not in CLOSES_TO:
        raise Conflict("the request is approved and carried out already", field="id")
    if now_standing not in (RequestStanding.PENDING, RequestStanding.APPROVED):
        raise Conflict(f"the request is {req.state.value} already", field="id")
    if len(reason.strip()) < 2:
        raise Invalid("a withdrawal gives its reason", field="reason")


def do_withdraw(session: Session, req: ApprovalRequest, reason: str, *, actor: Actor, now: datetime) -> None:
    """Withdraw it: it leaves the approver's queue, and an approval can no longer be carried out. The
    reason is kept and audited. Caller holds the transaction."""
    was = req.state.value
    req.state = RequestState.WITHDRAWN
    req.withdrawn_at, req.withdrawal_reason = now, reason.strip()
    session.flush()
    _audit(session, actor, "withdrawn", req, reason=reason.strip(), was=was)


# ------------------------------------------------------------------------------------------ queries


def queue_for(session: Session, actor: Actor) -> Sequence[ApprovalRequest]:
    """The pending requests this user decides: steps and property requests naming them, and (for the
    legal-supervision office) appeals of the stations in view. Their own requests never queue for them."""
    mine = ApprovalRequest.approver == actor.username
    cond = (
        or_(mine, ApprovalRequest.kind == RequestKind.APPEAL)
        if actor.role in scores.APPEAL_DECIDERS
        else mine
    )
    rows = session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.state == RequestState.PENDING, cond)
        .where(ApprovalRequest.requested_by != actor.username)
        .order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
    ).all()
    return [r for r in rows if actor.sees_station(r.station_code)]


def filed_by(session: Session, actor: Actor, *, limit: int = 50) -> Sequence[ApprovalRequest]:
    """The user's own requests, newest first, with their decisions."""
    return session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.requested_by == actor.username)
        .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc())
        .limit(limit)
    ).all()


def property_asked_of(session: Session, actor: Actor, *, limit: int = 50) -> Sequence[ApprovalRequest]:
    """The requests to return or dispose of seized property that name this user as approver and are no
    longer pending (approved, used, refused or withdrawn), newest first: where the approver sees an
    approval they gave lapse, or a request withdrawn."""
    rows = session.scalars(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.approver == actor.username,
            ApprovalRequest.kind.in_(tuple(CLOSES_TO)),
            ApprovalRequest.state != RequestState.PENDING,
        )
        .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc())
        .limit(limit)
    ).all()
    return [r for r in rows if actor.sees_station(r.station_code)]


def may_withdraw(req: ApprovalRequest, *, actor: Actor, now: datetime) -> bool:
    """Whether `check_withdraw` would let this user withdraw it now (a reason aside): for the pages."""
    try:
        check_withdraw(req, "--", actor=actor, now=now)
    except (Conflict, Forbidden):
        return False
    return True


def of_case(session: Session, case_id: int) -> Sequence[ApprovalRequest]:
    """A case's requests, oldest first."""
    return session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.case_id == case_id).order_by(ApprovalRequest.id)
    ).all()
