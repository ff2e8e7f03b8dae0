"""The one write path of warning delivery: accept a plan, claim messages, record results and receipts.

Every `do_*` writes in the caller's transaction and audits there. Message states only move forward
(`rules.sms_transition`), so a repeated or late receipt never undoes a later one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, case, exists, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.risk import queries as risk_queries
from pingan.antifraud.risk.choices import StepChannel
from pingan.antifraud.warnings import report_link, risk_link, rules
from pingan.antifraud.warnings.channels import SendResult
from pingan.antifraud.warnings.choices import (
    FINAL_STATES,
    AlertKind,
    ChannelKind,
    DeliveryState,
    MessageState,
    Priority,
    Urgency,
)
from pingan.antifraud.warnings.model import (
    WarningAlert,
    WarningCallbackRejection,
    WarningDelivery,
    WarningMessage,
    WarningReceipt,
)
from pingan.antifraud.warnings.templates import TemplateSet, load_templates
from pingan.antifraud.warnings.visits.actions import do_open_visit
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.core import audit, clock, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.org import stations_by_code
from pingan.core.pii import PiiKind, Sealed, decrypt
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station

_T = TypeVar("_T")
EVENT_TRANSFER_CONFIRMED = "warnings.transfer_confirmed"
EVENT_DELIVERY_CLOSED = "warnings.delivery_closed"


@dataclass(frozen=True)
class DeliveryRequest:
    """What to deliver for one warning plan: who (pseudonym and encrypted phone), why, and how urgently."""

    plan_id: str
    person_pseudonym: str
    phone_cipher: str | None
    phone_masked: str | None
    typology: str
    amount_fen: int
    elderly: bool
    home_station_code: str
    urgency: Urgency
    risk_event_at: datetime
    reasons: tuple[str, ...] = ()
    opted_out: bool = False
    sms: bool = True
    voice: bool = True
    risk_event_id: int | None = None
    manual_reason: str | None = None


@dataclass
class BatchSummary:
    """Counts of one sender batch, by resulting state."""

    claimed: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    transient: int = 0

    def add(self, state: str) -> None:
        self.by_state[state] = self.by_state.get(state, 0) + 1


def check_request(req: DeliveryRequest) -> None:
    """Validate a delivery request, naming the field at fault."""
    if not req.plan_id or len(req.plan_id) > 64:
        raise Invalid("a plan id has 1 to 64 characters", field="plan_id")
    if req.amount_fen < 0:
        raise Invalid("the amount at risk cannot be negative", field="amount_fen")
    if not req.home_station_code:
        raise Invalid("the home station is needed for escalation", field="home_station_code")
    if req.risk_event_at.tzinfo is None:
        raise Invalid("the risk event time must carry its time zone", field="risk_event_at")
    if req.phone_cipher is not None and not req.phone_cipher.startswith("v1:"):
        raise Invalid("the phone must be the encrypted value (pii.protect)", field="phone_cipher")


# A warning reaches a person on the platform's word: it rests on a stored risk event, or on an
# analyst who states why (the reason is kept in the audit entry). The admin role runs the system
# and sends no warnings.
MANUAL_PLANNERS = frozenset({Role.ANTIFRAUD_ANALYST})


def check_plan_basis(session: Session, req: DeliveryRequest, *, actor: Actor) -> None:
    """A plan posted by a person must name a stored risk event of the same person, or an analyst's reason."""
    if req.risk_event_id is not None:
        person = risk_queries.risk_event_person(session, req.risk_event_id)
        if person is None:
            raise Invalid(f"no stored risk event {req.risk_event_id}", field="risk_event_id")
        if person != req.person_pseudonym:
            raise Invalid(
                f"risk event {req.risk_event_id} is of another person than the plan's", field="risk_event_id"
            )
        return
    if req.manual_reason is not None:
        if actor.role not in MANUAL_PLANNERS:
            raise Forbidden(
                "only an anti-fraud analyst may create a plan without a risk event", field="manual_reason"
            )
        if len(req.manual_reason.strip()) < rules.MANUAL_REASON_MIN:
            raise Invalid(
                f"a stated reason has at least {rules.MANUAL_REASON_MIN} characters", field="manual_reason"
            )
        return
    raise Invalid(
        "a plan refers to a stored risk event (risk_event_id) or states an analyst's reason (manual_reason)",
        field="risk_event_id",
    )


def _differs(known: WarningDelivery, req: DeliveryRequest, templates: TemplateSet) -> str | None:
    """The first field in which `req` differs from the plan accepted under its id, or None."""
    same = {
        "person_pseudonym": known.person_pseudonym == req.person_pseudonym,
        "amount_fen": known.amount_fen == req.amount_fen,
        "home_station_code": known.home_station_code == req.home_station_code,
        "typology": known.typology == templates.for_typology(req.typology).typology.value,
        "risk_event_at": clock.ensure_utc(known.risk_event_at) == clock.ensure_utc(req.risk_event_at),
    }
    return next((name for name, ok in same.items() if not ok), None)


def check_plan_station(session: Session, req: DeliveryRequest) -> None:
    """The plan's home station must exist: escalations go to it."""
    if req.home_station_code not in stations_by_code(session, {req.home_station_code}):
        raise Invalid(f"unknown station {req.home_station_code!r}", field="home_station_code")


def delivery_for_plan(session: Session, plan_id: str) -> WarningDelivery | None:
    """The delivery of a plan, if it was accepted."""
    return session.execute(
        select(WarningDelivery).where(WarningDelivery.plan_id == plan_id)
    ).scalar_one_or_none()


def do_accept_plan(
    session: Session, req: DeliveryRequest, *, sms_channel: str, voice_channel: str, actor: Actor
) -> tuple[WarningDelivery, bool]:
    """Create the delivery and queue its SMS and first call; an accepted plan is returned unchanged.

    Returns (delivery, created). Caller holds the transaction and ran `check_request`.
    """
    return do_accept_plans(session, [req], sms_channel=sms_channel, voice_channel=voice_channel, actor=actor)[
        0
    ]


def do_accept_plans(
    session: Session,
    reqs: Sequence[DeliveryRequest],
    *,
    sms_channel: str,
    voice_channel: str,
    actor: Actor,
) -> list[tuple[WarningDelivery, bool]]:
    """Accept many plans at once, each as `do_accept_plan` would, audited in one entry naming each plan.

    Returns (delivery, created) per request, in order; a plan already accepted (before, or earlier
    in `reqs`) comes back unchanged. Caller holds the transaction and ran `check_request` on each.
    One query finds the plans already accepted and one flush writes the new deliveries: accepting
    plans one by one cost 1.9 ms a plan on PostgreSQL (a query, an autoflush and a flush each),
    which bounded the rate plans could be offered to the sender at 104 a second.
    """
    existing: dict[str, WarningDelivery] = {}
    plan_ids = list(dict.fromkeys(r.plan_id for r in reqs))
    for i in range(0, len(plan_ids), 500):
        chunk = plan_ids[i : i + 500]
        for d in session.execute(select(WarningDelivery).where(WarningDelivery.plan_id.in_(chunk))).scalars():
            existing[d.plan_id] = d
    now = clock.now()
    out: list[tuple[WarningDelivery, bool]] = []
    new: list[tuple[DeliveryRequest, WarningDelivery, rules.ContactDecision]] = []
    templates = load_templates()
    with session.no_autoflush:
        for req in reqs:
            if (known := existing.get(req.plan_id)) is not None:
                if (differs := _differs(known, req, templates)) is not None:
                    # Idempotent means the same plan again: a reused id with another body is a client's bug.
                    raise Conflict(
                        f"plan {req.plan_id!r} was accepted already with another {differs}", field="plan_id"
                    )
                out.append((known, False))
                continue
            contact = rules.may_contact_now(urgency=req.urgency, opted_out=req.opted_out, now=now)
            delivery = WarningDelivery(
                plan_id=req.plan_id,
                person_pseudonym=req.person_pseudonym,
                phone=(
                    Sealed(PiiKind.PHONE, req.phone_cipher, req.phone_masked or "")
                    if req.phone_cipher is not None
                    else None
                ),
                typology=templates.for_typology(req.typology).typology.value,
                amount_fen=req.amount_fen,
                elderly=req.elderly,
                home_station_code=req.home_station_code,
                urgency=req.urgency,
                opted_out=req.opted_out,
                reasons=json.dumps([*req.reasons, *contact.reasons], ensure_ascii=False),
                risk_event_at=req.risk_event_at,
                received_at=now,
                state=DeliveryState.OPEN,
                priority=Priority.NORMAL,
            )
            session.add(delivery)
            existing[req.plan_id] = delivery
            new.append((req, delivery, contact))
            out.append((delivery, True))
    if not new:
        return out
    session.flush()  # the new deliveries' ids, in one multi-row INSERT
    accepted = [
        _queue_first_contact(
            session,
            req,
            delivery,
            contact,
            sms_channel=sms_channel,
            voice_channel=voice_channel,
            now=now,
            actor=actor,
        )
        for req, delivery, contact in new
    ]
    # One entry for the batch naming every plan, its delivery and why it may be contacted now: an
    # entry per plan was a chained audit row per text, the largest share of the audit's CPU per text.
    first, last = new[0][1], new[-1][1]
    audit.record(
        session,
        actor=actor,
        action="warning.plan.accept",
        object_type="warning_delivery",
        object_id=first.id if len(new) == 1 else f"{first.id}..{last.id}",
        purpose=f"plan:{new[0][0].plan_id}" if len(new) == 1 else f"plans:{len(new)}",
        detail={"sms": sms_channel, "voice": voice_channel, "plans": accepted},
    )
    return out


def _queue_first_contact(
    session: Session,
    req: DeliveryRequest,
    delivery: WarningDelivery,
    contact: rules.ContactDecision,
    *,
    sms_channel: str,
    voice_channel: str,
    now: datetime,
    actor: Actor,
) -> dict[str, object]:
    """Queue a new delivery's SMS and first call (or its home visit when there is no number); returns
    what the batch's audit entry says about it."""
    template = load_templates().for_typology(req.typology)
    due = now if contact.allowed else (contact.not_before or now)
    if req.phone_cipher is None:
        # No number to text or call: the only way left to reach the person is the home station.
        why = rules.visit_reasons(amount_fen=req.amount_fen, elderly=req.elderly)
        if why:
            delivery.state = DeliveryState.ESCALATED
            do_open_visit(
                session, delivery, kind=VisitKind.DISSUASION, reasons=("no_phone", *why), actor=actor
            )
        else:
            delivery.state = DeliveryState.UNREACHED
            delivery.closed_at = now
    elif contact.allowed or contact.not_before is not None:
        if req.sms:
            session.add(
                WarningMessage(
                    message_key=f"{req.plan_id}:sms:1",
                    delivery_id=delivery.id,
                    kind=ChannelKind.SMS,
                    channel=sms_channel,
                    attempt=1,
                    state=MessageState.QUEUED,
                    due_at=due,
                    template_id=template.template_id,
                    template_version=template.version,
                    body=template.render_sms(),
                    created_at=now,
                )
            )
        if req.voice:
            session.add(_call_message(delivery, attempt=1, channel=voice_channel, due=due, now=now))
    else:
        delivery.state = DeliveryState.UNREACHED
        delivery.closed_at = now
    said: dict[str, object] = {
        "plan": req.plan_id,
        "delivery": delivery.id,
        "urgency": req.urgency.value,
        "contact": list(contact.reasons),
    }
    if req.risk_event_id is not None:
        said["risk_event"] = req.risk_event_id
    if req.manual_reason is not None:
        said["manual_reason"] = req.manual_reason
    return said


def _call_message(
    delivery: WarningDelivery, *, attempt: int, channel: str, due: datetime, now: datetime
) -> WarningMessage:
    template = load_templates().for_typology(delivery.typology)
    text, params = template.render_voice(amount_fen=delivery.amount_fen)
    return WarningMessage(
        message_key=f"{delivery.plan_id}:voice:{attempt}",
        delivery_id=delivery.id,
        kind=ChannelKind.VOICE,
        channel=channel,
        attempt=attempt,
        state=MessageState.QUEUED,
        due_at=due,
        template_id=template.template_id,
        template_version=template.version,
        body=text,
        call_flow=json.dumps({"params": params}, ensure_ascii=False),
        created_at=now,
    )


@dataclass(frozen=True)
class Claimed:
    """A claimed message with the clear phone number to send to (never stored, never logged)."""

    message_id: int
    message_key: str
    phone: str
    body: str
    template_id: str
    template_version: str
    params: dict[str, str]
    channel: str


# The tables themselves, for the sender's hot paths: a Core statement over a batch instead of an ORM
# object per text (measured with py-spy in bench/channels.py: loading, tracking and flushing a
# WarningMessage and its WarningDelivery per text was most of the sender's CPU per text).
_MESSAGE = cast(Table, WarningMessage.__table__)
_DELIVERY = cast(Table, WarningDelivery.__table__)
_RECEIPT = cast(Table, WarningReceipt.__table__)


def _chunks(values: Sequence[_T], size: int = 500) -> Iterable[Sequence[_T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def do_claim_due(session: Session, *, kind: ChannelKind, limit: int, actor: Actor) -> list[Claimed]:
    """Mark up to `limit` due messages of `kind` in flight and decrypt their numbers (audited).

    The caller commits before sending: a message in flight whose sender dies is in doubt, and
    `do_recover_in_doubt` decides about it; it is never sent twice while a receipt could still come.
    """
    now = clock.now()
    session.flush()  # changes made earlier in this transaction, before the Core statements below
    m, d = _MESSAGE.c, _DELIVERY.c
    q = (
        select(
            m.id,
            m.message_key,
            m.body,
            m.template_id,
            m.template_version,
            m.call_flow,
            m.channel,
            d.phone_cipher,
        )
        .join_from(_MESSAGE, _DELIVERY, m.delivery_id == d.id)
        .where(m.kind == kind, m.state == MessageState.QUEUED, m.due_at <= now)
        .order_by(m.due_at, m.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=_MESSAGE)
    rows = session.execute(q).all()
    if not rows:
        return []
    in_flight = MessageState.SENDING if kind is ChannelKind.SMS else MessageState.CALLING
    ids = [r.id for r in rows]
    for chunk in _chunks(ids):
        session.execute(update(_MESSAGE).where(m.id.in_(chunk)).values(state=in_flight, claimed_at=now))
    out = []
    for r in rows:
        params = json.loads(r.call_flow or "{}").get("params", {}) if kind is ChannelKind.VOICE else {}
        out.append(
            Claimed(
                r.id,
                r.message_key,
                decrypt(PiiKind.PHONE, r.phone_cipher or ""),
                r.body,
                r.template_id,
                r.template_version,
                params,
                r.channel,
            )
        )
    audit.record(
        session,
        actor=actor,
        action=f"warning.{kind.value}.claim",
        object_type="warning_message",
        object_id=f"{ids[0]}..{ids[-1]}",
        purpose="urgent fraud warning: phone decrypted to send",
        detail={"messages": ids},
    )
    return out


def _gateway_alert(session: Session, channel: str) -> WarningAlert | None:
    return session.execute(
        select(WarningAlert).where(
            WarningAlert.kind == AlertKind.GATEWAY_DOWN,
            WarningAlert.subject == channel,
            WarningAlert.closed_at.is_(None),
        )
    ).scalar_one_or_none()


def _mark_contact(delivery: WarningDelivery, kind: ChannelKind, at: datetime) -> None:
    if delivery.first_contact_at is None:
        delivery.first_contact_at = at
        delivery.first_contact_channel = kind
    if delivery.state is DeliveryState.OPEN:
        delivery.state = DeliveryState.REACHED


def _messages_by_key(session: Session, keys: Iterable[str]) -> dict[str, WarningMessage]:
    keys = list(keys)
    out: dict[str, WarningMessage] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        # Row locks (PostgreSQL): a DLR committed meanwhile must not be overwritten by this batch.
        q = (
            select(WarningMessage)
            .where(WarningMessage.message_key.in_(chunk))
            .order_by(WarningMessage.id)
            .options(selectinload(WarningMessage.delivery))
        )
        for m in session.execute(q.with_for_update()).scalars():
            out[m.message_key] = m
    return out


def _close_if_recorded(delivery: WarningDelivery, now: datetime) -> None:
    if (
        delivery.state is DeliveryState.OPEN
        and delivery.messages
        and all(m.state is MessageState.RECORDED for m in delivery.messages)
    ):
        delivery.state = DeliveryState.RECORDED
        delivery.closed_at = now


def do_record_sms_results(
    session: Session, results: Sequence[SendResult], *, channel: str, actor: Actor
) -> BatchSummary:
    """Record what the SMS gateway said about a batch: submitted, failed, or unreachable (re-queued with backoff).

    An unreachable gateway opens one alert per channel; the first success closes it.
    """
    now = clock.now()
    summary = BatchSummary(claimed=len(results))
    session.flush()
    # The usual answer first, in one statement per 500: the gateway took a text still in flight
    # here. Nothing else follows from it (not final, no contact yet). A text a DLR already moved on,
    # or any other answer, takes the full path below.
    col = _MESSAGE.c
    if session.get_bind().dialect.name == "postgresql":
        # Lock the batch's rows in id order first, as the DLR endpoint does (`do_record_dlrs`): the
        # UPDATE below locks rows in the order its index scan meets them, and a DLR batch locking
        # some of the same rows in id order meanwhile deadlocked with it. PostgreSQL breaks a
        # deadlock only after deadlock_timeout (1 s): measured in bench/channels.py, stalls of 1 to
        # 2 s that put hundreds of texts over the 1 s p99.
        for chunk in _chunks(sorted(r.message_key for r in results)):
            session.execute(
                select(col.id).where(col.message_key.in_(chunk)).order_by(col.id).with_for_update()
            )
    taken: set[str] = set()
    plain = [r.message_key for r in results if not r.transient and r.state is MessageState.SUBMITTED]
    for chunk in _chunks(plain):
        taken.update(
            session.execute(
                update(_MESSAGE)
                .where(col.message_key.in_(chunk), col.state == MessageState.SENDING)
                .values(
                    state=MessageState.SUBMITTED,
                    submitted_at=func.coalesce(col.submitted_at, now),
                    last_error=None,
                )
                .returning(col.message_key)
            ).scalars()
        )
    for _ in taken:
        summary.add(MessageState.SUBMITTED.value)
    rest = [r for r in results if r.message_key not in taken]
    messages = _messages_by_key(session, (r.message_key for r in rest))
    any_ok = bool(taken)
    for r in rest:
        m = messages[r.message_key]
        if r.transient:
            summary.transient += 1
            if m.state in (MessageState.SENDING, MessageState.QUEUED):
                m.transport_tries += 1
                m.state = MessageState.QUEUED
                m.due_at = now + rules.sms_backoff(m.transport_tries)
                m.last_error = (r.error or "")[:1000]
            continue
        any_ok = True
        before = m.state
        new = rules.sms_transition(m.state, r.state) if r.state is not MessageState.RECORDED else r.state
        m.state = new
        m.last_error = r.error
        if r.state in (MessageState.SUBMITTED, MessageState.RECORDED) and m.submitted_at is None:
            m.submitted_at = now
        if new in FINAL_STATES:
            m.final_at = m.final_at or now
        if new is MessageState.DELIVERED:
            _mark_contact(m.delivery, ChannelKind.SMS, now)
        if new is MessageState.RECORDED:
            _close_if_recorded(m.delivery, now)
        if new in FINAL_STATES and before not in FINAL_STATES:
            _report_sms_step(session, m, actor=actor)
        summary.add(r.state.value)  # what the gateway answered (a DLR may already have moved it on)
    alert = _gateway_alert(session, channel)
    if summary.transient and not any_ok and alert is None:
        session.add(
            WarningAlert(
                kind=AlertKind.GATEWAY_DOWN,
                subject=channel,
                opened_at=now,
                detail=f"{summary.transient} texts could not reach the gateway; queued with backoff",
            )
        )
    elif any_ok and alert is not None:
        alert.closed_at = now
    audit.record(
        session,
        actor=actor,
        action="warning.sms.results",
        object_type="warning_message",
        object_id=f"batch:{len(results)}",
        detail={"channel": channel, "states": summary.by_state, "transient": summary.transient},
    )
    return summary


class CallbackRefused(Exception):
    """A gateway callback that is refused; it has been logged and changed nothing."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def do_log_callback_rejection(
    session: Session, *, path: str, message_key: str | None, remote: str | None, reason: str
) -> None:
    """Keep a refused callback with its reason (no audit entry: nothing of a person's was touched)."""
    session.add(
        WarningCallbackRejection(
            received_at=clock.now(),
            path=path[:255],
            message_key=(message_key or "")[:96] or None,
            remote=remote,
            reason=reason[:255],
        )
    )


@dataclass(frozen=True)
class Dlr:
    """One delivery report as the gateway posted it (signature already verified)."""

    message_key: str
    dlr_type: int
    answer: str
    path: str = ""
    remote: str | None = None


def do_record_dlrs(
    session: Session, dlrs: Sequence[Dlr], *, source: str, actor: Actor
) -> list[MessageState | CallbackRefused]:
    """Apply a batch of delivery reports in the caller's transaction, audited in one entry naming each.

    A refused report (unknown id or type) is logged as a rejection in the same transaction and its
    `CallbackRefused` comes back in its place; it changes nothing else. Results are in input order.
    It works with Core statements over the whole batch: Kannel posts two reports a text, and an ORM
    message, delivery and receipt object per report was most of the DLR endpoint's CPU (py-spy,
    bench/channels.py).
    """
    now = clock.now()
    session.flush()
    col, dcol = _MESSAGE.c, _DELIVERY.c
    rows = {}
    for chunk in _chunks(sorted({d.message_key for d in dlrs})):
        q = (
            select(
                col.id, col.message_key, col.kind, col.state, col.submitted_at, col.delivery_id, dcol.plan_id
            )
            .join_from(_MESSAGE, _DELIVERY, col.delivery_id == dcol.id)
            .where(col.message_key.in_(chunk))
            .order_by(col.id)
            # Row locks (PostgreSQL): a sender's record committed meanwhile must not be overwritten.
            .with_for_update(of=_MESSAGE)
        )
        for row in session.execute(q):
            rows[row.message_key] = row
    state_now = {key: r.state for key, r in rows.items()}
    changed: dict[int, dict[str, Any]] = {}
    receipts: list[dict[str, Any]] = []
    reached: set[int] = set()
    finals: list[tuple[str, str, MessageState]] = []
    applied: list[dict[str, Any]] = []
    out: list[MessageState | CallbackRefused] = []
    for d in dlrs:
        r = rows.get(d.message_key)
        state = rules.dlr_state(d.dlr_type)
        refusal = None
        if r is None or r.kind is not ChannelKind.SMS:
            refusal = CallbackRefused("unknown message id", 404)
        elif state is None:
            refusal = CallbackRefused(f"unknown DLR type {d.dlr_type}", 422)
        if refusal is not None or r is None or state is None:
            refusal = refusal or CallbackRefused("unknown message id", 404)
            do_log_callback_rejection(
                session, path=d.path, message_key=d.message_key, remote=d.remote, reason=refusal.reason
            )
            out.append(refusal)
            continue
        receipts.append(
            {
                "message_id": r.id,
                "received_at": now,
                "source": source,
                "code": str(d.dlr_type),
                "state": state,
                "detail": d.answer[:500],
            }
        )
        before = state_now[d.message_key]
        new = rules.sms_transition(before, state)
        if new is not before:
            state_now[d.message_key] = new
            values = changed.setdefault(
                r.id, {"_id": r.id, "_state": new, "_submitted": now, "_final": None, "_error": None}
            )
            values["_state"] = new
            if new in FINAL_STATES:
                values["_final"] = now
                finals.append((d.message_key, r.plan_id, new))
            if new is MessageState.FAILED:
                values["_error"] = f"DLR {d.dlr_type}: {d.answer}"[:1000]
            if new is MessageState.DELIVERED:
                reached.add(r.delivery_id)
        applied.append({"message": r.id, "type": d.dlr_type, "from": before.value, "to": new.value})
        out.append(new)
    if applied:
        # One entry for the batch, naming every report it applied (id, type, from, to): an entry
        # per report was two chained entries a text, a fifth of the DLR endpoint's CPU.
        audit.record(
            session,
            actor=actor,
            action="warning.sms.dlr",
            object_type="warning_message",
            object_id=f"{applied[0]['message']}..{applied[-1]['message']}",
            detail={"reports": applied},
        )
    if receipts:
        session.execute(insert(_RECEIPT), receipts)
    if changed:
        session.execute(
            update(_MESSAGE)
            .where(col.id == bindparam("_id"))
            .values(
                state=bindparam("_state", type_=col.state.type),
                submitted_at=func.coalesce(
                    col.submitted_at, bindparam("_submitted", type_=col.submitted_at.type)
                ),
                final_at=func.coalesce(bindparam("_final", type_=col.final_at.type), col.final_at),
                last_error=func.coalesce(bindparam("_error", type_=col.last_error.type), col.last_error),
            ),
            list(changed.values()),
        )
    for ids in _chunks(sorted(reached)):
        # As `_mark_contact`: the first contact is kept; an open delivery is now reached.
        session.execute(
            update(_DELIVERY)
            .where(dcol.id.in_(ids))
            .values(
                first_contact_channel=case(
                    (dcol.first_contact_at.is_(None), ChannelKind.SMS.value), else_=dcol.first_contact_channel
                ),
                first_contact_at=func.coalesce(dcol.first_contact_at, now),
                state=case(
                    (dcol.state == DeliveryState.OPEN.value, DeliveryState.REACHED.value), else_=dcol.state
                ),
            )
        )
    for message_key, plan_key, final in finals:
        # As `_report_sms_step`, for deliveries that came from a risk plan.
        step = risk_link.SMS_STEP_STATE.get(final)
        risk_plan = risk_link.risk_plan_id_of(plan_key)
        if step is not None and risk_plan is not None:
            risk_link.do_report_step_by_id(
                session,
                risk_plan,
                StepChannel.SMS,
                step,
                actor=actor,
                detail={"message_key": message_key, "state": final.value},
            )
    return out


def do_record_call_result(
    session: Session, result: SendResult, *, voice_channel: str, actor: Actor
) -> rules.CallDecision | None:
    """Record one call's outcome and act on it: reached, retry (twice within 10 minutes), escalate, or give up.

    Key 2 ("I have already transferred") raises the delivery's priority, opens a fraud report of the
    flagged transfers awaiting an officer, and an urgent report-intake task for it at the home
    station; the officer's confirmation registers the report and starts the stop-payment robot.
    """
    now = clock.now()
    m = session.execute(
        select(WarningMessage).where(WarningMessage.message_key == result.message_key).with_for_update()
    ).scalar_one()
    delivery = m.delivery
    if result.transient:
        m.state = MessageState.QUEUED
        m.transport_tries += 1
        m.due_at = now + rules.sms_backoff(m.transport_tries)
        m.last_error = result.error
        return None
    params = json.loads(m.call_flow or "{}").get("params", {})
    m.state = result.state
    m.final_at = now
    m.digit = result.digit
    m.last_error = result.error
    m.audio_path = result.audio_path or m.audio_path
    m.call_flow = json.dumps(
        {"params": params, "flow": list(result.flow), "digits": list(result.digits), **result.detail},
        ensure_ascii=False,
    )
    if result.state is MessageState.RECORDED:
        _close_if_recorded(delivery, now)
        _report_voice_step(session, m, calls_over=True, actor=actor)
        audit.record(
            session,
            actor=actor,
            action="warning.voice.recorded",
            object_type="warning_message",
            object_id=m.id,
        )
        return None
    first = session.execute(
        select(WarningMessage.claimed_at)
        .where(WarningMessage.delivery_id == delivery.id, WarningMessage.kind == ChannelKind.VOICE)
        .order_by(WarningMessage.attempt)
        .limit(1)
    ).scalar_one()
    decision = rules.after_call(
        attempt=m.attempt,
        result=result.state,
        first_call_at=first or now,
        amount_fen=delivery.amount_fen,
        elderly=delivery.elderly,
        now=now,
    )
    if decision.action == "reached":
        _mark_contact(delivery, ChannelKind.VOICE, now)
        delivery.digit = result.digit or delivery.digit
        if rules.digit_action(result.digit) == "transferred":
            delivery.priority = Priority.RAISED
            # A report is opened from the risk event at once, awaiting the receiving officer's
            # confirmation before the robot acts on it (why: report_link's docstring).
            opened = report_link.do_open_report_for_key_2(session, delivery, m, actor=actor)
            reasons = ["key_2:already_transferred"]
            if opened.report is not None:
                reasons.append(f"report_awaiting_officer:{opened.report.external_ref}")
            else:
                reasons.append(f"report_not_opened:{opened.problem}")
            task = do_open_visit(
                session,
                delivery,
                kind=VisitKind.REPORT_INTAKE,
                reasons=reasons,
                actor=actor,
                report_id=opened.report.id if opened.report is not None else None,
            )
            events.emit(
                session,
                EVENT_TRANSFER_CONFIRMED,
                plan_id=delivery.plan_id,
                person_pseudonym=delivery.person_pseudonym,
                station_code=delivery.home_station_code,
                report_id=task.report_id,
            )
    elif decision.action == "retry":
        assert decision.due_at is not None
        session.add(
            _call_message(
                delivery, attempt=m.attempt + 1, channel=voice_channel, due=decision.due_at, now=now
            )
        )
    elif decision.action == "escalate":
        delivery.state = DeliveryState.ESCALATED
        task = do_open_visit(
            session, delivery, kind=VisitKind.DISSUASION, reasons=decision.reasons, actor=actor
        )
        _report_voice_step(session, m, calls_over=True, actor=actor)
        risk_link.do_report_visit_opened(session, delivery, actor=actor, task_id=task.id)
    else:
        if delivery.state is DeliveryState.OPEN:
            delivery.state = DeliveryState.UNREACHED
        delivery.closed_at = now
        events.emit(session, EVENT_DELIVERY_CLOSED, plan_id=delivery.plan_id, state=delivery.state.value)
    if decision.action in ("reached", "unreached"):
        _report_voice_step(session, m, calls_over=True, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="warning.voice.result",
        object_type="warning_message",
        object_id=m.id,
        detail={
            "state": result.state.value,
            "digit": result.digit,
            "decision": decision.action,
            "reasons": list(decision.reasons),
        },
    )
    return decision


def _report_sms_step(session: Session, m: WarningMessage, *, actor: Actor) -> None:
    """Put a text's final state on its risk plan's SMS step (nothing for deliveries of other origins)."""
    state = risk_link.SMS_STEP_STATE.get(m.state)
    if state is not None:
        risk_link.do_report_step(
            session,
            m.delivery,
            StepChannel.SMS,
            state,
            actor=actor,
            detail={"message_key": m.message_key, "state": m.state.value},
        )


def _report_voice_step(session: Session, m: WarningMessage, *, calls_over: bool, actor: Actor) -> None:
    """Put the calls' outcome on the risk plan's voice step once no call is left to place."""
    state = risk_link.voice_step_state(m.state, calls_over=calls_over)
    if state is not None:
        risk_link.do_report_step(
            session,
            m.delivery,
            StepChannel.VOICE,
            state,
            actor=actor,
            detail={"message_key": m.message_key, "state": m.state.value, "digit": m.digit},
        )


def do_recover_in_doubt(session: Session, *, actor: Actor) -> dict[str, int]:
    """Resolve messages a dead sender left in flight: a receipt proves the SMS reached Kannel; none after
    the grace period means it never did, and it is queued again under the same message id."""
    now = clock.now()
    counts = {"submitted": 0, "resend": 0, "call_failed": 0}
    rows = session.execute(
        select(WarningMessage).where(WarningMessage.state.in_([MessageState.SENDING, MessageState.CALLING]))
    ).scalars()
    for m in rows:
        claimed = m.claimed_at or now
        if m.state is MessageState.CALLING:
            # A call in progress when the sender died cannot be resumed: count it as a failed attempt.
            if now - claimed > rules.IN_DOUBT_GRACE * 20:
                m.state = MessageState.QUEUED
                m.due_at = now
                counts["call_failed"] += 1
            continue
        has_receipt = session.execute(select(exists().where(WarningReceipt.message_id == m.id))).scalar_one()
        action = rules.in_doubt_action(claimed_at=claimed, has_receipt=has_receipt, now=now)
        if action == "submitted":
            m.state = rules.sms_transition(m.state, MessageState.SUBMITTED)
            m.submitted_at = m.submitted_at or now
            counts["submitted"] += 1
        elif action == "resend":
            m.state = MessageState.QUEUED
            m.due_at = now
            counts["resend"] += 1
    if any(counts.values()):
        audit.record(
            session,
            actor=actor,
            action="warning.recover",
            object_type="warning_message",
            object_id="in_doubt",
            detail=counts,
        )
    return counts


def do_expire_sms(session: Session, *, actor: Actor) -> int:
    """Mark submitted texts with no final report within their validity period expired."""
    now = clock.now()
    n = 0
    for m in session.execute(
        select(WarningMessage).where(
            WarningMessage.kind == ChannelKind.SMS,
            WarningMessage.state == MessageState.SUBMITTED,
            WarningMessage.submitted_at < now - rules.SMS_VALIDITY,
        )
    ).scalars():
        m.state = MessageState.EXPIRED
        m.final_at = now
        _report_sms_step(session, m, actor=actor)
        n += 1
    if n:
        audit.record(
            session,
            actor=actor,
            action="warning.sms.expire",
            object_type="warning_message",
            object_id="batch",
            detail={"expired": n},
        )
    return n


def get_delivery(session: Session, plan_id: str, *, actor: Actor | None = None) -> WarningDelivery:
    """The delivery of `plan_id`, or NotFound; with `actor`, NotFound too when the person's home
    station is outside the actor's view."""
    d = delivery_for_plan(session, plan_id)
    if d is None:
        raise NotFound(f"no delivery for plan {plan_id!r}")
    if actor is not None:
        check_station(actor, d.home_station_code, what=f"delivery for plan {plan_id!r}")
    return d
