"""Receipts and figures of warning delivery: reach by channel, time to first contact, answered calls,
key outcomes and visits on time. Shown on /warnings/figures and exported at /metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud.warnings.choices import ChannelKind, MessageState
from pingan.antifraud.warnings.model import WarningAlert, WarningDelivery, WarningMessage
from pingan.antifraud.warnings.visits.choices import VisitState
from pingan.antifraud.warnings.visits.model import HomeVisitTask

REACHED = {ChannelKind.SMS: {MessageState.DELIVERED}, ChannelKind.VOICE: {MessageState.ANSWERED}}


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Figures:
    """The loop's outcome figures."""

    deliveries: int = 0
    reach_rate: dict[str, float | None] = field(default_factory=dict)
    attempted: dict[str, int] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)
    # Deliveries whose messages of a channel went to the outbox channel (the embedded default, `make
    # demo`): written down, never sent, so no receipt can come and they are neither attempted nor
    # reached. Counted apart so that a demo shows what it did instead of a bare "reach 0 / 0".
    outbox_recorded: dict[str, int] = field(default_factory=dict)
    first_contact_s_p50: float | None = None
    first_contact_s_p95: float | None = None
    calls_placed: int = 0
    calls_answered: int = 0
    answered_share: float | None = None
    digits: dict[str, int] = field(default_factory=dict)
    visits: int = 0
    visits_done: int = 0
    visits_on_time: int = 0
    visits_on_time_share: float | None = None
    open_alerts: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_figures(session: Session) -> Figures:
    """Figures over every delivery in the database (aggregates only, no personal data)."""
    f = Figures()
    f.deliveries = session.execute(select(func.count()).select_from(WarningDelivery)).scalar_one()
    for state, n in session.execute(
        select(WarningDelivery.state, func.count()).group_by(WarningDelivery.state)
    ):
        f.by_state[state.value] = n
    # Reach by channel counts deliveries: a person reached by any attempt of that channel.
    for kind in ChannelKind:
        attempted = session.execute(
            select(func.count(func.distinct(WarningMessage.delivery_id))).where(
                WarningMessage.kind == kind,
                WarningMessage.state.notin_([MessageState.QUEUED, MessageState.RECORDED]),
            )
        ).scalar_one()
        reached = session.execute(
            select(func.count(func.distinct(WarningMessage.delivery_id))).where(
                WarningMessage.kind == kind, WarningMessage.state.in_(REACHED[kind])
            )
        ).scalar_one()
        f.outbox_recorded[kind.value] = session.execute(
            select(func.count(func.distinct(WarningMessage.delivery_id))).where(
                WarningMessage.kind == kind, WarningMessage.state == MessageState.RECORDED
            )
        ).scalar_one()
        f.attempted[kind.value] = attempted
        f.reached[kind.value] = reached
        f.reach_rate[kind.value] = round(reached / attempted, 4) if attempted else None
    waits = sorted(
        (first - risk).total_seconds()
        for risk, first in session.execute(
            select(WarningDelivery.risk_event_at, WarningDelivery.first_contact_at).where(
                WarningDelivery.first_contact_at.is_not(None)
            )
        )
        if first is not None
    )
    f.first_contact_s_p50 = _percentile(waits, 0.5)
    f.first_contact_s_p95 = _percentile(waits, 0.95)
    calls = [MessageState.ANSWERED, MessageState.NO_ANSWER, MessageState.BUSY, MessageState.FAILED]
    f.calls_placed = session.execute(
        select(func.count()).where(WarningMessage.kind == ChannelKind.VOICE, WarningMessage.state.in_(calls))
    ).scalar_one()
    f.calls_answered = session.execute(
        select(func.count()).where(
            WarningMessage.kind == ChannelKind.VOICE, WarningMessage.state == MessageState.ANSWERED
        )
    ).scalar_one()
    f.answered_share = round(f.calls_answered / f.calls_placed, 4) if f.calls_placed else None
    for digit, n in session.execute(
        select(WarningMessage.digit, func.count())
        .where(WarningMessage.kind == ChannelKind.VOICE, WarningMessage.state == MessageState.ANSWERED)
        .group_by(WarningMessage.digit)
    ):
        f.digits[{"1": "understood", "2": "already_transferred"}.get(digit or "", "no_key")] = n
    f.visits = session.execute(select(func.count()).select_from(HomeVisitTask)).scalar_one()
    done = list(
        session.execute(
            select(HomeVisitTask.done_at, HomeVisitTask.deadline_at).where(
                HomeVisitTask.state == VisitState.DONE
            )
        )
    )
    f.visits_done = len(done)
    f.visits_on_time = sum(1 for d, deadline in done if d is not None and d <= deadline)
    f.visits_on_time_share = round(f.visits_on_time / f.visits_done, 4) if f.visits_done else None
    f.open_alerts = session.execute(
        select(func.count()).select_from(WarningAlert).where(WarningAlert.closed_at.is_(None))
    ).scalar_one()
    return f


def add_warning_figures(registry: Any, session: Session) -> None:
    """Export the figures as Prometheus gauges into `registry`."""
    from prometheus_client import Gauge

    f = compute_figures(session)
    reach = Gauge(
        "pingan_warning_reach_rate",
        "Share of attempted people reached, by channel",
        ["channel"],
        registry=registry,
    )
    for channel, rate in f.reach_rate.items():
        if rate is not None:
            reach.labels(channel=channel).set(rate)
    contact = Gauge(
        "pingan_warning_first_contact_seconds", "Risk event to first contact", ["quantile"], registry=registry
    )
    if f.first_contact_s_p50 is not None:
        contact.labels(quantile="0.5").set(f.first_contact_s_p50)
    if f.first_contact_s_p95 is not None:
        contact.labels(quantile="0.95").set(f.first_contact_s_p95)
    outbox = Gauge(
        "pingan_warning_outbox_recorded",
        "Deliveries whose messages were written to the outbox channel (not sent), by channel",
        ["channel"],
        registry=registry,
    )
    for channel, n in f.outbox_recorded.items():
        outbox.labels(channel=channel).set(n)
    Gauge("pingan_warning_calls_placed", "Warning calls placed", registry=registry).set(f.calls_placed)
    Gauge("pingan_warning_calls_answered", "Warning calls answered", registry=registry).set(f.calls_answered)
    keys = Gauge("pingan_warning_call_keys", "Answered calls by key pressed", ["outcome"], registry=registry)
    for outcome, n in f.digits.items():
        keys.labels(outcome=outcome).set(n)
    Gauge("pingan_warning_visits_done", "Home visits done", registry=registry).set(f.visits_done)
    Gauge("pingan_warning_visits_on_time", "Home visits done by their deadline", registry=registry).set(
        f.visits_on_time
    )
    Gauge("pingan_warning_open_alerts", "Open warning-channel alerts", registry=registry).set(f.open_alerts)
