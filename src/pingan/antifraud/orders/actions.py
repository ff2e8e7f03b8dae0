"""The only code that writes orders, findings, appeals, alerts, the bank outbox, the robot's intake and bank nonces.

`check_*` validates and authorises; `do_*` writes in the caller's transaction, audits in it, and
emits events that are delivered after commit.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from pingan.antifraud.banks.protocol import Acknowledgement, OrderResult
from pingan.antifraud.orders import rules
from pingan.antifraud.orders.choices import (
    AlertKind,
    AppealStatus,
    FindingKind,
    FindingStatus,
    MessageType,
    OrderKind,
    OrderReason,
    OrderState,
    OutboxStatus,
)
from pingan.antifraud.orders.model import (
    BankInboundRejection,
    BankNonce,
    BankOutbox,
    FindingAccount,
    OrderAppeal,
    OrderEvent,
    PoliceFinding,
    RestrictionOrder,
    RobotAlert,
    RobotIntake,
)
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.reports.choices import ReportIntake
from pingan.core import audit, bulk, clock, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.pii import PiiKind, Protected, protect
from pingan.core.roles import ANTIFRAUD_STAFF, Actor, Role

if TYPE_CHECKING:  # reports are read through reports' queries; the type only annotates
    from pingan.antifraud.reports.model import FraudReport

EVENT_FINDING_APPROVED = "antifraud.finding_approved"
EVENT_ORDER_CHANGED = "antifraud.order_changed"
FINDING_DRAFTERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SYSTEM})
FINDING_APPROVERS = frozenset({Role.SUPERVISOR})
ORDER_ISSUERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SYSTEM})
APPEAL_DECIDERS = frozenset({Role.SUPERVISOR})
# Who reads findings and decides on them in bulk: the anti-fraud centre, not the stations.
FINDING_READERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})
# Anyone working the loop may file an appeal on a holder's behalf.
APPEAL_FILERS = ANTIFRAUD_STAFF
# The longest reason an appeal decision keeps (its column); a longer one is refused, never cut.
MAX_DECISION_REASON = 255


def live_key(bank_code: str, account_pseudonym: str) -> str:
    """The key that is unique among live orders: one live order per account."""
    return f"{bank_code}:{account_pseudonym}"


def get_order(session: Session, order_id: int) -> RestrictionOrder:
    """The order with `order_id`, or NotFound."""
    order = session.get(RestrictionOrder, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}", field="order_id")
    return order


def order_by_key(session: Session, idempotency_key: str) -> RestrictionOrder | None:
    """The order whose bank request carries `idempotency_key`."""
    return session.execute(
        select(RestrictionOrder).where(RestrictionOrder.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def live_order_on(session: Session, bank_code: str, account_pseudonym: str) -> RestrictionOrder | None:
    """The live order on this account, if any."""
    return session.execute(
        select(RestrictionOrder).where(RestrictionOrder.live_key == live_key(bank_code, account_pseudonym))
    ).scalar_one_or_none()


def live_keys(session: Session, keys: set[str]) -> set[str]:
    """Those of `keys` (see `live_key`) that a live order holds, in one query."""
    if not keys:
        return set()
    q = select(RestrictionOrder.live_key).where(bulk.any_of(session, RestrictionOrder.live_key, keys))
    return {k for k in session.execute(q).scalars() if k is not None}


def _event(order: RestrictionOrder, to: OrderState | str, actor: Actor, note: str, *, at: datetime) -> None:
    event = OrderEvent(
        at=at,
        from_state=order.state.value if order.state else None,
        to_state=str(to),
        actor=actor.username,
        note=note,
    )
    session = object_session(order)
    if session is None or order.id is None or "events" not in inspect(order).unloaded:
        order.events.append(event)
        return
    # Appending to an unloaded timeline would first load all of it (a query per order, measured as
    # the sender's main cost when it records a batch of bank answers): add the row by its key.
    event.order_id = order.id
    session.add(event)


@dataclass(frozen=True)
class Move:
    """One order's change of state, as `do_move_orders` writes it.

    `path` runs from the state the caller read to the new one, a transition a step (a result that
    overtook its acknowledgement is sent → acknowledged → executed), with a note for each step;
    `values` are the columns the change sets with it (bank reference, amount held, times).
    """

    order_id: int
    path: tuple[OrderState, ...]
    notes: tuple[str, ...]
    actor: Actor
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> OrderState:
        """The state the order ends in."""
        return self.path[-1]


def do_transition(
    session: Session, order: RestrictionOrder, target: OrderState, *, actor: Actor, note: str = ""
) -> None:
    """Move an order to `target` if the transition table allows it; Conflict otherwise. Audited."""
    do_move_orders(session, [Move(order.id, (order.state, target), (note,), actor)])


def do_move_orders(session: Session, moves: list[Move]) -> None:
    """Write many orders' state changes together: the only code that changes an order's state.

    Every step is checked against the transition table first (Conflict names the refused one, and
    nothing is written). Each order is updated only if it is still in the state its move starts
    from, so a change made meanwhile by another process is never overwritten: should one be, the
    move is refused (Conflict) and the caller's transaction with it. Each step gets its timeline row;
    the audit log gets one entry per actor and new state, naming every order with its path and notes.
    A statement per kind of change, not per order: the ORM's unit of work cost about 0.3 ms an order
    (cProfile of the bank-answer paths), most of the robot's time under SQLite's single write lock.
    Orders loaded in the session are updated in place, as committed, so the caller sees the new state.
    """
    if not moves:
        return
    for m in moves:
        for a, b in pairwise(m.path):
            refused = rules.transition_problem(a, b)
            if refused is not None:
                raise Conflict(f"order {m.order_id}: {refused.message}", field="state")
    session.flush()  # the caller's own pending writes go first: the statements below bypass the ORM
    now = clock.now()
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    changed: dict[int, dict[str, Any]] = {}
    timeline: list[dict[str, Any]] = []
    # In id order: concurrent writers lock rows in the same order and so cannot deadlock.
    for m in sorted(moves, key=lambda m: m.order_id):
        cols = {**m.values, "state": m.target}
        if m.target not in rules.LIVE_STATES:
            cols |= {"live_key": None, "ended_at": now}
        changed[m.order_id] = cols
        groups[tuple(sorted(cols))].append({"_id": m.order_id, "_from": m.path[0], **cols})
        for (a, b), note in zip(pairwise(m.path), m.notes, strict=True):
            timeline.append(
                {"order_id": m.order_id, "at": now, "from_state": a.value, "to_state": b.value}
                | {"actor": m.actor.username, "note": note}
            )
    for params in groups.values():
        done = bulk.update_rows(
            session, _ORDER_TABLE, params, match={"_id": "id", "_from": "state"}, lock_in_id_order=True
        )
        if done is not None and done != len(params):
            raise Conflict("an order changed state meanwhile; its change was not written", field="state")
    bulk.insert_rows(session, _EVENT_TABLE, timeline)
    for m in moves:
        loaded = session.identity_map.get(identity_key(RestrictionOrder, m.order_id))
        if loaded is not None:
            for name, value in changed[m.order_id].items():
                set_committed_value(loaded, name, value)
        events.emit(session, EVENT_ORDER_CHANGED, order_id=m.order_id, state=m.target.value)
    by_actor: dict[tuple[Actor, OrderState], list[Move]] = defaultdict(list)
    for m in moves:
        by_actor[(m.actor, m.target)].append(m)
    for (actor, target), group in by_actor.items():
        audit.record(
            session,
            actor=actor,
            action=f"order.{target.value}",
            object_type="restriction_order",
            object_id=audit.span([m.order_id for m in group]),
            detail={
                "moves": [
                    {"order": m.order_id, "path": [s.value for s in m.path], "notes": list(m.notes)}
                    for m in group
                ]
            },
        )


_ORDER_TABLE = cast(Table, RestrictionOrder.__table__)


_EVENT_TABLE = cast(Table, OrderEvent.__table__)
_OUTBOX_TABLE = cast(Table, BankOutbox.__table__)
_FINDING_TABLE = cast(Table, PoliceFinding.__table__)
_FINDING_ACCOUNT_TABLE = cast(Table, FindingAccount.__table__)
_INTAKE_TABLE = cast(Table, RobotIntake.__table__)
_NONCE_TABLE = cast(Table, BankNonce.__table__)


def _enqueue(session: Session, order: RestrictionOrder, message_type: MessageType, key: str) -> None:
    now = clock.now()
    session.add(
        BankOutbox(
            order_id=order.id,
            message_type=message_type,
            idempotency_key=key,
            bank_code=order.bank_code,
            status=OutboxStatus.PENDING,
            attempts=0,
            inquiries=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class AccountRef:
    """An account as an order names it: its bank and its protected number (stored as `account_*`)."""

    bank_code: str
    number: Protected


@dataclass(frozen=True, kw_only=True)
class OrderDraft:
    """One order to issue, as `check_issue_order` and `do_issue_order` both take it.

    `report_id` and `finding` are what the order rests on, and what it records; `origin_at` is when
    the loop began (the report registered, the finding approved), None for now. `amount_fen` and
    `traced_amount_fen` size a freeze; `renews` is the order a renewal replaces, `converts` the
    stop-payment a freeze replaces (止付转冻结): the bank request names either, so that the bank
    carries its hold over.
    `from_model_score`: the order was asked for on a model score, which is never a basis.
    `report_is_basis`: False for an analyst's order, which rests on its finding alone and only
    records the finding's report.
    """

    kind: OrderKind
    reason: OrderReason
    account: AccountRef
    actor: Actor
    report_id: int | None = None
    finding: PoliceFinding | None = None
    origin_at: datetime | None = None
    amount_fen: int | None = None
    traced_amount_fen: int | None = None
    renews: RestrictionOrder | None = None
    converts: RestrictionOrder | None = None
    from_model_score: bool = False
    report_is_basis: bool = True

    def basis(self, *, report_registered: bool) -> rules.BasisInput:
        """What the order would rest on, given whether its report is registered."""
        approved = self.finding is not None and self.finding.status is FindingStatus.APPROVED
        return rules.BasisInput(self.kind, self.reason, report_registered, approved, self.from_model_score)


def check_issue_order(session: Session, draft: OrderDraft, *, live_checked: bool = False) -> None:
    """Refuse an order without its legal basis (422), by a role that may not issue (403), or a duplicate (409).

    `live_checked`: the caller looks the live orders up itself, for many accounts at once (`live_keys`).
    """
    d = draft
    if d.actor.role not in ORDER_ISSUERS:
        raise Forbidden(f"role {d.actor.role.value} may not issue orders")
    report = (
        report_queries.find_report(session, d.report_id)
        if d.report_id is not None and d.report_is_basis
        else None
    )
    # A report the platform opened (a warning call's key 2) is no basis until an officer confirms it.
    basis = d.basis(report_registered=report is not None and report.intake is ReportIntake.REGISTERED)
    if basis.finding_approved and d.finding is not None and d.reason is not OrderReason.HOLDER_LINKED:
        named = {(a.bank_code, a.account.pseudonym) for a in d.finding.accounts}
        if (d.account.bank_code, d.account.number.pseudonym) not in named:
            raise Invalid("the finding does not name this account", field="account")
    problem = rules.basis_problem(basis)
    if problem is not None:
        raise Invalid(f"no legal basis: {problem}", field="basis")
    if (
        not live_checked
        and live_order_on(session, d.account.bank_code, d.account.number.pseudonym) is not None
    ):
        raise Conflict(
            f"account {d.account.number.masked} at {d.account.bank_code} has a live order already",
            field="account",
        )


def do_issue_order(session: Session, draft: OrderDraft) -> RestrictionOrder:
    """Draft one order and queue its bank request in the outbox, in the caller's transaction (ran `check_*`).

    Should another issuer have taken the account since the check, the unique live key refuses this
    order alone (Conflict), in a savepoint, and the caller's transaction goes on.
    """
    try:
        with session.begin_nested():
            (order_id,) = do_issue_order_drafts(session, [draft])
    except IntegrityError:
        # Two issuers raced past the check: the unique live_key decided, this one lost.
        raise Conflict(
            f"account {draft.account.number.masked} has a live order already", field="account"
        ) from None
    return get_order(session, order_id)


def do_issue_order_drafts(session: Session, drafts: list[OrderDraft]) -> list[int]:
    """Issue checked orders, each on its own basis; returns their ids, in the drafts' order.

    One insert each for the orders, their first timeline rows and their outbox requests, and one
    audit entry per issuer naming every order with its basis (the ORM's unit of work cost about 0.65 ms an
    order, measured with cProfile: the robot's main cost per report under SQLite's write lock).
    Should another issuer take one of the accounts between check and insert, the unique live_key
    fails the insert and the caller's transaction with it; the robot then issues its batch again
    one by one (`do_issue_order`, where only the loser is refused).
    """
    if not drafts:
        return []
    session.flush()  # the caller's pending writes go first: the statements below bypass the ORM
    now = clock.now()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for d in drafts:
        major = d.finding.major_case if d.finding is not None else False
        amount, note = d.amount_fen, ""
        if d.kind is OrderKind.FREEZE:
            amount, cut = rules.freeze_amount(d.amount_fen, d.traced_amount_fen)
            note = cut or ""
        notes.append(note)
        rows.append(
            {
                "kind": d.kind,
                "state": OrderState.DRAFTED,
                "reason": d.reason,
                # What the check accepted: the approved finding where there is one, else the report.
                "basis_kind": rules.basis_kind(d.basis(report_registered=d.report_id is not None)),
                "report_id": d.report_id,
                "finding_id": d.finding.id if d.finding is not None else None,
                "bank_code": d.account.bank_code,
                **d.account.number.columns("account"),
                "live_key": live_key(d.account.bank_code, d.account.number.pseudonym),
                "idempotency_key": secrets.token_hex(16),
                "amount_fen": amount,
                "traced_amount_fen": d.traced_amount_fen,
                "held_amount_fen": 0,
                "major_case": major,
                "renewals": (d.renews.renewals + 1) if d.renews is not None else 0,
                "renews_order_id": replaced.id if (replaced := d.renews or d.converts) else None,
                "origin_at": d.origin_at or now,
                "created_at": now,
                "created_by": d.actor.username,
                "expires_at": rules.expires_at(d.kind, now, major_case=major),
            }
        )
    t = _ORDER_TABLE
    ids = bulk.insert_rows(session, t, rows, return_ids=True)
    drafted = OrderState.DRAFTED.value
    bulk.insert_rows(
        session,
        _EVENT_TABLE,
        [
            {"order_id": i, "at": now, "from_state": None, "to_state": drafted, "actor": r["created_by"]}
            | {"note": note}
            for i, r, note in zip(ids, rows, notes, strict=True)
        ],
    )
    bulk.insert_rows(
        session,
        _OUTBOX_TABLE,
        [
            {
                "order_id": i,
                "message_type": MessageType.REQUEST,
                "idempotency_key": r["idempotency_key"],
                "bank_code": r["bank_code"],
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "inquiries": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for i, r in zip(ids, rows, strict=True)
        ],
    )
    by_actor: dict[Actor, list[tuple[int, dict[str, Any], OrderDraft]]] = defaultdict(list)
    for i, d, r in zip(ids, drafts, rows, strict=True):
        by_actor[d.actor].append((i, r, d))
    for actor, issued_rows in by_actor.items():
        issued = [(i, r) for i, r, _ in issued_rows]
        purposes = {
            f"report:{r['report_id']}" if r["report_id"] else f"finding:{r['finding_id']}" for _, r in issued
        }
        audit.record(
            session,
            actor=actor,
            action="order.issue",
            object_type="restriction_order",
            object_id=audit.span([i for i, _ in issued]),
            purpose=purposes.pop() if len(purposes) == 1 else None,
            detail={
                "orders": [
                    {
                        "order": i,
                        "kind": r["kind"].value,
                        "reason": r["reason"].value,
                        "basis": r["basis_kind"].value,
                        "report": r["report_id"],
                        "finding": r["finding_id"],
                        "bank": r["bank_code"],
                        "amount_fen": r["amount_fen"],
                        "renews": r["renews_order_id"],
                        "converts": d.converts.id if d.converts is not None else None,
                    }
                    for i, r, d in issued_rows
                ]
            },
        )
    return ids


# ---- findings (认定) -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FindingDraft:
    """A finding to draft, as `check_draft_finding` and `do_draft_finding` both take it: its report
    and case, the evidence, the involved accounts with their traced amounts, and who drafts it."""

    report_id: int | None
    case_ref: str
    evidence: dict[str, Any]
    accounts: list[tuple[AccountRef, int | None]]
    actor: Actor
    kind: FindingKind = FindingKind.REPORT
    major_case: bool = False
    major_case_reason: str | None = None


def check_draft_finding(draft: FindingDraft) -> None:
    """Analysts (or the robot) draft findings; a finding names at least one account; a major case says why."""
    if draft.actor.role not in FINDING_DRAFTERS:
        raise Forbidden(f"role {draft.actor.role.value} may not draft findings")
    if not draft.accounts:
        raise Invalid("a finding names at least one involved account", field="accounts")
    problem = rules.major_case_problem(draft.major_case, draft.major_case_reason)
    if problem is not None:
        raise Invalid(problem, field="major_case_reason")


def do_draft_finding(session: Session, draft: FindingDraft) -> PoliceFinding:
    """Draft a finding naming involved accounts (with traced amounts where known). Caller holds the transaction."""
    (finding_id,) = do_draft_findings(session, [draft])
    return get_finding(session, finding_id)


def do_draft_findings(session: Session, drafts: list[FindingDraft]) -> list[int]:
    """Draft several findings (the robot drafts one per report of a batch); returns their ids in order.

    One insert for the findings and one for their accounts, and one audit entry per drafter naming
    every finding with its case: the ORM's unit of work cost more than the drafting itself (cProfile of
    the robot's intake).
    """
    if not drafts:
        return []
    session.flush()  # the caller's pending writes go first: the statements below bypass the ORM
    now = clock.now()
    t = _FINDING_TABLE
    rows = [
        {
            "report_id": d.report_id,
            "case_ref": d.case_ref,
            "legal_basis": rules.ARTICLE_FINDING,
            "evidence": json.dumps(d.evidence, ensure_ascii=False, sort_keys=True),
            "kind": d.kind,
            "major_case": d.major_case,
            "major_case_reason": ((d.major_case_reason or "").strip()[:255] or None)
            if d.major_case
            else None,
            "status": FindingStatus.DRAFT,
            "drafted_by": d.actor.username,
            "drafted_at": now,
        }
        for d in drafts
    ]
    ids = bulk.insert_rows(session, t, rows, return_ids=True)
    accounts = [
        {
            "finding_id": finding_id,
            "bank_code": ref.bank_code,
            **ref.number.columns("account"),
            "traced_amount_fen": traced,
        }
        for finding_id, d in zip(ids, drafts, strict=True)
        for ref, traced in d.accounts
    ]
    if accounts:
        bulk.insert_rows(session, _FINDING_ACCOUNT_TABLE, accounts)
    by_actor: dict[Actor, list[tuple[int, FindingDraft]]] = defaultdict(list)
    for i, d in zip(ids, drafts, strict=True):
        by_actor[d.actor].append((i, d))
    for actor, drafted in by_actor.items():
        audit.record(
            session,
            actor=actor,
            action="finding.draft",
            object_type="police_finding",
            object_id=audit.span([i for i, _ in drafted]),
            purpose=f"case:{drafted[0][1].case_ref}" if len(drafted) == 1 else None,
            detail={
                "findings": [
                    {"finding": i, "case": d.case_ref, "kind": d.kind.value, "accounts": len(d.accounts)}
                    | ({"major_case": d.major_case_reason} if d.major_case else {})
                    for i, d in drafted
                ]
            },
        )
    return ids


def get_finding(session: Session, finding_id: int) -> PoliceFinding:
    """The finding with `finding_id`, or NotFound."""
    finding = session.get(PoliceFinding, finding_id)
    if finding is None:
        raise NotFound(f"no finding {finding_id}", field="finding_id")
    return finding


@dataclass(frozen=True)
class LoadedFindings:
    """Findings loaded together with their accounts, and the reports they rest on.

    Held while working on them (the identity map keeps unchanged objects only weakly), so that a
    later `get_finding` of one, and the basis check's look-up of its report, query nothing.
    """

    findings: dict[int, PoliceFinding]
    reports: dict[int, FraudReport]

    def ordered(self, finding_ids: Iterable[int]) -> list[PoliceFinding]:
        """These findings in the given order; NotFound for one that does not exist."""
        out = []
        for i in finding_ids:
            if i not in self.findings:
                raise NotFound(f"no finding {i}", field="finding_id")
            out.append(self.findings[i])
        return out


def load_findings(session: Session, finding_ids: Iterable[int]) -> LoadedFindings:
    """The findings with these ids, their accounts and reports, in three queries."""
    ids = set(finding_ids)
    if not ids:
        return LoadedFindings({}, {})
    q = (
        select(PoliceFinding)
        .where(bulk.any_of(session, PoliceFinding.id, ids))
        .options(selectinload(PoliceFinding.accounts))
    )
    findings = {f.id: f for f in session.execute(q).scalars()}
    report_ids = {f.report_id for f in findings.values() if f.report_id is not None}
    reports = report_queries.reports_by_id(session, report_ids)
    return LoadedFindings(findings, reports)


def check_mark_major(finding: PoliceFinding, *, major_case: bool, reason: str | None, actor: Actor) -> None:
    """A drafter marks a draft finding as a major case (or not), with the reason, before it is decided."""
    if actor.role not in FINDING_DRAFTERS:
        raise Forbidden(f"role {actor.role.value} may not mark findings")
    if finding.status is not FindingStatus.DRAFT:
        raise Conflict(
            f"finding {finding.id} is {finding.status.value}: only a draft is marked", field="status"
        )
    problem = rules.major_case_problem(major_case, reason)
    if problem is not None:
        raise Invalid(problem, field="major_case_reason")


def do_mark_major(
    session: Session, finding: PoliceFinding, *, major_case: bool, reason: str | None, actor: Actor
) -> PoliceFinding:
    """Mark a draft finding as a major case (a freeze then runs 1 year) or not, with the reason. Audited."""
    finding.major_case = major_case
    finding.major_case_reason = ((reason or "").strip()[:255] or None) if major_case else None
    audit.record(
        session,
        actor=actor,
        action="finding.major_case" if major_case else "finding.not_major_case",
        object_type="police_finding",
        object_id=finding.id,
        purpose=f"case:{finding.case_ref}",
        detail={"reason": finding.major_case_reason},
    )
    return finding


def check_decide_finding(finding: PoliceFinding, *, actor: Actor) -> None:
    """Only a supervisor decides, only on a draft, and never on a draft of their own."""
    if actor.role not in FINDING_APPROVERS:
        raise Forbidden(f"role {actor.role.value} may not approve findings")
    if finding.status is not FindingStatus.DRAFT:
        raise Conflict(f"finding {finding.id} is {finding.status.value} already", field="status")
    if finding.drafted_by == actor.username:
        raise Forbidden("a finding is approved by someone other than its drafter")


def do_decide_finding(
    session: Session, finding: PoliceFinding, *, approve: bool, note: str, actor: Actor
) -> PoliceFinding:
    """Approve or refuse a draft finding; approval emits `antifraud.finding_approved` after commit."""
    now = clock.now()
    finding.status = FindingStatus.APPROVED if approve else FindingStatus.REFUSED
    finding.decided_by = actor.username
    finding.decided_at = now
    finding.decision_note = note[:255] or None
    audit.record(
        session,
        actor=actor,
        action="finding.approve" if approve else "finding.refuse",
        object_type="police_finding",
        object_id=finding.id,
        purpose=f"case:{finding.case_ref}",
        detail={"note": note},
    )
    if approve:
        events.emit(session, EVENT_FINDING_APPROVED, finding_id=finding.id)
    return finding


# ---- bank answers --------------------------------------------------------------------------


def plan_sent(order_id: int, state: OrderState, *, actor: Actor, now: datetime) -> Move | None:
    """The sender is about to hand the request to the bank (its outbox row is in flight)."""
    if state not in (OrderState.DRAFTED, OrderState.FAILED):
        return None
    return Move(
        order_id, (state, OrderState.SENT), ("request handed to the bank transport",), actor, {"sent_at": now}
    )


def plan_ack(
    order_id: int, state: OrderState, ack: Acknowledgement, *, actor: Actor, now: datetime
) -> Move | None:
    """The bank's acknowledgement: accepted, or rejected at once with its reason code.

    None for a late or repeated answer: the order has moved on and the answer changes nothing.
    """
    if state is not OrderState.SENT:
        return None
    values: dict[str, Any] = {"bank_ref": ack.bank_ref, "acknowledged_at": now}
    if ack.status == "rejected":
        code = ack.reason_code.value if ack.reason_code else "unspecified"
        values |= {"reject_code": code, "reject_reason": ack.reason_text}
        return Move(order_id, (state, OrderState.REJECTED), (f"rejected: {code}",), actor, values)
    return Move(order_id, (state, OrderState.ACKNOWLEDGED), (f"bank ref {ack.bank_ref}",), actor, values)


def plan_result(
    order_id: int, state: OrderState, result: OrderResult, *, actor: Actor, now: datetime
) -> Move | None:
    """A bank result (callback or poll); None when it changes nothing (a repeat, or still pending).

    A result that overtook its acknowledgement (the ack was lost, the inquiry found the result)
    acknowledges the order first, in the same move.
    """
    if result.outcome not in ("executed", "rejected"):
        return None
    path: list[OrderState] = [state]
    notes: list[str] = []
    values: dict[str, Any] = {}
    if state is OrderState.SENT:
        path.append(OrderState.ACKNOWLEDGED)
        notes.append(f"bank ref {result.bank_ref}")
        values |= {"bank_ref": result.bank_ref, "acknowledged_at": now}
    if path[-1] is not OrderState.ACKNOWLEDGED:
        return None
    if result.outcome == "executed":
        path.append(OrderState.EXECUTED)
        whole, cents = divmod(result.held_amount_fen, 100)  # the note is read on pages: yuan, not fen
        notes.append(f"held ¥{whole:,}.{cents:02d}")
        values |= {"held_amount_fen": result.held_amount_fen, "executed_at": now}
    else:
        code = result.reason_code.value if result.reason_code else "unspecified"
        path.append(OrderState.REJECTED)
        notes.append(f"rejected: {code}")
        values |= {"reject_code": code, "reject_reason": result.reason_text}
    return Move(order_id, tuple(path), tuple(notes), actor, values)


def do_mark_sent(session: Session, order: RestrictionOrder, *, actor: Actor) -> None:
    """The sender is about to hand one order's request to the bank (see `plan_sent`)."""
    move = plan_sent(order.id, order.state, actor=actor, now=clock.now())
    do_move_orders(session, [move] if move is not None else [])


def do_record_ack(session: Session, order: RestrictionOrder, ack: Acknowledgement, *, actor: Actor) -> None:
    """Record one order's acknowledgement (see `plan_ack`)."""
    move = plan_ack(order.id, order.state, ack, actor=actor, now=clock.now())
    do_move_orders(session, [move] if move is not None else [])


def do_record_result(session: Session, order: RestrictionOrder, result: OrderResult, *, actor: Actor) -> bool:
    """Record one order's result (see `plan_result`); returns False when it changed nothing."""
    move = plan_result(order.id, order.state, result, actor=actor, now=clock.now())
    do_move_orders(session, [move] if move is not None else [])
    return move is not None


def do_record_failure(session: Session, order: RestrictionOrder, *, reason: str, actor: Actor) -> None:
    """The transport gave up on this order; an analyst may send it again."""
    if order.state in (OrderState.SENT, OrderState.DRAFTED):
        do_transition(session, order, OrderState.FAILED, actor=actor, note=reason)
        do_raise_alert(session, AlertKind.ORDER_FAILED, f"order:{order.id}", f"order {order.id}: {reason}")


def check_held_amount(result: OrderResult, *, ordered_fen: int | None) -> None:
    """Refuse a bank result whose held amount is not believable (Invalid naming `held_amount_fen`)."""
    if result.outcome != "executed":
        return
    problem = rules.held_amount_problem(result.held_amount_fen, ordered_fen)
    if problem is not None:
        raise Invalid(problem, field="held_amount_fen")


def do_log_inbound_rejection(session: Session, *, bank_code: str | None, path: str, reason: str) -> None:
    """Keep a refused bank message's reason; nothing else changes."""
    session.add(
        BankInboundRejection(at=clock.now(), bank_code=bank_code, path=path[:255], reason=reason[:255])
    )


# ---- the sender's outbox, the robot's intake, bank nonces ----------------------------------


@dataclass(frozen=True)
class OutboxClaim:
    """An outbox message the sender takes, with its attempt and inquiry counts including this try."""

    outbox_id: int
    attempts: int
    inquiries: int


@dataclass(frozen=True)
class Lease:
    """Who claims outbox messages, and until when the claim holds."""

    sender: str
    until: datetime


def do_claim_messages(session: Session, claims: list[OutboxClaim], sent: list[Move], lease: Lease) -> None:
    """Mark claimed outbox messages in flight under the sender's lease and move their orders to sent
    (`plan_sent`).

    The caller commits before it sends any of them: a message is never sent unless its claim is kept.
    """
    rows = [
        {
            "_id": c.outbox_id,
            "status": OutboxStatus.IN_FLIGHT,
            "attempts": c.attempts,
            "inquiries": c.inquiries,
            "claimed_by": lease.sender,
            "lease_until": lease.until,
        }
        for c in claims
    ]
    bulk.update_rows(session, _OUTBOX_TABLE, rows, match={"_id": "id"})
    do_move_orders(session, sent)


@dataclass(frozen=True)
class OutboxRetry:
    """An outbox message to send again: when, and why its last try failed."""

    outbox_id: int
    next_attempt_at: datetime
    error: str


def do_record_deliveries(
    session: Session, delivered: list[int], retries: list[OutboxRetry], *, at: datetime
) -> None:
    """Mark outbox messages delivered at `at`, and queue those to retry again: a statement for each."""
    released = {"claimed_by": None, "lease_until": None}
    done = [{"_id": i, "status": OutboxStatus.DELIVERED, "delivered_at": at} | released for i in delivered]
    again = [
        {"_id": r.outbox_id, "status": OutboxStatus.PENDING}
        | released
        | {"next_attempt_at": r.next_attempt_at, "last_error": r.error[:255]}
        for r in retries
    ]
    bulk.update_rows(session, _OUTBOX_TABLE, done, match={"_id": "id"})
    bulk.update_rows(session, _OUTBOX_TABLE, again, match={"_id": "id"})


def do_give_up_message(session: Session, outbox_id: int, *, error: str) -> None:
    """Mark an outbox message dead: the bank refused it, or it stayed undelivered too long."""
    row = {"_id": outbox_id, "status": OutboxStatus.DEAD, "last_error": error[:255]}
    bulk.update_rows(session, _OUTBOX_TABLE, [row], match={"_id": "id"})


def do_requeue_in_flight(session: Session, *, sender: str | None = None) -> int:
    """Queue again, due now, the messages a dead sender left in flight; returns how many.

    A message is taken back when its lease has run out (its sender died or hung), or when `sender`
    names the one that claimed it: a sender starting under its own name knows that its earlier
    incarnation is dead. Messages another live sender holds are left alone. Their fate is unknown:
    the sender asks the bank about each before it sends one again.
    """
    now = clock.now()
    expired = or_(BankOutbox.lease_until.is_(None), BankOutbox.lease_until < now)
    done = session.execute(
        update(BankOutbox)
        .where(
            BankOutbox.status == OutboxStatus.IN_FLIGHT,
            or_(expired, BankOutbox.claimed_by == sender) if sender is not None else expired,
        )
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, claimed_by=None, lease_until=None)
    )
    return int(getattr(done, "rowcount", 0))


def do_record_intake(session: Session, report_ids: list[int]) -> None:
    """Mark reports as taken in by the robot, so that neither its handler nor its sweep does them twice."""
    now = clock.now()
    bulk.insert_rows(session, _INTAKE_TABLE, [{"report_id": i, "processed_at": now} for i in report_ids])


def do_record_nonces(session: Session, nonces: list[str]) -> None:
    """Keep the nonces of accepted bank messages: the replay guard, here and across server processes.

    A nonce kept before fails the insert (IntegrityError), and the caller's transaction or savepoint with it.
    """
    now = clock.now()
    bulk.insert_rows(session, _NONCE_TABLE, [{"nonce": n, "seen_at": now} for n in nonces])


# ---- release, renewal, expiry, appeals -----------------------------------------------------


def check_release(order: RestrictionOrder) -> None:
    """Only an order the bank holds or may hold can be released."""
    problem = rules.transition_problem(order.state, OrderState.RELEASED)
    if problem is not None:
        raise Conflict(problem.message, field="state")


def do_release(session: Session, order: RestrictionOrder, *, reason: str, actor: Actor) -> None:
    """Release an order at once and queue the release message to the bank."""
    do_transition(session, order, OrderState.RELEASED, actor=actor, note=f"release: {reason}")
    _enqueue(session, order, MessageType.RELEASE, f"rel-{order.idempotency_key}")


def do_mark_unrelated(session: Session, order: RestrictionOrder, *, actor: Actor) -> None:
    """Funds found unrelated to the case: the release falls due within 3 days; overdue raises an alert.

    Marking it again changes nothing: the first deadline stands, so that marking cannot postpone a release.
    """
    if actor.role not in ORDER_ISSUERS | FINDING_APPROVERS:
        raise Forbidden(f"role {actor.role.value} may not do this")
    check_release(order)
    if order.release_due_at is not None:
        return
    order.release_due_at = clock.now() + rules.UNRELATED_RELEASE_DUE
    _event(order, order.state, actor, "funds found unrelated: release due in 3 days", at=clock.now())
    audit.record(
        session, actor=actor, action="order.unrelated", object_type="restriction_order", object_id=order.id
    )


def check_renew(order: RestrictionOrder, *, actor: Actor) -> None:
    """An issuer renews an executed order: a stop-payment twice at most, a freeze for a new term each time."""
    if actor.role not in ORDER_ISSUERS:
        raise Forbidden(f"role {actor.role.value} may not renew orders")
    problem = rules.renewal_problem(order.kind, order.state, order.renewals)
    if problem is not None:
        raise Conflict(f"order {order.id}: {problem}", field="state")


def do_renew(
    session: Session, order: RestrictionOrder, *, actor: Actor, reason: str = ""
) -> RestrictionOrder:
    """Replace an executed order with a renewal order (the old one becomes `renewed`); audited.

    The renewal's term runs from now: 48 h for a stop-payment, 6 months or 1 year for a freeze. An
    open expiry alert of the old order is resolved.
    """
    note = f"renewal {order.renewals + 1}" + (f": {reason.strip()}" if reason.strip() else "")
    do_transition(session, order, OrderState.RENEWED, actor=actor, note=note)
    do_resolve_alerts(session, AlertKind.FREEZE_EXPIRING, f"order:{order.id}")
    session.flush()
    account = AccountRef(order.bank_code, order.account)
    finding = session.get(PoliceFinding, order.finding_id) if order.finding_id else None
    draft = OrderDraft(
        kind=order.kind,
        reason=order.reason,
        account=account,
        actor=actor,
        report_id=order.report_id,
        finding=finding,
        origin_at=clock.now(),
        amount_fen=order.amount_fen,
        traced_amount_fen=order.traced_amount_fen,
        renews=order,
    )
    return do_issue_order(session, draft)


def check_convert(session: Session, order: RestrictionOrder, finding: PoliceFinding, *, actor: Actor) -> None:
    """A stop-payment is converted into a freeze by an issuer, on an approved finding naming its account.

    403 for a role that may not issue orders, 422 without the finding's basis, 409 for an order that
    is no stop-payment its bank has taken.
    """
    if actor.role not in ORDER_ISSUERS:
        raise Forbidden(f"role {actor.role.value} may not issue orders")
    if finding.status is not FindingStatus.APPROVED:
        raise Invalid(f"no legal basis: {rules.basis_problem(_freeze_basis(finding))}", field="finding_id")
    if _finding_account_of(finding, order.bank_code, order.account.pseudonym) is None:
        raise Invalid("the finding does not name this order's account", field="finding_id")
    problem = rules.conversion_problem(order.kind, order.state)
    if problem is not None:
        raise Conflict(f"order {order.id}: {problem}", field="state")


def _freeze_basis(finding: PoliceFinding) -> rules.BasisInput:
    approved = finding.status is FindingStatus.APPROVED
    return rules.BasisInput(OrderKind.FREEZE, OrderReason.TRACED, False, approved)


def _finding_account_of(finding: PoliceFinding, bank_code: str, pseudonym: str) -> FindingAccount | None:
    return next(
        (a for a in finding.accounts if a.bank_code == bank_code and a.account.pseudonym == pseudonym), None
    )


def do_convert(
    session: Session,
    order: RestrictionOrder,
    finding: PoliceFinding,
    *,
    actor: Actor,
    amount_fen: int | None = None,
) -> RestrictionOrder:
    """Convert a live stop-payment into a freeze (止付转冻结) in the caller's transaction (ran `check_convert`).

    The stop-payment ends as `converted` and the freeze starts on the same account, its request
    naming the stop-payment so that the bank carries the hold over; the freeze is capped at the
    amount the finding traced into the account, and both changes are audited.
    """
    do_transition(
        session,
        order,
        OrderState.CONVERTED,
        actor=actor,
        note=f"converted to a freeze on finding {finding.id}",
    )
    acc = _finding_account_of(finding, order.bank_code, order.account.pseudonym)
    draft = OrderDraft(
        kind=OrderKind.FREEZE,
        reason=OrderReason.TRACED,
        account=AccountRef(order.bank_code, order.account),
        actor=actor,
        report_id=finding.report_id,
        finding=finding,
        origin_at=clock.now(),
        amount_fen=amount_fen,
        traced_amount_fen=acc.traced_amount_fen if acc is not None else None,
        converts=order,
        report_is_basis=False,
    )
    check_issue_order(session, draft)
    return do_issue_order(session, draft)


def check_issue_freeze(session: Session, draft: OrderDraft) -> RestrictionOrder | None:
    """Check a freeze; returns the live stop-payment it will convert, if the account carries one.

    A live freeze on the account, or a stop-payment not yet at its bank, is refused (409).
    """
    check_issue_order(session, draft, live_checked=True)  # role and basis come first
    live = live_order_on(session, draft.account.bank_code, draft.account.number.pseudonym)
    if live is None:
        return None
    problem = rules.conversion_problem(live.kind, live.state)
    if problem is not None:
        raise Conflict(
            f"account {draft.account.number.masked} at {draft.account.bank_code} has a live order already"
            f" (order {live.id}): {problem}",
            field="account",
        )
    assert draft.finding is not None  # a freeze names its finding: `FreezeIn`, the robot
    check_convert(session, live, draft.finding, actor=draft.actor)
    return live


def do_issue_freeze(
    session: Session, draft: OrderDraft, converting: RestrictionOrder | None
) -> RestrictionOrder:
    """Issue a checked freeze, converting the live stop-payment `check_issue_freeze` returned."""
    if converting is None:
        return do_issue_order(session, draft)
    assert draft.finding is not None
    return do_convert(session, converting, draft.finding, actor=draft.actor, amount_fen=draft.amount_fen)


def do_expire(session: Session, order: RestrictionOrder, *, actor: Actor) -> None:
    """An executed order's term ran out without renewal."""
    do_transition(session, order, OrderState.EXPIRED, actor=actor, note="term ran out")


def do_maintain_order(session: Session, order: RestrictionOrder, *, actor: Actor) -> None:
    """Renew, expire or alert on one executed order, as `rules` decide."""
    t = clock.now()
    case_open = order.release_due_at is None
    decision = rules.renewal_decision(
        kind=order.kind,
        state=order.state,
        renewals=order.renewals,
        expires=order.expires_at,
        case_open=case_open,
        now=t,
    )
    if decision.action == "renew":
        do_renew(session, order, actor=actor)
        return
    if decision.action == "alert" and order.alerted_at is None:
        order.alerted_at = t
        do_raise_alert(
            session,
            AlertKind.RENEWALS_EXHAUSTED,
            f"order:{order.id}",
            f"stop-payment {order.id} renewed {order.renewals} times: convert to a freeze or let it lapse"
            f" (POST /api/v1/orders/{order.id}/convert)",
        )
    if rules.is_expired(order.state, order.expires_at, t):
        do_expire(session, order, actor=actor)
        return
    if (
        order.kind is OrderKind.FREEZE
        and order.alerted_at is None
        and rules.freeze_expiry_alert_due(order.kind, order.state, order.expires_at, t)
    ):
        order.alerted_at = t
        do_raise_alert(
            session,
            AlertKind.FREEZE_EXPIRING,
            f"order:{order.id}",
            f"freeze {order.id} expires {order.expires_at:%Y-%m-%d}: renew it or let it lapse",
        )


def check_file_appeal(order: RestrictionOrder, statement: str) -> None:
    """An appeal is against an order that restricts (or may restrict) the account, and says why."""
    if order.state not in rules.LIVE_STATES:
        raise Conflict(f"order {order.id} is {order.state.value}: nothing to appeal", field="order_id")
    if len(statement.strip()) < 10:
        raise Invalid("say in at least 10 characters why the order is wrong", field="statement")


def do_file_appeal(
    session: Session, order: RestrictionOrder, *, appellant: str, statement: str, actor: Actor
) -> OrderAppeal:
    """Record a holder's appeal (申诉) with its decision deadline."""
    now = clock.now()
    appeal = OrderAppeal(
        order_id=order.id,
        appellant=protect(PiiKind.NAME, appellant, field="appellant").sealed,
        statement=statement.strip(),
        status=AppealStatus.PENDING,
        filed_at=now,
        filed_by=actor.username,
        decision_due_at=now + rules.APPEAL_DECISION_DUE,
    )
    session.add(appeal)
    session.flush()
    _event(order, order.state, actor, f"appeal {appeal.id} filed", at=now)
    audit.record(session, actor=actor, action="appeal.file", object_type="order_appeal", object_id=appeal.id)
    return appeal


def get_appeal(session: Session, appeal_id: int) -> OrderAppeal:
    """The appeal with `appeal_id`, or NotFound."""
    appeal = session.get(OrderAppeal, appeal_id)
    if appeal is None:
        raise NotFound(f"no appeal {appeal_id}", field="appeal_id")
    return appeal


def check_decide_appeal(appeal: OrderAppeal, *, actor: Actor, reason: str) -> None:
    """A supervisor decides a pending appeal and gives the reason."""
    if actor.role not in APPEAL_DECIDERS:
        raise Forbidden(f"role {actor.role.value} may not decide appeals")
    if appeal.status is not AppealStatus.PENDING:
        raise Conflict(f"appeal {appeal.id} is decided already", field="status")
    if appeal.filed_by == actor.username:
        # Nobody decides their own case: the appeal is decided by a supervisor other than its filer.
        raise Forbidden("the decider of an appeal is never its filer: another supervisor decides it")
    if len(reason.strip()) < 4:
        raise Invalid("give the reason for the decision", field="reason")
    if len(reason.strip()) > MAX_DECISION_REASON:
        raise Invalid(f"the reason is at most {MAX_DECISION_REASON} characters: shorten it", field="reason")


def do_decide_appeal(
    session: Session, appeal: OrderAppeal, *, upheld: bool, reason: str, actor: Actor
) -> OrderAppeal:
    """Decide an appeal; an upheld appeal releases the order at once. Audited."""
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.DISMISSED
    appeal.decided_by = actor.username
    appeal.decided_at = clock.now()
    appeal.decision_reason = reason.strip()
    audit.record(
        session,
        actor=actor,
        action="appeal.uphold" if upheld else "appeal.dismiss",
        object_type="order_appeal",
        object_id=appeal.id,
        detail={"reason": reason},
    )
    order = get_order(session, appeal.order_id)
    if upheld and order.state not in rules.FINAL_STATES:
        do_release(session, order, reason=f"appeal {appeal.id} upheld", actor=actor)
    return appeal


# ---- alerts --------------------------------------------------------------------------------


def do_raise_alert(session: Session, kind: AlertKind, subject: str, message: str) -> RobotAlert | None:
    """Raise an alert unless the same one is open already."""
    open_one = session.execute(
        select(RobotAlert.id).where(
            RobotAlert.kind == kind, RobotAlert.subject == subject, RobotAlert.resolved_at.is_(None)
        )
    ).first()
    if open_one is not None:
        return None
    alert = RobotAlert(kind=kind, subject=subject, message=message[:255], raised_at=clock.now())
    session.add(alert)
    audit.record(
        session,
        actor=Actor.system("robot"),
        action=f"alert.{kind.value}",
        object_type="alert",
        object_id=subject,
    )
    return alert


def do_resolve_alerts(session: Session, kind: AlertKind, subject: str) -> None:
    """Close the open alerts of this kind and subject."""
    session.execute(
        update(RobotAlert)
        .where(RobotAlert.kind == kind, RobotAlert.subject == subject, RobotAlert.resolved_at.is_(None))
        .values(resolved_at=clock.now())
    )
