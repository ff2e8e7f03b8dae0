"""Read side of orders: lists, timelines, the approval queue and the outcome figures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.orders import rules
from pingan.antifraud.orders.choices import (
    AppealStatus,
    BasisKind,
    FindingKind,
    FindingStatus,
    OrderKind,
    OrderReason,
    OrderState,
)
from pingan.antifraud.orders.model import (
    FindingAccount,
    OrderAppeal,
    PoliceFinding,
    RestrictionOrder,
    RobotAlert,
)
from pingan.antifraud.orders.schemas import (
    AppealOut,
    FindingAccountOut,
    FindingOut,
    OrderEventOut,
    OrderOut,
)
from pingan.antifraud.registry.actions import HolderLinks
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.reports.story import ReportSubject, StoryEntry, StoryPart
from pingan.core import bulk, clock
from pingan.core.i18n import _, label
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm
from pingan.core.roles import Actor


def order_out(order: RestrictionOrder, *, timeline: bool = False) -> OrderOut:
    """An order as the API shows it."""
    return OrderOut(
        id=order.id,
        kind=order.kind,
        state=order.state,
        reason=order.reason,
        basis_kind=order.basis_kind,
        report_id=order.report_id,
        finding_id=order.finding_id,
        bank_code=order.bank_code,
        account=order.account.masked,
        amount_fen=order.amount_fen,
        traced_amount_fen=order.traced_amount_fen,
        held_amount_fen=order.held_amount_fen,
        major_case=order.major_case,
        renewals=order.renewals,
        renews_order_id=order.renews_order_id,
        reject_code=order.reject_code,
        reject_reason=order.reject_reason,
        created_at=order.created_at,
        sent_at=order.sent_at,
        acknowledged_at=order.acknowledged_at,
        executed_at=order.executed_at,
        expires_at=order.expires_at,
        release_due_at=order.release_due_at,
        timeline=[
            OrderEventOut(at=e.at, from_state=e.from_state, to_state=e.to_state, actor=e.actor, note=e.note)
            for e in order.events
        ]
        if timeline
        else [],
    )


def list_orders(
    session: Session, *, state: OrderState | None = None, report_id: int | None = None, limit: int = 200
) -> list[RestrictionOrder]:
    """Orders, newest first, optionally in one state or of one report."""
    q = select(RestrictionOrder).order_by(RestrictionOrder.id.desc()).limit(limit)
    if state is not None:
        q = q.where(RestrictionOrder.state == state)
    if report_id is not None:
        q = q.where(RestrictionOrder.report_id == report_id)
    return list(session.execute(q).scalars())


ORDER_LIST = ListSpec(
    name="restriction_order",
    sorts={
        "created_at": RestrictionOrder.created_at,
        "held": RestrictionOrder.held_amount_fen,
        "bank": RestrictionOrder.bank_code,
        "state": RestrictionOrder.state,
    },
    default_sort="-created_at",
    id_column=RestrictionOrder.id,
)


@dataclass(frozen=True)
class OrderListFilter:
    """The filters of the orders list; every one optional. `account` is a pseudonym."""

    report_id: int | None = None
    bank: str | None = None
    account: str | None = None
    state: OrderState | None = None
    kind: OrderKind | None = None
    search: SearchTerm | None = None


def orders_in_view(actor: Actor) -> ColumnElement[bool]:
    """The orders within `actor`'s station view: an order is its report's station's. District-wide
    roles and grants see every order, those of holder-linked accounts with no report of their own too."""
    if actor.district_wide:
        return true()
    return RestrictionOrder.report_id.in_(report_queries.report_ids_in_view(actor))


def order_list_query(f: OrderListFilter, *, actor: Actor) -> Select[Any]:
    """The orders list's rows matching `f` within `actor`'s view: masked columns only, unordered."""
    q = select(
        RestrictionOrder.id,
        RestrictionOrder.kind,
        RestrictionOrder.state,
        RestrictionOrder.reason,
        RestrictionOrder.basis_kind,
        RestrictionOrder.report_id,
        RestrictionOrder.finding_id,
        RestrictionOrder.bank_code,
        RestrictionOrder.account.masked.label("account"),
        RestrictionOrder.amount_fen,
        RestrictionOrder.held_amount_fen,
        RestrictionOrder.created_at,
        RestrictionOrder.acknowledged_at,
        RestrictionOrder.expires_at,
    ).where(orders_in_view(actor))
    if f.report_id is not None:
        q = q.where(RestrictionOrder.report_id == f.report_id)
    if f.bank:
        q = q.where(RestrictionOrder.bank_code == f.bank)
    if f.account:
        q = q.where(RestrictionOrder.account.pseudonym == f.account)
    if f.state is not None:
        q = q.where(RestrictionOrder.state == f.state)
    if f.kind is not None:
        q = q.where(RestrictionOrder.kind == f.kind)
    if f.search is not None:
        found: ColumnElement[bool] = RestrictionOrder.report_id.in_(report_queries.report_ids_found(f.search))
        if f.search.card:
            found = or_(found, RestrictionOrder.account.pseudonym == f.search.card)
        q = q.where(found)
    return q


ORDER_EXPORT = (
    ExportColumn("Order", "id", CellKind.NUMBER),
    ExportColumn("Kind", "kind", CellKind.LABEL),
    ExportColumn("State", "state", CellKind.LABEL),
    ExportColumn("Reason", "reason", CellKind.LABEL),
    ExportColumn("Basis", "basis_kind", CellKind.LABEL),
    ExportColumn("Report", "report_id", CellKind.NUMBER),
    ExportColumn("Bank", "bank_code"),
    ExportColumn("Account", "account"),
    ExportColumn("Amount asked", "amount_fen", CellKind.MONEY),
    ExportColumn("Amount held", "held_amount_fen", CellKind.MONEY),
    ExportColumn("Created", "created_at", CellKind.TIME),
    ExportColumn("Acknowledged", "acknowledged_at", CellKind.TIME),
    ExportColumn("Expires", "expires_at", CellKind.TIME),
)


def finding_out(finding: PoliceFinding) -> FindingOut:
    """A finding with how long it has waited for a decision."""
    end = finding.decided_at or clock.now()
    return FindingOut(
        id=finding.id,
        report_id=finding.report_id,
        case_ref=finding.case_ref,
        legal_basis=finding.legal_basis,
        evidence=finding.evidence,
        kind=finding.kind,
        major_case=finding.major_case,
        major_case_reason=finding.major_case_reason,
        status=finding.status,
        drafted_by=finding.drafted_by,
        drafted_at=finding.drafted_at,
        decided_by=finding.decided_by,
        decided_at=finding.decided_at,
        waiting_s=(end - finding.drafted_at).total_seconds(),
        accounts=[
            FindingAccountOut(
                id=a.id,
                bank_code=a.bank_code,
                account=a.account.masked,
                traced_amount_fen=a.traced_amount_fen,
            )
            for a in finding.accounts
        ],
    )


def approval_queue(session: Session, limit: int = 200) -> list[PoliceFinding]:
    """Draft findings, longest waiting first."""
    return list(
        session.execute(
            select(PoliceFinding)
            .where(PoliceFinding.status == FindingStatus.DRAFT)
            .options(selectinload(PoliceFinding.accounts))
            .order_by(PoliceFinding.drafted_at)
            .limit(limit)
        ).scalars()
    )


def appeal_out(a: OrderAppeal) -> AppealOut:
    """An appeal as the API shows it."""
    return AppealOut(
        id=a.id,
        order_id=a.order_id,
        appellant=a.appellant.masked,
        status=a.status,
        filed_at=a.filed_at,
        filed_by=a.filed_by,
        decision_due_at=a.decision_due_at,
        decided_by=a.decided_by,
        decision_reason=a.decision_reason,
    )


def appeals(
    session: Session, *, order_id: int | None = None, pending_only: bool = False
) -> list[OrderAppeal]:
    """Appeals, oldest deadline first: of one order, or those awaiting a decision."""
    q = select(OrderAppeal).order_by(OrderAppeal.decision_due_at, OrderAppeal.id).limit(500)
    if order_id is not None:
        q = q.where(OrderAppeal.order_id == order_id)
    if pending_only:
        q = q.where(OrderAppeal.status == AppealStatus.PENDING)
    return list(session.execute(q).scalars())


def open_alerts(session: Session, limit: int = 100) -> list[RobotAlert]:
    """Unresolved alerts, newest first."""
    return list(
        session.execute(
            select(RobotAlert)
            .where(RobotAlert.resolved_at.is_(None))
            .order_by(RobotAlert.id.desc())
            .limit(limit)
        ).scalars()
    )


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


@dataclass(frozen=True)
class AccountOutcomes:
    """What became of a set of involved accounts: stopped with money held, stopped with nothing held,
    or not stopped (no order, or no order executed yet)."""

    involved: int
    stopped: int
    stopped_nothing_held: int

    @property
    def not_stopped(self) -> int:
        """Involved accounts with no executed order, an account that never got an order included."""
        return self.involved - self.stopped - self.stopped_nothing_held

    @property
    def rate(self) -> float | None:
        """Stopped with money held ÷ involved; None when no account is involved."""
        return self.stopped / self.involved if self.involved else None

    @property
    def nothing_held_rate(self) -> float | None:
        """Stopped with nothing held (an executed hold of ¥0) ÷ involved."""
        return self.stopped_nothing_held / self.involved if self.involved else None

    @classmethod
    def of(cls, accounts: set[tuple[str, str]], held: dict[tuple[str, str], int]) -> AccountOutcomes:
        """Count `accounts` by `held`: the most any executed order on each held (absent: none executed)."""
        executed = [held[a] for a in accounts if a in held]
        return cls(
            involved=len(accounts),
            stopped=sum(1 for h in executed if h > 0),
            stopped_nothing_held=sum(1 for h in executed if h == 0),
        )


@dataclass(frozen=True)
class OrderFigures:
    """The stop-payment loop's outcome figures."""

    direct: AccountOutcomes
    holder_linked: AccountOutcomes
    held_fen: int
    by_state: dict[str, int]
    expiring_24h: int
    to_sent_s: dict[str, float | None]
    to_ack_s: dict[str, float | None]

    @property
    def involved(self) -> AccountOutcomes:
        """Every involved account: the payees registered reports name, and the holder-linked ones."""
        d, h = self.direct, self.holder_linked
        return AccountOutcomes(
            involved=d.involved + h.involved,
            stopped=d.stopped + h.stopped,
            stopped_nothing_held=d.stopped_nothing_held + h.stopped_nothing_held,
        )

    @property
    def stop_payment_rate(self) -> float | None:
        """Involved accounts stopped with money held ÷ every involved account."""
        return self.involved.rate


def holder_linked_accounts(session: Session) -> set[tuple[str, str]]:
    """(bank, account pseudonym) of every account linked to an approved finding's holders
    (一卡涉警、全卡止付), as the registry knows them now, and of every holder-linked order issued."""
    approved = session.execute(
        select(PoliceFinding.id).where(PoliceFinding.status == FindingStatus.APPROVED)
    ).scalars()
    named = [(bank, pseudonym) for _f, bank, pseudonym, _m in finding_accounts(session, approved)]
    links = HolderLinks.resolve(session, named)
    linked = {(a.bank_code, a.account.pseudonym) for a in links.linked_to(named)}
    ordered = session.execute(
        select(RestrictionOrder.bank_code, RestrictionOrder.account.pseudonym)
        .where(
            RestrictionOrder.kind == OrderKind.STOP_PAYMENT,
            RestrictionOrder.reason == OrderReason.HOLDER_LINKED,
        )
        .distinct()
    )
    return linked | {(bank, pseudonym) for bank, pseudonym in ordered}


def figures(session: Session) -> OrderFigures:
    """Compute the figures from the reports, the approved findings and the orders.

    The denominator is every involved account, not every order: an account that never got an
    order counts as not stopped. An executed hold of ¥0 is counted apart, as stopped with nothing held.
    """
    by_state = {
        s.value: int(n)
        for s, n in session.execute(
            select(RestrictionOrder.state, func.count()).group_by(RestrictionOrder.state)
        )
    }
    # The most any executed order on each account held: one order holding money is enough. A
    # freeze counts too: an account frozen first gets no stop-payment, and it is not unstopped.
    held_by_account = {
        (bank, pseudonym): int(most)
        for bank, pseudonym, most in session.execute(
            select(
                RestrictionOrder.bank_code,
                RestrictionOrder.account.pseudonym,
                func.max(RestrictionOrder.held_amount_fen),
            )
            .where(RestrictionOrder.executed_at.is_not(None))
            .group_by(RestrictionOrder.bank_code, RestrictionOrder.account.pseudonym)
        )
    }
    direct = report_queries.registered_payee_accounts(session)
    # An account a report names directly is counted once, as direct.
    linked = holder_linked_accounts(session) - direct

    held = session.execute(
        select(func.coalesce(func.sum(RestrictionOrder.held_amount_fen), 0)).where(
            RestrictionOrder.state == OrderState.EXECUTED
        )
    ).scalar_one()
    now = clock.now()
    expiring = session.execute(
        select(func.count()).where(
            RestrictionOrder.state == OrderState.EXECUTED,
            RestrictionOrder.expires_at > now,
            RestrictionOrder.expires_at <= now + timedelta(hours=24),
        )
    ).scalar_one()
    sent: list[float] = []
    acked: list[float] = []
    for origin, s_at, a_at in session.execute(
        select(RestrictionOrder.origin_at, RestrictionOrder.sent_at, RestrictionOrder.acknowledged_at).where(
            RestrictionOrder.renews_order_id.is_(None)
        )
    ):
        if s_at is not None:
            sent.append((s_at - origin).total_seconds())
        if a_at is not None:
            acked.append((a_at - origin).total_seconds())
    pct = (50, 95, 99)
    return OrderFigures(
        direct=AccountOutcomes.of(direct, held_by_account),
        holder_linked=AccountOutcomes.of(linked, held_by_account),
        held_fen=int(held),
        by_state=by_state,
        expiring_24h=int(expiring),
        to_sent_s={f"p{p}": _percentile(sent, p) for p in pct},
        to_ack_s={f"p{p}": _percentile(acked, p) for p in pct},
    )


def approved_findings(
    session: Session, finding_ids: Iterable[int]
) -> Sequence[Row[int, str, int | None, str | None, datetime | None]]:
    """(id, case ref, report id, decided by, decided at) of those of these findings that are approved, by id.

    Plain rows: loading the findings as mapped objects cost more than the holder-link listing of them.
    """
    f = PoliceFinding
    return session.execute(
        select(f.id, f.case_ref, f.report_id, f.decided_by, f.decided_at)
        .where(bulk.any_of(session, f.id, list(finding_ids)), f.status == FindingStatus.APPROVED)
        .order_by(f.id)
    ).all()


def finding_accounts(session: Session, finding_ids: Iterable[int]) -> Sequence[Row[int, str, str, str]]:
    """(finding id, bank code, account pseudonym, account masked) of each account these findings name, in order."""
    a = FindingAccount
    return session.execute(
        select(a.finding_id, a.bank_code, a.account.pseudonym, a.account.masked)
        .where(bulk.any_of(session, a.finding_id, list(finding_ids)))
        .order_by(a.id)
    ).all()


# ---- the order page and the report's story -------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    """One order as its page shows it: the order, its bank's name, the finding it rests on, its
    appeals, what is left of its term, and the article each decision on it rests on."""

    order: RestrictionOrder
    bank_name: str
    finding: PoliceFinding | None
    appeals: list[OrderAppeal]
    left: rules.Countdown | None
    articles: dict[str, str]
    basis_article: str


def bank_name(code: str) -> str:
    """The bank's name from the directory, or its code when the directory does not list it."""
    bank = BANKS_BY_CODE.get(code)
    return bank.name if bank is not None else code


def order_view(session: Session, order: RestrictionOrder) -> OrderView:
    """What the order page shows of `order` (its events load with it)."""
    finding = session.get(PoliceFinding, order.finding_id) if order.finding_id else None
    basis = rules.ARTICLE_FINDING if order.basis_kind is BasisKind.FINDING else rules.ARTICLE_REPORT
    return OrderView(
        order=order,
        bank_name=bank_name(order.bank_code),
        finding=finding,
        appeals=appeals(session, order_id=order.id),
        left=rules.countdown(order.expires_at, clock.now()) if order.state in rules.LIVE_STATES else None,
        articles=dict(rules.ACTION_ARTICLES),
        basis_article=finding.legal_basis if finding is not None else basis,
    )


def approved_findings_naming(session: Session, order: RestrictionOrder) -> list[PoliceFinding]:
    """Approved findings that name the order's account: those a conversion into a freeze may rest on."""
    a = FindingAccount
    return list(
        session.execute(
            select(PoliceFinding)
            .join(a, a.finding_id == PoliceFinding.id)
            .where(
                PoliceFinding.status == FindingStatus.APPROVED,
                a.bank_code == order.bank_code,
                a.account.pseudonym == order.account.pseudonym,
            )
            .order_by(PoliceFinding.id.desc())
            .distinct()
        ).scalars()
    )


@dataclass(frozen=True)
class StoryOrder:
    """An order as the report page lists it."""

    order: RestrictionOrder
    bank_name: str
    left: rules.Countdown | None


def report_story(session: Session, subject: ReportSubject, actor: Actor) -> list[StoryPart]:
    """The report page's orders, findings and trace sections, with their timeline entries.

    Orders: each with its bank's name, kind, state, amount held, acknowledgement and what is left of
    its term. Findings: each with its decision (who, when, why). Trace: the trace findings' accounts
    and the amounts traced into them. The caller showed the report, so the reader may see it.
    """
    now = clock.now()
    orders = list(
        session.execute(
            select(RestrictionOrder)
            .where(RestrictionOrder.report_id == subject.id)
            .options(selectinload(RestrictionOrder.events))
            .order_by(RestrictionOrder.id)
        ).scalars()
    )
    findings = list(
        session.execute(
            select(PoliceFinding)
            .where(PoliceFinding.report_id == subject.id)
            .options(selectinload(PoliceFinding.accounts))
            .order_by(PoliceFinding.id)
        ).scalars()
    )
    rows = [
        StoryOrder(
            o,
            bank_name(o.bank_code),
            rules.countdown(o.expires_at, now) if o.state in rules.LIVE_STATES else None,
        )
        for o in orders
    ]
    order_entries = [
        StoryEntry(
            at=e.at,
            what=_("Order %(id)s (%(bank)s): %(state)s")
            % {"id": o.id, "bank": bank_name(o.bank_code), "state": label(e.to_state, "OrderState")},
            detail=e.note,
            href=f"/orders/{o.id}",
        )
        for o in orders
        for e in o.events
    ]
    finding_entries = [
        StoryEntry(at=f.drafted_at, what=_("Finding %(id)s drafted") % {"id": f.id}, detail=f.drafted_by)
        for f in findings
    ] + [
        StoryEntry(
            at=f.decided_at,
            what=_("Finding %(id)s: %(status)s") % {"id": f.id, "status": label(f.status)},
            detail=f"{f.decided_by or ''} {f.decision_note or ''}".strip(),
        )
        for f in findings
        if f.decided_at is not None
    ]
    traces = [f for f in findings if f.kind is FindingKind.TRACE]
    return [
        StoryPart(
            key="orders",
            title=_("Stop-payments and freezes"),
            template="story_orders.html",
            items=rows,
            entries=order_entries,
        ),
        StoryPart(
            key="findings",
            title=_("Findings and decisions"),
            template="story_findings.html",
            items=findings,
            entries=finding_entries,
        ),
        StoryPart(
            key="trace",
            title=_("Trace"),
            template="story_trace.html",
            items=traces,
            extra={
                "accounts": sum(len(f.accounts) for f in traces),
                "traced_fen": sum(a.traced_amount_fen or 0 for f in traces for a in f.accounts),
                "report_id": subject.id,
            },
        ),
    ]
