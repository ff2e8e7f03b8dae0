"""The stop-payment robot (数字警察助理): turns registered reports and approved findings into orders.

1. When a report is registered, every payee account in its transfers gets a stop-payment at once,
   resting on the report itself, and a finding is drafted for the holders behind those accounts.
2. When that finding is approved, "一卡涉警、全卡止付": every other account of those holders, at
   every bank, gets a stop-payment with reason `holder_linked`, resting on the finding.

Both run as event handlers after the triggering commit; `sweep_reports` catches any report whose
handler never ran (the process died between the two commits).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud import actions as report_actions
from pingan.antifraud.model import FraudReport, ReportIntake
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.model import FindingStatus, OrderKind, OrderReason, RestrictionOrder, RobotIntake
from pingan.antifraud.registry.actions import holder_linked_accounts
from pingan.core import clock, events
from pingan.core.db import transaction
from pingan.core.errors import Conflict
from pingan.core.events import DomainEvent
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

ROBOT = Actor.system("robot")
log = get_logger("robot")


def do_process_report(session: Session, report: FraudReport) -> list[RestrictionOrder]:
    """Direct stop-payments for a report's payee accounts and a draft finding for their holders.

    A report still awaiting its officer's confirmation is left alone: it is no legal basis yet.
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
    issued: list[RestrictionOrder] = []
    for ref in refs.values():
        try:
            basis = actions.check_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.DIRECT_PAYEE,
                account=ref,
                report_id=report.id,
                finding=None,
                actor=ROBOT,
            )
        except Conflict:
            continue  # already stopped, by an earlier report of the same mule account
        issued.append(
            actions.do_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.DIRECT_PAYEE,
                account=ref,
                basis=basis,
                report_id=report.id,
                finding=None,
                origin_at=report.created_at,
                actor=ROBOT,
            )
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


def do_process_finding(session: Session, finding_id: int) -> list[RestrictionOrder]:
    """Holder-linked stop-payments for every other account of the holders a finding names."""
    finding = actions.get_finding(session, finding_id)
    if finding.status is not FindingStatus.APPROVED or finding.decided_at is None:
        return []
    involved = [(a.bank_code, a.account_pseudonym) for a in finding.accounts]
    issued: list[RestrictionOrder] = []
    for acc in holder_linked_accounts(session, involved):
        ref = actions.AccountRef(acc.bank_code, acc.number_pseudonym, acc.number_cipher, acc.number_masked)
        try:
            basis = actions.check_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.HOLDER_LINKED,
                account=ref,
                report_id=finding.report_id,
                finding=finding,
                actor=ROBOT,
            )
        except Conflict:
            continue
        issued.append(
            actions.do_issue_order(
                session,
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.HOLDER_LINKED,
                account=ref,
                basis=basis,
                report_id=finding.report_id,
                finding=finding,
                origin_at=finding.decided_at,
                actor=ROBOT,
            )
        )
    return issued


def on_report_registered(event: DomainEvent) -> None:
    """Event handler: process the report in its own transaction."""
    with transaction() as session:
        report = session.get(FraudReport, int(event.payload["report_id"]))
        if report is not None:
            do_process_report(session, report)


def on_finding_approved(event: DomainEvent) -> None:
    """Event handler: issue the holder-linked stop-payments in their own transaction."""
    with transaction() as session:
        do_process_finding(session, int(event.payload["finding_id"]))


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
    events.subscribe(report_actions.EVENT_REPORT_REGISTERED, on_report_registered)
    events.subscribe(actions.EVENT_FINDING_APPROVED, on_finding_approved)
