"""Warning-plan policy: when a flag makes a new plan, and which steps a plan has. Pure; the clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pingan.antifraud.risk.choices import StepChannel, StepState

PLAN_QUIET = timedelta(hours=24)
# A home visit (上门劝阻) costs an officer an hour; it is sent when the call went unanswered and either
# the amount at risk is large or the payer is elderly, who are the most often defrauded by
# impersonation of police and officials. 50,000 yuan is the threshold above which a case is
# "数额巨大" under the Supreme People's Court's 2016 fraud interpretation.
HOME_VISIT_AMOUNT_FEN = 5_000_000


@dataclass(frozen=True)
class PlanDecision:
    """Whether a flag opens a new plan or joins the person's current one, and why."""

    action: Literal["new_plan", "join"]
    reasons: tuple[str, ...] = ()


def evidence_of(payee: str, reasons: list[str]) -> set[str]:
    """The evidence items of a flag: the payee paid, and each rule id that fired."""
    return {f"payee:{payee}"} | {f"rule:{r.split(':')[0]}" for r in reasons}


def decide_plan(
    *, last_plan_at: datetime | None, last_evidence: set[str], evidence: set[str], now: datetime
) -> PlanDecision:
    """One plan per person per 24 hours, unless the flag brings evidence the current plan lacks."""
    if last_plan_at is None:
        return PlanDecision("new_plan", ("first_plan",))
    if now - last_plan_at >= PLAN_QUIET:
        return PlanDecision("new_plan", ("previous_plan_older_than_24h",))
    fresh = sorted(evidence - last_evidence)
    if fresh:
        return PlanDecision("new_plan", tuple(f"new_evidence:{e}" for e in fresh))
    return PlanDecision("join", ("same_evidence_within_24h",))


def escalates(*, amount_at_risk_fen: int, elderly: bool) -> bool:
    """Whether an unanswered call escalates to a home visit."""
    return elderly or amount_at_risk_fen >= HOME_VISIT_AMOUNT_FEN


@dataclass(frozen=True)
class StepPlan:
    """A step as planned: channel, initial state, and when it is due (None: when the step before ends)."""

    channel: StepChannel
    state: StepState
    due_at: datetime | None


def plan_steps(*, amount_at_risk_fen: int, elderly: bool, now: datetime) -> list[StepPlan]:
    """An SMS now and a voice call now; a home visit waits on the call when the plan escalates."""
    # The call is not held back behind the SMS: a likely victim mid-payment needs a human voice at once.
    steps = [StepPlan(StepChannel.SMS, StepState.DUE, now), StepPlan(StepChannel.VOICE, StepState.DUE, now)]
    if escalates(amount_at_risk_fen=amount_at_risk_fen, elderly=elderly):
        steps.append(StepPlan(StepChannel.HOME_VISIT, StepState.WAITING, None))
    return steps


# Step states a channel may report, per channel.
REPORTABLE = {
    StepChannel.SMS: {StepState.SENT, StepState.DELIVERED, StepState.RECORDED, StepState.FAILED},
    StepChannel.VOICE: {
        StepState.SENT,
        StepState.ANSWERED,
        StepState.UNANSWERED,
        StepState.RECORDED,
        StepState.FAILED,
    },
    StepChannel.HOME_VISIT: {StepState.SENT, StepState.DONE, StepState.FAILED},
}
FINAL = {
    StepState.DELIVERED,
    StepState.RECORDED,
    StepState.ANSWERED,
    StepState.UNANSWERED,
    StepState.FAILED,
    StepState.DONE,
    StepState.SKIPPED,
}
# A contact is a delivery report, an answered call or a visit done. A step an outbox channel only
# recorded reached nobody, so it is no contact: counting it made reach figures claim warnings that
# never left the building.
CONTACT = {StepState.DELIVERED, StepState.ANSWERED, StepState.DONE}


def after_voice(voice: StepState, home_visit: StepState) -> StepState:
    """The home-visit step's state once the call has ended: due if unanswered or failed, else skipped."""
    if home_visit != StepState.WAITING:
        return home_visit
    if voice in (StepState.UNANSWERED, StepState.FAILED):
        return StepState.DUE
    if voice == StepState.ANSWERED:
        return StepState.SKIPPED
    if voice == StepState.RECORDED:
        # The outbox stands in for a peer that took the call; nothing will ever serve a visit it
        # opened, so the visit is skipped, as the delivery it came from closes with none.
        return StepState.SKIPPED
    return home_visit
