"""The stop-payment robot (数字警察助理): turns registered reports and approved findings into orders.

1. When a report is registered, every payee account in its transfers gets a stop-payment at once,
   resting on the report itself, and a finding is drafted for the holders behind those accounts.
2. When that finding is approved, "一卡涉警、全卡止付": every other account of those holders, at
   every bank, gets a stop-payment with reason `holder_linked`, resting on the finding.
3. When a trace finding (an analyst's accepted trace recommendations) is approved, each account it
   names is frozen, capped at the amount traced into it; a live stop-payment on the account is
   converted into the freeze.

Both run inside the transaction that registers the reports (or approves the findings), just
before it commits (`events.subscribe_batch_in_transaction`), in one savepoint for the batch: the
orders are drafted at the moment the report is, with no second transaction to queue for. A failed
intake is rolled back alone, and `sweep_reports` takes in any registered report that has no intake
record a few seconds on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import AlertKind, FindingKind, FindingStatus, OrderKind, OrderReason
from pingan.antifraud.orders.model import PoliceFinding, RobotIntake
from pingan.antifraud.registry.actions import HolderLinks
from pingan.antifraud.reports import actions as report_actions
from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.model import FraudReport, ReportTransfer
from pingan.core import bulk, clock, events
from pingan.core.db import transaction
from pingan.core.errors import Conflict
from pingan.core.events import DomainEvent
from pingan.core.logging import get_logger
from pingan.core.pii import PiiKind, Protected
from pingan.core.roles import Actor

ROBOT = Actor.system("robot")
log = get_logger("robot")


@dataclass(frozen=True)
class _Payees:
    """A report's payee accounts, once each, with the amount it paid into each."""

    refs: dict[tuple[str, str], actions.AccountRef]
    traced: dict[tuple[str, str], int]

    @classmethod
    def of(cls, transfers: list[Any]) -> _Payees:
        traced: dict[tuple[str, str], int] = defaultdict(int)
        refs: dict[tuple[str, str], actions.AccountRef] = {}
        for t in transfers:
            key = (t.payee_bank, t.payee_account_pseudonym)
            traced[key] += t.amount_fen
            refs.setdefault(
                key,
                actions.AccountRef(
                    t.payee_bank,
                    Protected(
                        PiiKind.CARD,
                        t.payee_account_pseudonym,
                        t.payee_account_cipher,
                        t.payee_account_masked,
                    ),
                ),
            )
        return cls(refs, dict(traced))


def _issue_all(session: Session, planned: list[actions.OrderDraft], *, careful: bool) -> list[int]:
    """Issue the planned stop-payments; returns their order ids.

    Bulk: one flush for all (the caller checked the live orders in one query). Careful: each checked
    again and flushed in its own savepoint, so that an account another issuer took meanwhile is
    skipped alone.
    """
    if not careful:
        return actions.do_issue_order_drafts(session, planned)
    issued: list[int] = []
    for d in planned:
        try:
            actions.check_issue_order(session, d)
            issued.append(actions.do_issue_order(session, d).id)
        except Conflict:
            continue  # already stopped, by an earlier report of the same mule account
    return issued


def do_process_reports(session: Session, reports: list[FraudReport], *, careful: bool = False) -> list[int]:
    """Direct stop-payments for the reports' payee accounts and a draft finding for each report's holders.

    Oldest report first: the first report naming an account stops it, a later one finds it stopped.
    A report still awaiting its officer's confirmation is left alone: it is no legal basis yet; a
    report the robot has taken in already is not taken in again. `careful`: see `_issue_all`.
    """
    ids = [r.id for r in reports]
    done = set(
        session.execute(
            select(RobotIntake.report_id).where(bulk.any_of(session, RobotIntake.report_id, ids))
        ).scalars()
    )
    fresh = sorted(
        (r for r in reports if r.intake is ReportIntake.REGISTERED and r.id not in done), key=lambda r: r.id
    )
    if not fresh:
        return []
    actions.do_record_intake(session, [r.id for r in fresh])
    transfers = _transfers_of(session, [r.id for r in fresh])
    payees = [_Payees.of(transfers[r.id]) for r in fresh]
    keys = {actions.live_key(*key) for p in payees for key in p.refs}
    taken = actions.live_keys(session, keys)
    planned: list[actions.OrderDraft] = []
    for report, p in zip(fresh, payees, strict=True):
        stops = {
            key: actions.OrderDraft(
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.DIRECT_PAYEE,
                account=ref,
                actor=ROBOT,
                report_id=report.id,
                origin_at=report.created_at,
            )
            for key, ref in p.refs.items()
        }
        if not stops:
            continue
        # One check a report: its stops differ only in the account, which the report's basis admits.
        actions.check_issue_order(session, next(iter(stops.values())), live_checked=True)
        for key, draft in stops.items():
            if actions.live_key(*key) in taken:
                continue  # already stopped, by an earlier report of the same mule account
            taken.add(actions.live_key(*key))
            planned.append(draft)
    issued = _issue_all(session, planned, careful=careful)
    links = HolderLinks.resolve(session, [key for p in payees for key in p.refs])
    drafts: list[actions.FindingDraft] = []
    for report, p in zip(fresh, payees, strict=True):
        if not p.refs:
            continue
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
                for t in transfers[report.id]
            ],
            "holder_linked_accounts": len(links.linked_to(p.refs)),
        }
        finding = actions.FindingDraft(
            report_id=report.id,
            case_ref=report.external_ref,
            evidence=evidence,
            accounts=[(ref, p.traced[key]) for key, ref in p.refs.items()],
            actor=ROBOT,
        )
        actions.check_draft_finding(finding)
        drafts.append(finding)
    actions.do_draft_findings(session, drafts)
    return issued


def _transfers_of(session: Session, report_ids: list[int]) -> dict[int, list[Any]]:
    """The reports' transfers as plain rows, in order, in one query (mapped objects cost more than
    the rest of the intake; cProfile)."""
    t = ReportTransfer
    q = (
        select(
            t.report_id,
            t.payee_bank,
            t.payee_account.pseudonym,
            t.payee_account.cipher,
            t.payee_account.masked,
            t.amount_fen,
            t.occurred_at,
        )
        .where(bulk.any_of(session, t.report_id, report_ids))
        .order_by(t.report_id, t.seq)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(q):
        out[row.report_id].append(row)
    return out


def _issue_trace_freezes(session: Session, findings: list[PoliceFinding]) -> list[int]:
    """Freeze each account the approved trace findings name, capped at its traced amount; returns the ids.

    Each in a savepoint of its own: an account frozen already is skipped, and one whose stop-payment
    has not reached its bank yet (nothing to carry over) raises `freeze_waiting` for an analyst to
    convert it later. Trace findings are few (an analyst accepts each), so one by one costs nothing.
    """
    issued: list[int] = []
    for finding in findings:
        if finding.kind is not FindingKind.TRACE:
            continue
        for acc in finding.accounts:
            draft = actions.OrderDraft(
                kind=OrderKind.FREEZE,
                reason=OrderReason.TRACED,
                account=actions.AccountRef(acc.bank_code, acc.account),
                actor=ROBOT,
                report_id=finding.report_id,
                finding=finding,
                origin_at=finding.decided_at,
                traced_amount_fen=acc.traced_amount_fen,
                report_is_basis=False,
            )
            try:
                with session.begin_nested():
                    converting = actions.check_issue_freeze(session, draft)
                    issued.append(actions.do_issue_freeze(session, draft, converting).id)
            except Conflict as exc:
                live = actions.live_order_on(session, acc.bank_code, acc.account.pseudonym)
                if live is None or live.kind is OrderKind.FREEZE:
                    continue  # frozen already, by an earlier finding
                actions.do_raise_alert(
                    session,
                    AlertKind.FREEZE_WAITING,
                    f"order:{live.id}",
                    f"finding {finding.id}: {exc.message}; convert it (POST /api/v1/orders/{live.id}/convert)",
                )
    return issued


def do_process_findings(session: Session, finding_ids: list[int], *, careful: bool = False) -> list[int]:
    """Holder-linked stop-payments for every other account of the holders the approved findings name,
    and, for a trace finding, a freeze of each account it names."""
    loaded = actions.load_findings(session, finding_ids)
    findings = loaded.ordered(sorted(finding_ids))
    approved = [f for f in findings if f.status is FindingStatus.APPROVED and f.decided_at is not None]
    frozen = _issue_trace_freezes(session, approved)
    involved = {f.id: [(a.bank_code, a.account.pseudonym) for a in f.accounts] for f in approved}
    links = HolderLinks.resolve(session, [key for keys in involved.values() for key in keys])
    linked = {f.id: links.linked_to(involved[f.id]) for f in approved}
    taken = actions.live_keys(
        session,
        {actions.live_key(a.bank_code, a.account.pseudonym) for accs in linked.values() for a in accs},
    )
    planned: list[actions.OrderDraft] = []
    for finding in approved:
        assert finding.decided_at is not None
        refs = [actions.AccountRef(acc.bank_code, acc.account) for acc in linked[finding.id]]
        drafts = [
            actions.OrderDraft(
                kind=OrderKind.STOP_PAYMENT,
                reason=OrderReason.HOLDER_LINKED,
                account=ref,
                actor=ROBOT,
                report_id=finding.report_id,
                finding=finding,
                origin_at=finding.decided_at,
            )
            for ref in refs
        ]
        if not drafts:
            continue
        # One check a finding: its drafts differ only in the account, which a holder-linked basis admits.
        actions.check_issue_order(session, drafts[0], live_checked=True)
        for draft in drafts:
            key = actions.live_key(draft.account.bank_code, draft.account.number.pseudonym)
            if key in taken:
                continue
            taken.add(key)
            planned.append(draft)
    return frozen + _issue_all(session, planned, careful=careful)


def _load_reports(session: Session, report_ids: list[int]) -> list[FraudReport]:
    q = select(FraudReport).where(bulk.any_of(session, FraudReport.id, report_ids))
    return list(session.execute(q).scalars())


def _together_then_alone(
    session: Session, ids: list[int], process: Callable[..., object], load: Callable[..., object], what: str
) -> None:
    # The whole batch in one savepoint (SQLite has one writer: a transaction per report made the
    # robot's intake most of the registration cost, measured with bench/stoppay.py). Should it fail
    # (another issuer raced it to an account, or one bad record), each is tried alone the careful
    # way, a savepoint per order, so only the loser is skipped; the sweep catches the rest.
    try:
        with session.begin_nested():
            process(session, load(session, ids))
    except Exception:
        if len(ids) == 1:
            raise
        log.exception("robot batch failed; processing one by one", kind=what, count=len(ids))
        for one in ids:
            try:
                with session.begin_nested():
                    process(session, load(session, [one]), careful=True)
            except Exception:
                log.exception("robot could not process", kind=what, id=one)


def on_reports_registered(session: Session, batch: list[DomainEvent]) -> None:
    """In-transaction event handler: the reports a transaction registers get their direct
    stop-payments and draft findings in that same transaction, before it commits.

    Measured with bench/stoppay.py: a transaction of its own after the registration's commit was
    most of report -> order drafted at p99 (0.5-0.9 s), queued for the write lock or the CPU a
    second time. Should the intake fail, only it is rolled back and the sweep takes the reports in.
    """
    ids = [int(ev.payload["report_id"]) for ev in batch]
    _together_then_alone(session, ids, do_process_reports, _load_reports, "report")


def on_findings_approved(session: Session, batch: list[DomainEvent]) -> None:
    """In-transaction event handler: the findings a transaction approves get their holder-linked
    stop-payments in that same transaction (as `on_reports_registered`)."""
    ids = [int(ev.payload["finding_id"]) for ev in batch]
    _together_then_alone(session, ids, do_process_findings, lambda _s, ids: ids, "finding")


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
        do_process_reports(session, [report_actions.get_report(session, rid) for rid in ids], careful=True)
    return len(ids)


def install() -> None:
    """Subscribe the robot to the events it reacts to (idempotent)."""
    events.subscribe_batch_in_transaction(report_actions.EVENT_REPORT_REGISTERED, on_reports_registered)
    events.subscribe_batch_in_transaction(actions.EVENT_FINDING_APPROVED, on_findings_approved)
