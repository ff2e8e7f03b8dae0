"""The holder-link feed of the watchlist: an approved finding lists its holders' other accounts.

"一卡涉警、全卡止付": when a supervisor approves a finding, the robot stops every other account of
the holders it names (reason `holder_linked`). The same accounts enter the watchlist with source
`holder_link`, so that anyone paying into them is warned. They are resolved by the same registry
function the robot uses, and listed whether or not the robot could issue an order (an account with a
live order already is still a holder-linked account): a warning harms no one. The entry itself never
issues an order.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.watchlist.actions import Listing, do_list_accounts
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.core import bulk, events
from pingan.core.roles import Actor

FEED = Actor.system("watchlist")


def do_list_holder_linked(session: Session, *, finding_ids: list[int], actor: Actor) -> list[int]:
    """List every other open account of the holders these approved findings name, in one write.

    Caller holds the transaction. A finding that is not approved lists nothing: holder links rest
    on a police finding, as the holder-linked stop-payments do. Read as plain rows (two queries):
    loading the findings as mapped objects cost more than the listing.
    """
    from pingan.antifraud.orders.choices import FindingStatus
    from pingan.antifraud.orders.model import FindingAccount, PoliceFinding
    from pingan.antifraud.registry.actions import HolderLinks
    from pingan.antifraud.reports.model import FraudReport

    f, r = PoliceFinding, FraudReport
    approved = list(
        session.execute(
            select(f.id, f.case_ref, f.report_id, f.decided_by, f.decided_at, r.typology)
            .outerjoin(r, r.id == f.report_id)
            .where(bulk.any_of(session, f.id, finding_ids), f.status == FindingStatus.APPROVED)
            .order_by(f.id)
        )
    )
    accounts: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    a = FindingAccount
    for finding_id, bank, pseudonym, masked in session.execute(
        select(a.finding_id, a.bank_code, a.account.pseudonym, a.account.masked)
        .where(bulk.any_of(session, a.finding_id, [x.id for x in approved]))
        .order_by(a.id)
    ):
        accounts[finding_id].append((bank, pseudonym, masked))
    involved = {x.id: [(bank, pseudonym) for bank, pseudonym, _ in accounts[x.id]] for x in approved}
    links = HolderLinks.resolve(session, [key for keys in involved.values() for key in keys])
    listings = []
    for finding in approved:
        evidence = {
            "finding_id": finding.id,
            "case_ref": finding.case_ref,
            "report_id": finding.report_id,
            "approved_by": finding.decided_by,
            "holder_of": [masked for _, _, masked in accounts[finding.id]],
        }
        listings += [
            Listing(
                acc.account.pseudonym,
                evidence,
                bank=acc.bank_code,
                account_masked=acc.account.masked,
                typology=finding.typology.value if finding.typology is not None else None,
                now=finding.decided_at,
            )
            for acc in links.linked_to(involved[finding.id])
        ]
    return do_list_accounts(session, listings, source=WatchSource.HOLDER_LINK, actor=actor)


def on_findings_approved(session: Session, batch: list[events.DomainEvent]) -> None:
    """In-transaction event handler: list the holder-linked accounts of the findings a transaction
    approves, in it, before it commits.

    One listing per batch of approvals, not per finding: a supervisor's batch of 20 decisions took 20
    write transactions here once, each queued for SQLite's one writer (bench/stoppay.py saw such a
    request run past 30 s); and none of its own, which took the write lock once more per batch.
    """
    do_list_holder_linked(
        session, finding_ids=[int(event.payload["finding_id"]) for event in batch], actor=FEED
    )


def install() -> None:
    """Subscribe the holder-link feed to finding approvals (idempotent)."""
    from pingan.antifraud.orders.actions import EVENT_FINDING_APPROVED

    events.subscribe_batch_in_transaction(EVENT_FINDING_APPROVED, on_findings_approved)
