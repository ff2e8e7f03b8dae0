"""Read side of the supervisors' findings queue and history: searched, sorted, cursor-paged and
exported through `core.listing`; evidence as tables; and the approval plan.

The plan is what approving findings WILL issue, worked out before anything is written, the way the
robot works it out after approval (`robot.do_process_findings`):
- every finding: a stop-payment (止付, reason `holder_linked`) on each other open account of the
  holders behind the accounts it names ("一卡涉警、全卡止付"), unless the account has a live order;
- a trace finding: a freeze (冻结) of each account it names, capped at the amount traced into it; a
  live stop-payment its bank has taken is converted, one still on its way makes the freeze wait, and
  an account frozen already is left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.banks.directory import bank_name
from pingan.antifraud.orders import actions, rules
from pingan.antifraud.orders.choices import FindingKind, FindingStatus, OrderKind, OrderReason
from pingan.antifraud.orders.model import FindingAccount, PoliceFinding
from pingan.antifraud.registry.actions import HolderLinks
from pingan.antifraud.reports.queries import report_ids_found
from pingan.core.i18n import N_, _
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm

PAGE_SIZE = 20


# ---- the lists: search, sort, cursor pages, export ----------------------------------------------


def _accounts_named() -> ColumnElement[int]:
    return (
        select(func.count(FindingAccount.id))
        .where(FindingAccount.finding_id == PoliceFinding.id)
        .correlate(PoliceFinding)
        .scalar_subquery()
    )


def _amount_traced() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(FindingAccount.traced_amount_fen), 0))
        .where(FindingAccount.finding_id == PoliceFinding.id)
        .correlate(PoliceFinding)
        .scalar_subquery()
    )


# The queue: drafts, longest waiting first. Every sort column is NOT NULL (a finding naming no traced
# amount sums to 0), so (value, id) orders every row.
QUEUE_LIST = ListSpec(
    name="police_finding",
    sorts={"drafted_at": PoliceFinding.drafted_at, "accounts": _accounts_named(), "amount": _amount_traced()},
    default_sort="drafted_at",
    id_column=PoliceFinding.id,
)
# The history: decided findings (decided_at is set on every one), newest decision first.
HISTORY_LIST = ListSpec(
    name="police_finding",
    sorts={
        "decided_at": PoliceFinding.decided_at,
        "drafted_at": PoliceFinding.drafted_at,
        "accounts": _accounts_named(),
        "amount": _amount_traced(),
    },
    default_sort="-decided_at",
    id_column=PoliceFinding.id,
)


@dataclass(frozen=True)
class FindingFilter:
    """The filters of a findings list: the queue (drafts) or the history (decided), by status and kind,
    and a search by the case number of the report a finding rests on or a card it names (pseudonym)."""

    history: bool
    status: FindingStatus | None = None
    kind: FindingKind | None = None
    search: SearchTerm | None = None


def _matching(f: FindingFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.history:
        decided = [FindingStatus.APPROVED, FindingStatus.REFUSED]
        wanted = [f.status] if f.status in decided else decided
        conditions += [PoliceFinding.status.in_(wanted), PoliceFinding.decided_at.is_not(None)]
    else:
        conditions.append(PoliceFinding.status == FindingStatus.DRAFT)
    if f.kind is not None:
        conditions.append(PoliceFinding.kind == f.kind)
    if f.search is not None:
        found: list[ColumnElement[bool]] = [PoliceFinding.report_id.in_(report_ids_found(f.search))]
        if f.search.text:
            found.append(PoliceFinding.case_ref == f.search.text)
        if f.search.card:
            named = select(FindingAccount.finding_id).where(FindingAccount.account.pseudonym == f.search.card)
            found.append(PoliceFinding.id.in_(named))
        conditions.append(or_(*found))
    return conditions


def findings_query(f: FindingFilter) -> Select[Any]:
    """The findings `f` selects, with their accounts loaded, unordered; `core.listing` pages them."""
    return select(PoliceFinding).options(selectinload(PoliceFinding.accounts)).where(*_matching(f))


def findings_export_query(f: FindingFilter) -> Select[Any]:
    """The rows of a findings export: masked columns only (the query names no encrypted column)."""
    cards = (
        select(func.aggregate_strings(FindingAccount.account.masked, "; "))
        .where(FindingAccount.finding_id == PoliceFinding.id)
        .correlate(PoliceFinding)
        .scalar_subquery()
    )
    query: Select[Any] = select(  # type: ignore[assignment]  # a row of 14 typed columns
        PoliceFinding.id,
        PoliceFinding.case_ref,
        PoliceFinding.report_id,
        PoliceFinding.kind,
        PoliceFinding.status,
        PoliceFinding.major_case,
        PoliceFinding.drafted_by,
        PoliceFinding.drafted_at,
        PoliceFinding.decided_by,
        PoliceFinding.decided_at,
        PoliceFinding.decision_note,
        _accounts_named().label("accounts"),
        cards.label("cards"),
        _amount_traced().label("amount"),
    ).where(*_matching(f))
    return query


FINDING_EXPORT = (
    ExportColumn(N_("Finding"), "id", CellKind.NUMBER),
    ExportColumn(N_("Case"), "case_ref"),
    ExportColumn(N_("Report"), "report_id", CellKind.NUMBER),
    ExportColumn(N_("Kind"), "kind", CellKind.LABEL),
    ExportColumn(N_("Status"), "status", CellKind.LABEL),
    ExportColumn(N_("Major case"), "major_case", convert=lambda v: _("yes") if v else _("no")),
    ExportColumn(N_("Drafted by"), "drafted_by"),
    ExportColumn(N_("Drafted"), "drafted_at", CellKind.TIME),
    ExportColumn(N_("Decided by"), "decided_by"),
    ExportColumn(N_("Decided"), "decided_at", CellKind.TIME),
    ExportColumn(N_("Reason"), "decision_note"),
    ExportColumn(N_("Accounts"), "accounts", CellKind.NUMBER),
    ExportColumn(N_("Cards"), "cards"),
    ExportColumn(N_("Traced into them"), "amount", CellKind.MONEY),
)


# ---- evidence as tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceTransfer:
    """A transfer of the report a finding rests on: to which masked card at which bank, how much, when."""

    to: str
    bank_code: str
    bank_name: str
    amount_fen: int | None
    at: datetime | None


@dataclass(frozen=True)
class EvidenceRecommendation:
    """A trace's freeze recommendation the analyst accepted."""

    to: str
    bank_code: str
    bank_name: str
    recoverable_fen: int | None
    confidence: float | None
    hop: int | None
    followed: bool
    store_gaps: int


@dataclass(frozen=True)
class Evidence:
    """What a finding's evidence holds, by part, for a page to show as tables (never raw JSON).

    `report` findings (the robot's): the report, its typology, its transfers and how many other
    accounts its payees' holders have. `trace` findings (an analyst's): the trace's method, start, hop
    limit and window, the store days missing, and the accepted recommendations. Anything else a
    drafter put in is kept as `other`: (name, text) pairs.
    """

    report: str | None = None
    typology: str | None = None
    transfers: list[EvidenceTransfer] = field(default_factory=list)
    holder_linked_accounts: int | None = None
    trace_method: str | None = None
    trace_start: datetime | None = None
    trace_max_hops: int | None = None
    trace_window_hours: float | None = None
    trace_seeds: int | None = None
    trace_gaps: list[str] = field(default_factory=list)
    recommendations: list[EvidenceRecommendation] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _text(value: Any) -> str:
    """A leftover evidence value as plain text: lists joined, mappings as `name: value` pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _recommendation(r: dict[str, Any]) -> EvidenceRecommendation:
    reasons = [str(x) for x in r.get("reasons") or []]
    hop = next((int(x.split(":")[1]) for x in reasons if x.startswith("hop:") and x[4:].isdigit()), None)
    gaps = next(
        (int(x.split(":")[1]) for x in reasons if x.startswith("store_gaps:") and x[11:].isdigit()), 0
    )
    bank = str(r.get("bank") or "")
    confidence = r.get("confidence")
    return EvidenceRecommendation(
        to=str(r.get("to") or ""),
        bank_code=bank,
        bank_name=bank_name(bank),
        recoverable_fen=_int(r.get("recoverable_fen")),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        hop=hop,
        followed="traced_in_not_followed" not in reasons,
        store_gaps=gaps,
    )


def evidence_of(finding: PoliceFinding) -> Evidence:
    """The finding's evidence (stored as JSON) split into its parts; a part that is not as expected goes to `other`."""
    try:
        raw = json.loads(finding.evidence)
    except ValueError:
        return Evidence(other=[("evidence", finding.evidence)])
    if not isinstance(raw, dict):
        return Evidence(other=[("evidence", _text(raw))])
    known: dict[str, Any] = {}
    other: list[tuple[str, str]] = []
    transfers: list[EvidenceTransfer] = []
    recommendations: list[EvidenceRecommendation] = []
    for key, value in raw.items():
        if key == "transfers" and isinstance(value, list) and all(isinstance(t, dict) for t in value):
            transfers = [
                EvidenceTransfer(
                    to=str(t.get("to") or ""),
                    bank_code=str(t.get("bank") or ""),
                    bank_name=bank_name(str(t.get("bank") or "")),
                    amount_fen=_int(t.get("amount_fen")),
                    at=_time(t.get("at")),
                )
                for t in value
            ]
        elif key == "recommendations" and isinstance(value, list) and all(isinstance(r, dict) for r in value):
            recommendations = [_recommendation(r) for r in value]
        elif key == "trace" and isinstance(value, dict):
            known["trace"] = value
        elif (key in ("report", "typology") and isinstance(value, str)) or (
            key == "holder_linked_accounts" and _int(value) is not None
        ):
            known[key] = value
        else:
            other.append((key, _text(value)))
    trace: dict[str, Any] = known.get("trace", {})
    window = trace.get("window_hours")
    seeds = trace.get("seeds")
    return Evidence(
        report=known.get("report"),
        typology=known.get("typology"),
        transfers=transfers,
        holder_linked_accounts=known.get("holder_linked_accounts"),
        trace_method=str(trace["method"]) if "method" in trace else None,
        trace_start=_time(trace.get("start")),
        trace_max_hops=_int(trace.get("max_hops")),
        trace_window_hours=float(window) if isinstance(window, int | float) else None,
        # The seeds are the transaction store's account ids: only their count is shown.
        trace_seeds=len(seeds) if isinstance(seeds, list) else None,
        trace_gaps=[str(d) for d in trace.get("gaps") or []],
        recommendations=recommendations,
        other=other,
    )


# ---- the approval plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedOrder:
    """An order approval will issue: on which masked account at which bank, of what kind, capped at what.

    `cap_fen` None: the whole balance is held (a stop-payment). `converts`: the freeze replaces the
    account's live stop-payment. `waits`: the account's stop-payment has not reached its bank yet, so
    the freeze waits for an analyst to convert it once it has.
    """

    finding_id: int
    case_ref: str
    kind: OrderKind
    reason: OrderReason
    bank_code: str
    bank_name: str
    account: str
    cap_fen: int | None
    converts: bool = False
    waits: bool = False
    account_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class ApprovalPlan:
    """What approving these findings together will stop and freeze, finding by finding, with totals."""

    by_finding: dict[int, list[PlannedOrder]]

    @property
    def orders(self) -> list[PlannedOrder]:
        """Every planned order, finding by finding."""
        return [o for orders in self.by_finding.values() for o in orders]

    @property
    def stops(self) -> int:
        """How many accounts get a stop-payment."""
        return sum(1 for o in self.orders if o.kind is OrderKind.STOP_PAYMENT)

    @property
    def freezes(self) -> int:
        """How many accounts get a freeze (waiting ones included)."""
        return sum(1 for o in self.orders if o.kind is OrderKind.FREEZE)

    @property
    def freeze_cap_fen(self) -> int:
        """The most all the freezes together may hold: the sum of their caps."""
        return sum(o.cap_fen or 0 for o in self.orders if o.kind is OrderKind.FREEZE)

    def digest(self) -> str:
        """A fingerprint of the plan: the confirmation form carries it, and a changed plan is shown again."""
        parts = sorted(f"{o.finding_id}|{o.kind.value}|{o.account_key}|{o.cap_fen}" for o in self.orders)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def approval_plan(session: Session, findings: Sequence[PoliceFinding]) -> ApprovalPlan:
    """The orders that approving `findings` together (in id order, as the robot takes them) will issue.

    Read only. Accounts with a live order are skipped as the robot skips them, and an account two
    findings would both stop is planned once, for the first.
    """
    ordered = sorted(findings, key=lambda f: f.id)
    by_finding: dict[int, list[PlannedOrder]] = {f.id: [] for f in ordered}
    freezing: set[str] = set()
    for f in ordered:
        if f.kind is not FindingKind.TRACE:
            continue
        for acc in f.accounts:
            key = actions.live_key(acc.bank_code, acc.account.pseudonym)
            live = actions.live_order_on(session, acc.bank_code, acc.account.pseudonym)
            if key in freezing or (live is not None and live.kind is OrderKind.FREEZE):
                continue  # frozen already, by an earlier finding (of this batch, or before)
            freezing.add(key)
            cap, _ = rules.freeze_amount(None, acc.traced_amount_fen)
            by_finding[f.id].append(
                PlannedOrder(
                    finding_id=f.id,
                    case_ref=f.case_ref,
                    kind=OrderKind.FREEZE,
                    reason=OrderReason.TRACED,
                    bank_code=acc.bank_code,
                    bank_name=bank_name(acc.bank_code),
                    account=acc.account.masked,
                    cap_fen=cap,
                    converts=live is not None and rules.conversion_problem(live.kind, live.state) is None,
                    waits=live is not None and rules.conversion_problem(live.kind, live.state) is not None,
                    account_key=key,
                )
            )
    involved = {f.id: [(a.bank_code, a.account.pseudonym) for a in f.accounts] for f in ordered}
    links = HolderLinks.resolve(session, [key for keys in involved.values() for key in keys])
    linked = {f.id: links.linked_to(involved[f.id]) for f in ordered}
    taken = actions.live_keys(
        session,
        {actions.live_key(a.bank_code, a.account.pseudonym) for accs in linked.values() for a in accs},
    )
    for f in ordered:
        for other in linked[f.id]:
            key = actions.live_key(other.bank_code, other.account.pseudonym)
            if key in taken:
                continue
            taken.add(key)
            by_finding[f.id].append(
                PlannedOrder(
                    finding_id=f.id,
                    case_ref=f.case_ref,
                    kind=OrderKind.STOP_PAYMENT,
                    reason=OrderReason.HOLDER_LINKED,
                    bank_code=other.bank_code,
                    bank_name=bank_name(other.bank_code),
                    account=other.account.masked,
                    cap_fen=None,
                    account_key=key,
                )
            )
    return ApprovalPlan(by_finding)


def drafts_by_id(session: Session, finding_ids: Iterable[int]) -> list[PoliceFinding]:
    """The findings with these ids, with their accounts, in id order; NotFound names a missing one."""
    ids = sorted(set(finding_ids))
    return actions.load_findings(session, ids).ordered(ids)
