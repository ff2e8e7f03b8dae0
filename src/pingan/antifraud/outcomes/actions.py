"""Outcome writes: follow every plan for 30 days, and note reports by warned persons as they arrive."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.outcomes.model import WarningOutcome
from pingan.antifraud.outcomes.rules import FOLLOW_UP, plan_reach
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.risk import queries as risk_queries
from pingan.core import audit, clock, db, events
from pingan.core.roles import Actor

if TYPE_CHECKING:  # a plan is read through risk's queries; its type only names what they return
    from pingan.antifraud.risk.model import WarningPlan


def _outcome(session: Session, plan: WarningPlan, now: datetime) -> WarningOutcome:
    row = session.execute(
        select(WarningOutcome).where(WarningOutcome.plan_id == plan.id)
    ).scalar_one_or_none()
    if row is None:
        row = WarningOutcome(
            plan_id=plan.id,
            person_key=plan.person_key,
            flagged_at=plan.created_at,
            amount_at_risk_fen=plan.amount_at_risk_fen,
            reached=False,
            later_report=False,
            later_listed_transfers=0,
            later_listed_amount_fen=0,
            observed_until=plan.created_at,
            recorded_at=now,
        )
        session.add(row)
    return row


def do_record_outcomes(session: Session, *, actor: Actor, now: datetime | None = None) -> int:
    """Bring every plan's outcome up to date: reached or not, later transfers to listed accounts. Audited.

    A later transfer is a risk event of the same person after the plan, within 30 days, that hit the
    watchlist. Reports arrive through `do_note_report`. Caller holds the transaction.
    """
    at = now or clock.now()
    plans = risk_queries.plans_created_after(session, at - 2 * FOLLOW_UP)
    steps = risk_queries.step_states(session, (p.id for p in plans))
    for plan in plans:
        row = _outcome(session, plan, at)
        end = min(at, plan.created_at + FOLLOW_UP)
        later = risk_queries.later_events(
            session, person_key=plan.person_key, after=plan.created_at, until=end, other_than_plan=plan.id
        )
        hits = [amount for reasons, amount in later if any(r.startswith("WL-") for r in reasons)]
        row.reached = plan_reach(steps[plan.id]).reached
        row.later_listed_transfers = len(hits)
        row.later_listed_amount_fen = sum(hits)
        row.amount_at_risk_fen = plan.amount_at_risk_fen
        row.observed_until = end
        row.recorded_at = at
    audit.record(
        session, actor=actor, action="outcomes.record", object_type="warning_outcome", object_id="*",
        detail={"plans": len(plans)},
    )  # fmt: skip
    return len(plans)


def do_note_report(
    session: Session, *, person_key: str, reported_at: datetime, report_id: int, actor: Actor
) -> int:
    """Mark the plans of `person_key` from the 30 days before a report as followed by a report. Audited."""
    return do_note_reports(session, [NotedReport(person_key, reported_at, report_id)], actor=actor)


@dataclass(frozen=True)
class NotedReport:
    """A registered report as outcomes see it: whose it is, and when it was made."""

    person_key: str
    reported_at: datetime
    report_id: int


def _has_plans(session: Session, reports: list[NotedReport]) -> bool:
    """Whether any of these reporters has a plan within the follow-up window (a cheap first look)."""
    return risk_queries.any_plan_of_persons(
        session,
        {r.person_key for r in reports},
        after=min(r.reported_at for r in reports) - FOLLOW_UP,
        until=max(r.reported_at for r in reports),
    )


def do_note_reports(session: Session, reports: list[NotedReport], *, actor: Actor) -> int:
    """`do_note_report` for several reports, with one query for all their persons' plans. Returns plans marked."""
    if not reports:
        return 0
    candidates = risk_queries.plans_of_persons(
        session,
        {r.person_key for r in reports},
        after=min(r.reported_at for r in reports) - FOLLOW_UP,
        until=max(r.reported_at for r in reports),
    )
    by_person: dict[str, list[WarningPlan]] = defaultdict(list)
    for plan in candidates:
        by_person[plan.person_key].append(plan)
    steps = risk_queries.step_states(session, (p.id for p in candidates))
    marked = 0
    for r in reports:
        plans = [
            p
            for p in by_person.get(r.person_key, [])
            if r.reported_at - FOLLOW_UP < clock.ensure_utc(p.created_at) <= r.reported_at
        ]
        for plan in plans:
            row = _outcome(session, plan, r.reported_at)
            row.later_report = True
            row.reached = plan_reach(steps[plan.id]).reached
        if plans:
            audit.record(
                session, actor=actor, action="outcomes.note_report", object_type="fraud_report",
                object_id=r.report_id, detail={"plans": [p.id for p in plans]},
            )  # fmt: skip
        marked += len(plans)
    return marked


def do_record_export(session: Session, *, actor: Actor, month: str, fmt: str, persons: int) -> None:
    """Audit an export of the monthly report (XLSX, PDF): it lists flagged persons. Caller holds the transaction."""
    audit.record(
        session, actor=actor, action="outcomes.monthly_export", object_type="monthly_report",
        object_id=month, detail={"format": fmt, "persons": persons},
    )  # fmt: skip


def on_reports_registered(batch: list[events.DomainEvent]) -> None:
    """Batch event handler: a report by a person with a recent plan is an outcome of that plan (one transaction a commit)."""
    ids = [int(event.payload["report_id"]) for event in batch]
    with db.read_transaction() as session:
        rows = report_queries.reporters(session, ids)
        reports = [NotedReport(key, clock.ensure_utc(at), rid) for rid, key, at in rows]
        # Most reporters were never warned: looked up first without the write lock (SQLite has one
        # writer, and every registered batch came here), written only when a plan is followed.
        if not reports or not _has_plans(session, reports):
            return
    with db.transaction() as session:
        do_note_reports(session, reports, actor=Actor.system("outcomes"))


def install() -> None:
    """Subscribe outcomes to the events that feed them."""
    events.subscribe_batch(report_actions.EVENT_REPORT_REGISTERED, on_reports_registered)
