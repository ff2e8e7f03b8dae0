"""Outcome figures: pure functions over outcome rows. Observational, never causal; estimates say so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.core.i18n import N_

FOLLOW_UP = timedelta(days=30)
CAVEAT = N_(
    "Observational comparison: warned (reached) persons against flagged persons the channels did not reach. "
    "The groups were not assigned at random, so the difference is not a measured causal effect."
)
LOSS_CAVEAT = N_(
    "Estimated loss prevented: the victimisation rate gap between the unreached and the reached group, times "
    "the reached group's amount at risk. An estimate, not a measurement."
)


@dataclass(frozen=True)
class OutcomeRow:
    """One plan's outcome, as the figures need it."""

    reached: bool
    victimised: bool  # a later transfer to a listed account, or a later report, within 30 days
    amount_at_risk_fen: int


@dataclass(frozen=True)
class OutcomeFigures:
    """Victimisation after warning against the unreached comparison group, and the loss-prevented estimate."""

    warned: int
    warned_victimised: int
    unreached: int
    unreached_victimised: int
    victimisation_rate_warned: float | None
    victimisation_rate_unreached: float | None
    loss_prevented_estimate_fen: int | None
    caveat: str = CAVEAT
    loss_caveat: str = LOSS_CAVEAT


def outcome_figures(rows: list[OutcomeRow]) -> OutcomeFigures:
    """Rates per group and the estimated loss prevented (integer fen; None when a group is empty)."""
    warned = [r for r in rows if r.reached]
    other = [r for r in rows if not r.reached]
    rate_w = sum(r.victimised for r in warned) / len(warned) if warned else None
    rate_u = sum(r.victimised for r in other) / len(other) if other else None
    prevented = None
    if rate_w is not None and rate_u is not None:
        at_risk = sum(r.amount_at_risk_fen for r in warned)
        prevented = max(0, round((rate_u - rate_w) * at_risk))
    return OutcomeFigures(
        warned=len(warned),
        warned_victimised=sum(r.victimised for r in warned),
        unreached=len(other),
        unreached_victimised=sum(r.victimised for r in other),
        victimisation_rate_warned=None if rate_w is None else round(rate_w, 4),
        victimisation_rate_unreached=None if rate_u is None else round(rate_u, 4),
        loss_prevented_estimate_fen=prevented,
    )


@dataclass(frozen=True)
class PlanReach:
    """Whether a plan's warning reached its person, and why: the steps that say so."""

    reached: bool
    recorded_only: bool  # every step that ran was only written down by an outbox channel
    reasons: tuple[str, ...]


# A contact, per channel: a delivery report, an answered call, a visit done. Nothing else.
_CONTACT = {
    (StepChannel.SMS, StepState.DELIVERED): "sms:delivery_report",
    (StepChannel.VOICE, StepState.ANSWERED): "voice:answered",
    (StepChannel.HOME_VISIT, StepState.DONE): "home_visit:done",
}


def plan_reach(steps: Iterable[tuple[StepChannel, StepState]]) -> PlanReach:
    """Reached only on a delivery report, an answered call or a visit done; recorded-only is not reached."""
    steps = list(steps)
    contacts = tuple(why for step in steps if (why := _CONTACT.get(step)) is not None)
    if contacts:
        return PlanReach(True, False, contacts)
    # What the outbox only wrote down reached nobody: counting it as reached put people who were
    # never told among the "warned", and flattered the comparison the report draws.
    ran = [(c, s) for c, s in steps if s not in (StepState.WAITING, StepState.SKIPPED)]
    recorded = [c for c, s in ran if s is StepState.RECORDED]
    reasons = tuple(f"{c.value}:{s.value}" for c, s in ran) or ("no_step_ran",)
    return PlanReach(False, bool(ran) and len(recorded) == len(ran), reasons)


# Engines whose risk events follow the transfer as it arrives. A batch run screens transfers after the
# fact (the demo screens a generated March in December), so its detected-minus-occurred is the age of
# the data when the batch ran, not how fast screening answers: counted apart, never in the figure.
LIVE_ENGINES = frozenset({"stream"})


@dataclass(frozen=True)
class LatencyFigures:
    """p50/p95/p99 seconds from a transfer to its risk event, over live-screened events only."""

    count: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    not_counted: int = 0
    reasons: tuple[str, ...] = ()


def latency_figures(events: Iterable[tuple[str, datetime, datetime]]) -> LatencyFigures:
    """Transfer → risk event latency from (engine, occurred at, detected at), both UTC-aware.

    Only live engines count; a batch event, or one detected before its transfer (clocks apart), is
    counted in `not_counted` with the reason.
    """
    seconds: list[float] = []
    skipped: dict[str, int] = {}
    for engine, occurred, detected in events:
        gap = (detected - occurred).total_seconds()
        why = None if engine in LIVE_ENGINES else f"engine_{engine}_not_live"
        if why is None and gap < 0:
            why = "detected_before_occurred"
        if why is None:
            seconds.append(gap)
        else:
            skipped[why] = skipped.get(why, 0) + 1
    reasons = tuple(f"{why}:{n}" for why, n in sorted(skipped.items()))
    if not seconds:
        return LatencyFigures(0, None, None, None, sum(skipped.values()), reasons)
    a = np.array(seconds)
    return LatencyFigures(
        count=int(a.size),
        p50_s=round(float(np.percentile(a, 50)), 3),
        p95_s=round(float(np.percentile(a, 95)), 3),
        p99_s=round(float(np.percentile(a, 99)), 3),
        not_counted=sum(skipped.values()),
        reasons=reasons,
    )


def rule_precision(events: list[tuple[list[str], bool]]) -> dict[str, dict[str, float | int]]:
    """Per rule id: events raised, and the share whose person was later confirmed a victim (reported)."""
    out: dict[str, list[int]] = {}
    for reasons, confirmed in events:
        for rid in {r.split(":")[0] for r in reasons}:
            tally = out.setdefault(rid, [0, 0])
            tally[0] += 1
            tally[1] += int(confirmed)
    return {
        rid: {"events": n, "confirmed": c, "precision": round(c / n, 4)}
        for rid, (n, c) in sorted(out.items())
    }
