"""Outcome figures: pure functions over outcome rows. Observational, never causal; estimates say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

FOLLOW_UP = timedelta(days=30)
CAVEAT = (
    "Observational comparison: warned (reached) persons against flagged persons the channels did not reach. "
    "The groups were not assigned at random, so the difference is not a measured causal effect."
)
LOSS_CAVEAT = (
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


def latency_figures(seconds: list[float]) -> dict[str, float | int | None]:
    """p50/p95/p99 of transaction → risk-event time, in seconds."""
    if not seconds:
        return {"count": 0, "p50_s": None, "p95_s": None, "p99_s": None}
    a = np.array(seconds)
    return {
        "count": int(a.size),
        "p50_s": round(float(np.percentile(a, 50)), 3),
        "p95_s": round(float(np.percentile(a, 95)), 3),
        "p99_s": round(float(np.percentile(a, 99)), 3),
    }


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
