"""The stop-payment robot (数字警察助理): turns registered reports and approved findings into orders.

1. When a report is registered, every payee account in its transfers gets a stop-payment at once,
   resting on the report itself, and a finding is drafted for the holders behind those accounts.
2. When that finding is approved, "一卡涉警、全卡止付": every other account of those holders, at
   every bank, gets a stop-payment with reason `holder_linked`, resting on the finding.

Both run as batch event handlers after the triggering commit: the reports (or approvals) one
commit holds are processed in one transaction, so a batch registered together costs one robot
transaction, not one each. `sweep_reports` catches any report whose handler never ran (the process
died between the two commits).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud import actions as report_actions
from pingan.antifraud.model import FraudReport, ReportIntake
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.model import (
    FindingStatus,
    OrderKind,
    OrderReason,
    PoliceFinding,
    RestrictionOrder,
    RobotIntake,
)
from pingan.antifraud.registry.actions import holder_linked_accounts
from pingan.core import clock, events
from pingan.core.db import transaction
from pingan.core.errors import Conflict
from pingan.core.events import DomainEvent
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

ROBOT = Actor.system("robot")
log = get_logger("robot")


def _issue(
    session: Session,
    *,
    reason: OrderReason,
    refs: list[actions.AccountRef],
    report_id: int | None,
    finding: PoliceFinding | None,
    origin_at: datetime,
    bulk: bool,
) -> list[RestrictionOrder]:
    """Stop-payments on `refs` that have no live order yet; the others are stopped already."""
    if bulk:
        # One query for the live orders and one flush for the new ones (no savepoint each).
        basis, free = actions.check_issue_orders(
            session,
            kind=OrderKind.STOP_PAYMENT,
            reason=reason,
            accounts=refs,
            report_id=report_id,
            finding=finding,
            actor=ROBOT,
        )
        return actions.do_issue_orders(
            session,
            kind=OrderKind.STOP_PAYMENT,
            reason=reason,
            accounts=free,
            basis=basis,
            report_id=report_id,
            finding=finding,
            origin_at=origin_at,
            actor=ROBOT,
        )
    issued: list[RestrictionOrder] = []
    for ref in refs:
        try:
            basis = actions.check_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=reason,
                account=ref,
                report_id=report_id,
                finding=finding,
                actor=ROBOT,
            )
        except Conflict:
            continue  # already stopped, by an earlier report of the same mule account
        issued.append(
            actions.do_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=reason,
                account=ref,
                basis=basis,
                report_id=report_id,
                finding=finding,
                origin_at=origin_at,
                actor=ROBOT,
            )
        )
    return issued


def do_process_report(session: Session, report: FraudReport, *, bulk: bool = False) -> list[RestrictionOrder]:
    """Direct stop-payments for a report's payee accounts and a draft finding for their holders.

    A report still awaiting its officer's confirmation is left alone: it is no legal basis yet.
    `bulk`: issue with one flush and no savepoint each (see `orders.actions.do_issue_orders`).
    """
    if report.intake is not ReportIntake.REGISTERED or session.get(RobotIntake, report.id) is not None:
        return []
    session.add(RobotIntake(report_id=report.id, processed_at=clock.now()))
    traced: dict[tuple[str, str], int] = defaultdict(int)
    refs: dict[tuple[str, str], actions.AccountRef] = {}
    for t in report.transfers:
        key = (t.payee_bank, t.payee_account_pseudonym)
        traced[key] += t.amount_fen
        refs.setdefault(
            key,
            actions.AccountRef(
                t.payee_bank, t.payee_account_pseudonym, t.payee_account_cipher, t.payee_account_masked
            ),
        )
    issued = _issue(
        session,
        reason=OrderReason.DIRECT_PAYEE,
        refs=list(refs.values()),
        report_id=report.id,
        finding=None,
        origin_at=report.created_at,
        bulk=bulk,
    )
    linked = holder_linked_accounts(session, list(refs))
    evidence = {
        "report": report.external_ref,
        "typology": report.typology.value,
        "transfers": [
            {
                "to": t.payee_account_masked,
                "bank": t.payee_bank,
                "amount_fen": t.amount_fen,
                "at": t.occurred_at.isoformat(),
            }
            for t in report.transfers
        ],
        "holder_linked_accounts": len(linked),
    }
    actions.do_draft_finding(
        session,
        report_id=report.id,
        case_ref=report.external_ref,
        evidence=evidence,
        accounts=[(ref, traced[key]) for key, ref in refs.items()],
        actor=ROBOT,
    )
    return issued


def do_process_finding(session: Session, finding_id: int, *, bulk: bool = False) -> list[RestrictionOrder]:
    """Holder-linked stop-payments for every other account of the holders a finding names."""
    finding = actions.get_finding(session, finding_id)
    if finding.status is not FindingStatus.APPROVED or finding.decided_at is None:
        return []
    involved = [(a.bank_code, a.account_pseudonym) for a in finding.accounts]
    refs = [
        actions.AccountRef(acc.bank_code, acc.number_pseudonym, acc.number_cipher, acc.number_masked)
        for acc in holder_linked_accounts(session, involved)
    ]
    return _issue(
        session,
        reason=OrderReason.HOLDER_LINKED,
        refs=refs,
        report_id=finding.report_id,
        finding=finding,
        origin_at=finding.decided_at,
        bulk=bulk,
    )


def process_reports(report_ids: list[int], *, bulk: bool = True) -> None:
    """Process these reports in one transaction, oldest first (the first report of a shared account stops it)."""
    with transaction() as session:
        reports = session.execute(
            select(FraudReport)
            .where(FraudReport.id.in_(report_ids))
            .options(selectinload(FraudReport.transfers))
            .order_by(FraudReport.id)
        ).scalars()
        for report in list(reports):
            do_process_report(session, report, bulk=bulk)


def process_findings(finding_ids: list[int], *, bulk: bool = True) -> None:
    """Issue the holder-linked stop-payments of these approved findings in one transaction."""
    with transaction() as session:
        for finding_id in sorted(finding_ids):
            do_process_finding(session, finding_id, bulk=bulk)


def _in_one_then_alone(ids: list[int], process: Callable[..., None], what: str) -> None:
    # One transaction for the whole batch (SQLite has one writer: a transaction per report made the
    # robot's intake most of the registration cost, measured with bench/stoppay.py). Should it fail
    # (another issuer raced it to an account, or one bad record), each is tried alone the careful
    # way, a savepoint per order, so only the loser is skipped; the sweep catches the rest.
    try:
        process(ids)
    except Exception:
        if len(ids) == 1:
            raise
        log.exception("robot batch failed; processing one by one", kind=what, count=len(ids))
        for one in ids:
            try:
                process([one], bulk=False)
            except Exception:
                log.exception("robot could not process", kind=what, id=one)


def on_reports_registered(batch: list[DomainEvent]) -> None:
    """Batch event handler: the reports one commit registered, processed in one transaction."""
    _in_one_then_alone([int(ev.payload["report_id"]) for ev in batch], process_reports, "report")


def on_findings_approved(batch: list[DomainEvent]) -> None:
    """Batch event handler: the findings one commit approved, their holder-linked orders in one transaction."""
    _in_one_then_alone([int(ev.payload["finding_id"]) for ev in batch], process_findings, "finding")


SWEEP_GRACE = timedelta(seconds=5)


def sweep_reports(limit: int = 500) -> int:
    """Process reports the event handler missed; returns how many.

    Only reports older than a few seconds: younger ones are still in their own handler's hands.
    """
    with transaction() as session:
        ids = list(
            session.execute(
                select(FraudReport.id)
                .outerjoin(RobotIntake, RobotIntake.report_id == FraudReport.id)
                .where(
                    RobotIntake.report_id.is_(None),
                    FraudReport.intake == ReportIntake.REGISTERED,
                    # A confirmed report is young from its confirmation on.
                    func.coalesce(FraudReport.confirmed_at, FraudReport.created_at)
                    < clock.now() - SWEEP_GRACE,
                )
                .order_by(FraudReport.id)
                .limit(limit)
            ).scalars()
        )
        for rid in ids:
            do_process_report(session, report_actions.get_report(session, rid))
    return len(ids)


def install() -> None:
    """Subscribe the robot to the events it reacts to (idempotent)."""
    events.subscribe_batch(report_actions.EVENT_REPORT_REGISTERED, on_reports_registered)
    events.subscribe_batch(actions.EVENT_FINDING_APPROVED, on_findings_approved)
