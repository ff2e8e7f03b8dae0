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

from sqlalchemy.orm import Session

from pingan.antifraud.orders import actions as order_actions
from pingan.antifraud.orders import queries as order_queries
from pingan.antifraud.registry.actions import HolderLinks
from pingan.antifraud.reports import queries as report_queries
from pingan.antifraud.watchlist.actions import Listing, do_list_accounts
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.core import events
from pingan.core.roles import Actor

FEED = Actor.system("watchlist")


def do_list_holder_linked(session: Session, *, finding_ids: list[int], actor: Actor) -> list[int]:
    """List every other open account of the holders these approved findings name, in one write.

    Caller holds the transaction. A finding that is not approved lists nothing: holder links rest
    on a police finding, as the holder-linked stop-payments do. Read as plain rows (three queries,
    through the orders' and reports' queries): loading the findings as mapped objects cost more than
    the listing.
    """
    approved = order_queries.approved_findings(session, finding_ids)
    typologies = report_queries.typologies(
        session, {x.report_id for x in approved if x.report_id is not None}
    )
    accounts: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for finding_id, bank, pseudonym, masked in order_queries.finding_accounts(
        session, [x.id for x in approved]
    ):
        accounts[finding_id].append((bank, pseudonym, masked))
    involved = {x.id: [(bank, pseudonym) for bank, pseudonym, _ in accounts[x.id]] for x in approved}
    links = HolderLinks.resolve(session, [key for keys in involved.values() for key in keys])
    listings = []
    for finding in approved:
        typology = typologies.get(finding.report_id) if finding.report_id is not None else None
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
                typology=typology.value if typology is not None else None,
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
    events.subscribe_batch_in_transaction(order_actions.EVENT_FINDING_APPROVED, on_findings_approved)
