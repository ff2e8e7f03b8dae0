"""Anti-fraud HTTP API: fraud-report intake, lists, reveal, and linked-case clusters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from pingan.antifraud.reports import actions, queries
from pingan.antifraud.reports.choices import Typology
from pingan.antifraud.reports.schemas import (
    ClusterOut,
    RegisteredReportOut,
    ReportBatchIn,
    ReportBatchOut,
    ReportIn,
    ReportOut,
    ReportPage,
    RevealIn,
    RevealOut,
    VictimOut,
)
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read

router = APIRouter(prefix="/api/v1", tags=["anti-fraud"])

Writer = Annotated[Actor, Depends(require_roles(*actions.REPORT_WRITERS))]
Reader = Annotated[Actor, Depends(require_roles(*actions.REPORT_READERS))]
Revealer = Annotated[Actor, Depends(require_roles(*actions.REVEALERS))]
Confirmer = Annotated[Actor, Depends(require_roles(*actions.REPORT_CONFIRMERS))]


@router.post("/fraud-reports", response_model=ReportOut, status_code=201)
def register_report(
    body: ReportIn,
    response: Response,
    session: DbSession,
    actor: Writer,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> ReportOut:
    """Register a fraud report. The same Idempotency-Key with the same body returns the same report.

    An officer's report is registered at once, with the officer as its receiving officer. An
    analyst's waits for an officer's confirmation (`intake: awaiting_officer`) before the robot acts.
    """
    with session.begin():
        outcome = actions.register_report(
            session, actions.NewReport(report=body, actor=actor, idempotency_key=idempotency_key)
        )
    if not outcome.created:
        response.status_code = 200
    return queries.report_out(session, outcome.report)


@router.post("/fraud-reports/batch", response_model=ReportBatchOut, status_code=201)
def register_report_batch(body: ReportBatchIn, session: DbSession, actor: Writer) -> ReportBatchOut:
    """Register the reports an intake system delivers together, in one transaction: all or none.

    Each report is checked and registered as by `POST /fraud-reports` (same rules, same audit entry);
    a refusal names the report by its index (`reports.3.external_ref`) and nothing is written.
    """
    prepared = []
    # Identifiers protected before the transaction: on SQLite its write lock is taken at the first
    # statement, and what needs no database should not hold it.
    for i, report in enumerate(body.reports):
        try:
            prepared.append(
                actions.NewReport(report=report, actor=actor, prepared=actions.prepare_report(report))
            )
        except DomainError as exc:
            raise exc.within(f"reports.{i}") from exc
    with session.begin():
        actions.check_register_reports(session, prepared)
        done = actions.do_register_reports(session, prepared)
    registered = [RegisteredReportOut(id=i, external_ref=ref) for i, ref in done]
    return ReportBatchOut(reports=registered)


@router.get("/fraud-reports", response_model=ReportPage)
def list_reports(
    session: DbSession,
    actor: Reader,
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
    typology: Typology | None = None,
    station: str | None = None,
    bank: str | None = None,
    cluster: int | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
) -> ReportPage:
    """Reports of the caller's station (of the district, for district-wide roles and grants), newest
    first, filtered by report time range, typology, station, bank or cluster. The read is audited."""
    f = queries.ReportFilter(reported_from, reported_to, typology, station, bank, cluster)
    with session.begin():
        page = queries.list_reports(session, f, actor=actor, cursor=cursor, limit=limit)
        record_list_read(
            session,
            actor=actor,
            listing="fraud_report",
            filters=queries.report_filters(f, cursor),
            count=len(page.items),
        )
    return page


@router.get("/fraud-reports/{report_id}", response_model=ReportOut)
def get_report(report_id: int, session: DbSession, actor: Reader) -> ReportOut:
    """One report with its transfers, suspects and cluster; personal data masked. The view is audited.
    A report of another station is 404 to an officer."""
    with session.begin():
        report = actions.get_visible_report(session, report_id, actor=actor)
        actions.do_record_report_view(session, report, actor=actor)
    return queries.report_out(session, report)


@router.post("/fraud-reports/{report_id}/confirm", response_model=ReportOut)
def confirm_report(report_id: int, session: DbSession, actor: Confirmer) -> ReportOut:
    """An officer confirms a report that waits (受案登记): it is registered, and the robot starts on it."""
    with session.begin():
        report = actions.get_visible_report(session, report_id, actor=actor)
        actions.check_confirm_report(report, actor=actor)
        actions.do_confirm_report(session, report, actor=actor)
    return queries.report_out(session, report)


@router.post("/fraud-reports/{report_id}/reveal", response_model=RevealOut)
def reveal_report(report_id: int, body: RevealIn, session: DbSession, actor: Revealer) -> RevealOut:
    """The clear personal data of a report, for a purpose from the list and the case's report reference,
    both written to the audit log (`GET /api/v1/audit/entries?action=fraud_report.reveal` lists them)."""
    with session.begin():
        actions.check_reveal(session, actor=actor, purpose=body.purpose, reference=body.reference)
        report = actions.get_visible_report(session, report_id, actor=actor)
        clear = actions.do_reveal_report(
            session, report, actor=actor, purpose=body.purpose, reference=body.reference
        )
    return RevealOut(
        victim=VictimOut(
            name=clear.victim_name, national_id=clear.victim_national_id, phone=clear.victim_phone
        ),
        payer_cards=clear.payer_cards,
        payee_accounts=clear.payee_accounts,
        suspect_phones=clear.suspect_phones,
    )


@router.get("/fraud-clusters/{cluster_id}", response_model=ClusterOut)
def get_cluster(cluster_id: int, session: DbSession, actor: Reader) -> ClusterOut:
    """A linked-case cluster (串并案): its reports in the caller's view and the identifiers they share."""
    return queries.get_cluster(session, cluster_id, actor=actor)
