"""Tracing writes: an analyst accepts a trace's freeze recommendations (接受冻结建议).

Accepting does two things in one transaction, through the owning domains' actions:
- a draft police finding (认定) names the accepted accounts with their recoverable amounts, so that a
  supervisor's approval and then the freeze orders follow the existing finding → approval → order path
  (each freeze capped at the traced amount by the orders domain);
- each accepted account is listed on the watchlist with source `traced`, so that its payers are warned
  from now on. A watchlist entry never issues an order by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pingan.antifraud.orders import actions as order_actions
from pingan.antifraud.orders.choices import FindingKind
from pingan.antifraud.tracing.engine import TraceResult
from pingan.antifraud.tracing.rules import FreezeRecommendation
from pingan.antifraud.watchlist import actions as watchlist_actions
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.core import audit
from pingan.core.errors import Forbidden, Invalid
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role

if TYPE_CHECKING:  # the finding and entries come from their domains' actions; the types only annotate
    from pingan.antifraud.orders.model import PoliceFinding
    from pingan.antifraud.watchlist.model import WatchlistEntry

ACCEPTERS = order_actions.FINDING_DRAFTERS
# Who reads traces: the anti-fraud centre (a trace follows money through third parties' accounts).
TRACE_READERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})


@dataclass(frozen=True)
class Accepted:
    """What accepting recommendations wrote: the draft finding and the watchlist entries."""

    finding: PoliceFinding
    listed: list[WatchlistEntry]


def check_accept_recommendations(
    result: TraceResult, accounts: list[int] | None, cards: dict[int, tuple[str, str]], *, actor: Actor
) -> list[FreezeRecommendation]:
    """The recommendations to accept: all of the trace's, or those of `accounts`; each must be one of them."""
    if actor.role not in ACCEPTERS:
        raise Forbidden(f"role {actor.role.value} may not accept freeze recommendations")
    recs = {r.account: r for r in result.recommendations()}
    chosen = list(recs) if accounts is None else accounts
    if not chosen:
        raise Invalid("the trace recommends no account to freeze", field="accounts")
    unknown = [a for a in chosen if a not in recs]
    if unknown:
        raise Invalid(
            f"not recommended by this trace: account {', '.join(map(str, unknown))}", field="accounts"
        )
    no_card = [a for a in chosen if a not in cards]
    if no_card:
        raise Invalid(
            f"no card number in the store for account {', '.join(map(str, no_card))}", field="accounts"
        )
    return [recs[a] for a in dict.fromkeys(chosen)]


def do_accept_recommendations(
    session: Session,
    *,
    report_id: int | None,
    case_ref: str,
    result: TraceResult,
    accepted: list[FreezeRecommendation],
    cards: dict[int, tuple[str, str]],
    actor: Actor,
    major_case: bool = False,
    major_case_reason: str | None = None,
) -> Accepted:
    """Draft the finding naming the accepted accounts and list each as `traced`. Caller holds the transaction."""
    trace_ref = {
        "method": result.method.value,
        "seeds": list(result.seeds),
        "start": result.start.isoformat(),
        "max_hops": result.limits.max_hops,
        "window_hours": result.limits.window.total_seconds() / 3600,
        "gaps": [d.isoformat() for d in result.gaps],
    }
    refs: list[tuple[order_actions.AccountRef, int | None]] = []
    for rec in accepted:
        bank, number = cards[rec.account]
        protected = protect(PiiKind.CARD, number, field=f"accounts.{rec.account}")
        refs.append((order_actions.AccountRef(bank, protected), rec.recoverable_fen))
    evidence = {
        "trace": trace_ref,
        "recommendations": [
            {"to": ref.number.masked, "bank": ref.bank_code, "recoverable_fen": r.recoverable_fen,
             "confidence": r.confidence, "reasons": list(r.reasons)}
            for (ref, _), r in zip(refs, accepted, strict=True)
        ],
    }  # fmt: skip
    # A trace finding: its approval freezes each account, capped at the recoverable amount.
    draft = order_actions.FindingDraft(
        report_id=report_id,
        case_ref=case_ref,
        evidence=evidence,
        accounts=refs,
        actor=actor,
        kind=FindingKind.TRACE,
        major_case=major_case,
        major_case_reason=major_case_reason,
    )
    order_actions.check_draft_finding(draft)
    finding = order_actions.do_draft_finding(session, draft)
    listed = []
    for (ref, _), rec in zip(refs, accepted, strict=True):
        listed.append(
            watchlist_actions.do_list_account(
                session,
                account_pseudonym=ref.number.pseudonym,
                source=WatchSource.TRACED,
                evidence={
                    "report_id": report_id,
                    "finding_id": finding.id,
                    "recoverable_fen": rec.recoverable_fen,
                    "reasons": list(rec.reasons),
                    "trace": trace_ref,
                },
                actor=actor,
                confidence=rec.confidence,
                bank=ref.bank_code,
                account_masked=ref.number.masked,
                store_account_id=rec.account,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="trace.accept",
        object_type="police_finding",
        object_id=finding.id,
        purpose=f"case:{case_ref}",
        detail={"accounts": len(accepted), "method": result.method.value},
    )
    return Accepted(finding, listed)
