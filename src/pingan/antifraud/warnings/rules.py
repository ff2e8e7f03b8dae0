"""Pure decisions of warning delivery: when to contact, retry, escalate, and what a receipt means.

No I/O here. Time comes in as an argument and is UTC-aware.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pingan.antifraud.warnings.choices import ChannelKind, MessageState, Reach, Urgency
from pingan.antifraud.warnings.visits.choices import VisitKind

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
QUIET_START = time(22, 0)
QUIET_END = time(8, 0)

# "No answer, busy or failure: retry twice within 10 minutes." Offsets from the first call's start.
VOICE_RETRY_OFFSETS = (timedelta(minutes=2), timedelta(minutes=6))
MAX_CALL_ATTEMPTS = 1 + len(VOICE_RETRY_OFFSETS)
# An unanswered call escalates to a home visit above this amount (10,000 yuan, in fen), or for an
# elderly payer whatever the amount: the two groups the bureau's dissuasion work names first.
VISIT_AMOUNT_THRESHOLD_FEN = 1_000_000
# A plan that rests on no stored risk event carries an analyst's reason of at least this many
# characters: enough to say why, recorded in the plan's audit entry.
MANUAL_REASON_MIN = 10
VISIT_DEADLINES = {
    VisitKind.DISSUASION: timedelta(hours=2),
    # Someone who already paid: the stop-payment window is hours, so the report is taken at once.
    VisitKind.REPORT_INTAKE: timedelta(minutes=30),
}
# An SMS with no final delivery report after this long is expired (the validity period sent to Kannel).
SMS_VALIDITY = timedelta(hours=24)
# A message claimed by a sender that died is in doubt. Kannel reports SMSC acceptance (DLR 8) within
# milliseconds, so a message with no receipt after this grace never reached Kannel and is sent again.
IN_DOUBT_GRACE = timedelta(seconds=30)
SMS_BACKOFF_CAP = timedelta(seconds=60)


@dataclass(frozen=True)
class ContactDecision:
    """Whether a person may be contacted now, and why."""

    allowed: bool
    not_before: datetime | None
    reasons: tuple[str, ...]


def may_contact_now(*, urgency: Urgency, opted_out: bool, now: datetime) -> ContactDecision:
    """Quiet hours and opt-outs, which apply to routine notices only, never to an urgent warning."""
    if urgency is Urgency.URGENT:
        # A likely victim in the middle of paying loses the money within minutes; waiting for the
        # morning, or honouring an opt-out from notices, would let the loss happen. The 反电信网络诈骗法
        # (Anti-Telecom and Online Fraud Law, 2022), art. 34, charges the police with warning and
        # dissuading potential victims in time. So quiet hours and opt-outs never apply to urgent warnings.
        return ContactDecision(True, None, ("urgent:quiet_hours_and_opt_out_do_not_apply",))
    if opted_out:
        return ContactDecision(False, None, ("opted_out",))
    local = now.astimezone(LOCAL_TZ)
    if local.time() >= QUIET_START or local.time() < QUIET_END:
        morning = local.replace(hour=QUIET_END.hour, minute=0, second=0, microsecond=0)
        if local.time() >= QUIET_START:
            morning += timedelta(days=1)
        return ContactDecision(False, morning.astimezone(now.tzinfo), ("quiet_hours",))
    return ContactDecision(True, None, ())


@dataclass(frozen=True)
class CallDecision:
    """What follows a call attempt."""

    action: Literal["reached", "retry", "escalate", "unreached"]
    due_at: datetime | None = None
    reasons: tuple[str, ...] = ()


def visit_reasons(*, amount_fen: int, elderly: bool) -> tuple[str, ...]:
    """Why an unreached person warrants a home visit; empty when they do not."""
    reasons = []
    if amount_fen >= VISIT_AMOUNT_THRESHOLD_FEN:
        reasons.append(f"amount_at_risk>={VISIT_AMOUNT_THRESHOLD_FEN}")
    if elderly:
        reasons.append("elderly_payer")
    return tuple(reasons)


def after_call(
    *,
    attempt: int,
    result: MessageState,
    first_call_at: datetime,
    amount_fen: int,
    elderly: bool,
    now: datetime,
) -> CallDecision:
    """Decide what follows a call attempt: done, retry (twice within 10 minutes), escalate or give up."""
    if result is MessageState.ANSWERED:
        return CallDecision("reached", reasons=("answered",))
    if attempt < MAX_CALL_ATTEMPTS:
        due = max(now, first_call_at + VOICE_RETRY_OFFSETS[attempt - 1])
        return CallDecision("retry", due, (f"{result.value}:retry_{attempt}_of_{MAX_CALL_ATTEMPTS - 1}",))
    why = visit_reasons(amount_fen=amount_fen, elderly=elderly)
    if why:
        return CallDecision("escalate", reasons=(f"{result.value}:attempts_exhausted", *why))
    return CallDecision("unreached", reasons=(f"{result.value}:attempts_exhausted", "below_visit_threshold"))


DigitAction = Literal["understood", "transferred", "repeat", "none"]


def digit_action(digit: str | None) -> DigitAction:
    """The meaning of a key pressed during a call: 1 understood, 2 already transferred, 0 repeat."""
    return {"1": "understood", "2": "transferred", "0": "repeat"}.get(digit or "", "none")  # type: ignore[return-value]


def sms_backoff(transport_tries: int) -> timedelta:
    """Wait before the next try to reach a gateway that failed: 1 s, 2 s, 4 s ... capped at 60 s."""
    return min(SMS_BACKOFF_CAP, timedelta(seconds=2 ** max(0, transport_tries - 1)))


# Kannel's DLR types (the %d of a dlr-url): 1 delivered to phone, 2 not delivered to phone,
# 4 buffered at the SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC.
_DLR_STATES = {
    1: MessageState.DELIVERED,
    2: MessageState.FAILED,
    4: MessageState.SUBMITTED,
    8: MessageState.SUBMITTED,
    16: MessageState.FAILED,
}
_SMS_ORDER = {
    MessageState.QUEUED: 0,
    MessageState.SENDING: 1,
    MessageState.SUBMITTED: 2,
    MessageState.DELIVERED: 3,
    MessageState.FAILED: 3,
    MessageState.EXPIRED: 3,
}


def dlr_state(dlr_type: int) -> MessageState | None:
    """The message state a Kannel DLR type stands for, or None for a type we do not know."""
    return _DLR_STATES.get(dlr_type)


def sms_transition(current: MessageState, new: MessageState) -> MessageState:
    """The state after a receipt: states only move forward, so a late or repeated DLR changes nothing."""
    if _SMS_ORDER.get(new, 0) > _SMS_ORDER.get(current, 0):
        return new
    return current


def in_doubt_action(
    *, claimed_at: datetime, has_receipt: bool, now: datetime
) -> Literal["wait", "resend", "submitted"]:
    """What to do with a message a dead sender left in `sending`."""
    if has_receipt:
        return "submitted"
    if now - claimed_at < IN_DOUBT_GRACE:
        return "wait"
    return "resend"


def visit_deadline(kind: VisitKind, *, created_at: datetime) -> datetime:
    """When a home-visit task of `kind` is due."""
    return created_at + VISIT_DEADLINES[kind]


def visit_overdue(*, deadline_at: datetime, done: bool, now: datetime) -> bool:
    """True when a task is not done and its deadline has passed."""
    return not done and now > deadline_at


@dataclass(frozen=True)
class ReachDecision:
    """Whether a warning reached its person, and the messages that say so."""

    reach: Reach
    reasons: tuple[str, ...] = ()

    @property
    def reached(self) -> bool:
        """True only on a delivery report or an answered call."""
        return self.reach in (Reach.DELIVERED, Reach.ANSWERED)


_IN_FLIGHT = {MessageState.QUEUED, MessageState.SENDING, MessageState.SUBMITTED, MessageState.CALLING}


def message_reach(kind: ChannelKind, state: MessageState) -> ReachDecision:
    """What one message did: delivered only on a delivery report, answered only on an answered call."""
    if kind is ChannelKind.SMS and state is MessageState.DELIVERED:
        return ReachDecision(Reach.DELIVERED, ("sms:delivery_report",))
    if kind is ChannelKind.VOICE and state is MessageState.ANSWERED:
        return ReachDecision(Reach.ANSWERED, ("voice:answered",))
    if state is MessageState.RECORDED:
        # The outbox channels (the embedded default) write a text or a call's audio down and hand
        # nothing to a gateway: the person was never told, whatever a later figure would like.
        return ReachDecision(Reach.RECORDED_NOT_SENT, (f"{kind.value}:recorded_not_sent",))
    if state in _IN_FLIGHT:
        return ReachDecision(Reach.AWAITING, (f"{kind.value}:{state.value}",))
    return ReachDecision(Reach.NOT_REACHED, (f"{kind.value}:{state.value}",))


def delivery_reach(messages: Iterable[tuple[ChannelKind, MessageState]]) -> ReachDecision:
    """What a delivery's messages did together: an answer or a delivery report reaches the person;
    otherwise awaiting while any message is in flight; recorded, not sent when the outbox took them all."""
    each = [message_reach(kind, state) for kind, state in messages]
    reasons = tuple(sorted({r for d in each for r in d.reasons}))
    found = {d.reach for d in each}
    for reach in (Reach.ANSWERED, Reach.DELIVERED, Reach.AWAITING):
        if reach in found:
            return ReachDecision(reach, reasons)
    if found == {Reach.RECORDED_NOT_SENT}:
        return ReachDecision(Reach.RECORDED_NOT_SENT, reasons)
    return ReachDecision(Reach.NOT_REACHED, reasons or ("no_message",))
