"""Read side of report intake: filtered lists with cursor pagination, clusters, and output models."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.reports.choices import LinkKind, ReportIntake, Typology
from pingan.antifraud.reports.model import FraudCluster, FraudReport, ReportLink, ReportTransfer
from pingan.antifraud.reports.schemas import (
    ClusterBrief,
    ClusterOut,
    ClusterReportOut,
    ReportOut,
    ReportPage,
    ReportSummaryOut,
    SharedIdentifier,
    SuspectOut,
    TransferOut,
    VictimOut,
)
from pingan.core import bulk
from pingan.core.errors import Invalid, NotFound
from pingan.core.i18n import N_
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm, any_of, day_start
from pingan.core.org import Station
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition

MAX_PAGE = 200


@dataclass(frozen=True)
class ReportFilter:
    """Filters of the report list; every one optional."""

    reported_from: datetime | None = None
    reported_to: datetime | None = None
    typology: Typology | None = None
    station_code: str | None = None
    bank: str | None = None
    cluster_id: int | None = None


def report_filters(f: ReportFilter, cursor: str | None = None) -> dict[str, object]:
    """The filters of a list read as the audit log records them."""
    return {
        "reported_from": f.reported_from.isoformat() if f.reported_from else None,
        "reported_to": f.reported_to.isoformat() if f.reported_to else None,
        "typology": f.typology.value if f.typology else None,
        "station": f.station_code,
        "bank": f.bank,
        "cluster": f.cluster_id,
        "cursor": cursor,
    }


def encode_cursor(last_id: int) -> str:
    """An opaque cursor pointing after report `last_id` (the list runs newest id first)."""
    return base64.urlsafe_b64encode(f"r:{last_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The report id a cursor points after, or Invalid naming the `cursor` field."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("r:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError:
        raise Invalid("not a cursor this server issued", field="cursor") from None


def _filtered(f: ReportFilter) -> Select[FraudReport]:
    q = select(FraudReport)
    if f.reported_from is not None:
        q = q.where(FraudReport.reported_at >= f.reported_from)
    if f.reported_to is not None:
        q = q.where(FraudReport.reported_at < f.reported_to)
    if f.typology is not None:
        q = q.where(FraudReport.typology == f.typology)
    if f.station_code:
        q = q.where(FraudReport.station_code == f.station_code)
    if f.cluster_id is not None:
        q = q.where(FraudReport.cluster_id == f.cluster_id)
    if f.bank:
        bank = f.bank.upper()
        q = q.where(
            select(ReportTransfer.id)
            .where(
                ReportTransfer.report_id == FraudReport.id,
                or_(ReportTransfer.payee_bank == bank, ReportTransfer.payer_bank == bank),
            )
            .exists()
        )
    return q


def list_reports(
    session: Session, f: ReportFilter, *, actor: Actor, cursor: str | None = None, limit: int = 50
) -> ReportPage:
    """One page of reports matching `f` within `actor`'s station view, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    q = (
        _filtered(f)
        .where(station_condition(actor, FraudReport.station_code))
        .options(selectinload(FraudReport.transfers))
    )
    if cursor:
        q = q.where(FraudReport.id < decode_cursor(cursor))
    rows = list(session.execute(q.order_by(FraudReport.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return ReportPage(
        items=[
            ReportSummaryOut(
                id=r.id,
                external_ref=r.external_ref,
                victim_name=r.victim_name.masked,
                reported_at=r.reported_at,
                station_code=r.station_code,
                typology=r.typology,
                total_amount_fen=r.total_amount_fen,
                transfer_count=len(r.transfers),
                cluster_id=r.cluster_id,
                intake=r.intake,
            )
            for r in rows
        ],
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


REPORT_LIST = ListSpec(
    name="fraud_report",
    sorts={
        "reported_at": FraudReport.reported_at,
        "amount": FraudReport.total_amount_fen,
        "ref": FraudReport.external_ref,
        "station": FraudReport.station_code,
    },
    default_sort="-reported_at",
    id_column=FraudReport.id,
)


@dataclass(frozen=True)
class ReportListFilter:
    """The filters of the report list page; every one optional. Days are Beijing-time days."""

    status: ReportIntake | None = None
    station: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    typology: Typology | None = None
    bank: str | None = None
    search: SearchTerm | None = None


def report_search(term: SearchTerm) -> ColumnElement[bool]:
    """The reports a search finds: by case number, or through the pseudonyms of the victim's phone or
    ID number, a suspect's phone, or a card or account of a transfer. No clear value is compared."""
    conditions: list[ColumnElement[bool]] = []
    if term.text:
        conditions.append(FraudReport.external_ref == term.text)
    if term.phone:
        conditions.append(FraudReport.victim_phone.pseudonym == term.phone)
        conditions.append(
            select(ReportLink.id)
            .where(
                ReportLink.report_id == FraudReport.id,
                ReportLink.kind == LinkKind.SUSPECT_PHONE,
                ReportLink.key == term.phone,
            )
            .exists()
        )
    if term.national_id:
        conditions.append(FraudReport.victim_id.pseudonym == term.national_id)
    if term.card:
        conditions.append(
            select(ReportTransfer.id)
            .where(
                ReportTransfer.report_id == FraudReport.id,
                or_(
                    ReportTransfer.payer_card.pseudonym == term.card,
                    ReportTransfer.payee_account.pseudonym == term.card,
                ),
            )
            .exists()
        )
    return any_of(conditions)


def report_ids_found(term: SearchTerm) -> Select[int]:
    """The ids of the reports a search finds (for lists of other packages that hang off reports)."""
    return select(FraudReport.id).where(report_search(term))


def report_ids_in_view(actor: Actor) -> Select[int]:
    """The ids of the reports within `actor`'s station view (for lists that hang off reports)."""
    return select(FraudReport.id).where(station_condition(actor, FraudReport.station_code))


def report_list_query(f: ReportListFilter, *, actor: Actor) -> Select[Any]:
    """The report list's rows matching `f` within `actor`'s station view: masked columns only (the
    query names no encrypted column), unordered; `core.listing` pages and exports it."""
    transfers = (
        select(func.count(ReportTransfer.id))
        .where(ReportTransfer.report_id == FraudReport.id)
        .scalar_subquery()
    )
    q = (
        select(
            FraudReport.id,
            FraudReport.external_ref,
            FraudReport.victim_name.masked.label("victim_name"),
            FraudReport.victim_phone.masked.label("victim_phone"),
            FraudReport.reported_at,
            FraudReport.station_code,
            func.coalesce(Station.name, FraudReport.station_code).label("station_name"),
            FraudReport.typology,
            FraudReport.total_amount_fen,
            transfers.label("transfer_count"),
            FraudReport.cluster_id,
            FraudReport.intake,
            FraudReport.created_by,
        )
        .outerjoin(Station, Station.code == FraudReport.station_code)
        .where(station_condition(actor, FraudReport.station_code))
    )
    if f.status is not None:
        q = q.where(FraudReport.intake == f.status)
    if f.station:
        q = q.where(FraudReport.station_code == f.station)
    if f.date_from is not None:
        q = q.where(FraudReport.reported_at >= day_start(f.date_from))
    if f.date_to is not None:
        q = q.where(FraudReport.reported_at < day_start(f.date_to + timedelta(days=1)))
    if f.typology is not None:
        q = q.where(FraudReport.typology == f.typology)
    if f.bank:
        q = q.where(
            select(ReportTransfer.id)
            .where(
                ReportTransfer.report_id == FraudReport.id,
                or_(ReportTransfer.payee_bank == f.bank, ReportTransfer.payer_bank == f.bank),
            )
            .exists()
        )
    if f.search is not None:
        q = q.where(report_search(f.search))
    return q


REPORT_EXPORT = (
    ExportColumn(N_("Case number"), "external_ref"),
    ExportColumn(N_("Reported"), "reported_at", CellKind.TIME),
    ExportColumn(N_("Victim"), "victim_name"),
    ExportColumn(N_("Victim phone"), "victim_phone"),
    ExportColumn(N_("Typology"), "typology", CellKind.LABEL),
    ExportColumn(N_("Station"), "station_name"),
    ExportColumn(N_("Amount"), "total_amount_fen", CellKind.MONEY),
    ExportColumn(N_("Transfers"), "transfer_count", CellKind.NUMBER),
    ExportColumn(N_("Cluster"), "cluster_id", CellKind.NUMBER),
    ExportColumn(N_("Status"), "intake", CellKind.LABEL),
)


def cluster_size(session: Session, cluster_id: int) -> int:
    """How many reports a cluster holds."""
    return int(session.execute(select(func.count()).where(FraudReport.cluster_id == cluster_id)).scalar_one())


def report_out(session: Session, r: FraudReport) -> ReportOut:
    """A report for output, personal data masked."""
    return ReportOut(
        id=r.id,
        external_ref=r.external_ref,
        victim=VictimOut(
            name=r.victim_name.masked, national_id=r.victim_id.masked, phone=r.victim_phone.masked
        ),
        fraud_started_at=r.fraud_started_at,
        reported_at=r.reported_at,
        station_code=r.station_code,
        officer=r.officer,
        typology=r.typology,
        narrative=r.narrative,
        total_amount_fen=r.total_amount_fen,
        transfers=[
            TransferOut(
                seq=t.seq,
                occurred_at=t.occurred_at,
                amount_fen=t.amount_fen,
                payer_card=t.payer_card.masked,
                payer_bank=t.payer_bank,
                payee_account=t.payee_account.masked,
                payee_bank=t.payee_bank,
                channel=t.channel,
            )
            for t in r.transfers
        ],
        suspects=[SuspectOut(kind=s.kind, value=s.display) for s in r.suspects],
        cluster=ClusterBrief(id=r.cluster_id, size=cluster_size(session, r.cluster_id)),
        created_at=r.created_at,
        intake=r.intake,
        source=r.source,
        confirmed_by=r.confirmed_by,
        confirmed_at=r.confirmed_at,
    )


def get_cluster(session: Session, cluster_id: int, *, actor: Actor) -> ClusterOut:
    """A cluster with its reports within `actor`'s station view and the identifiers two or more of
    them share; NotFound when none of its reports is in view (an officer does not learn it exists)."""
    cluster = session.get(FraudCluster, cluster_id)
    while cluster is not None and cluster.merged_into_id is not None:
        cluster = session.get(FraudCluster, cluster.merged_into_id)
    if cluster is None:
        raise NotFound(f"no fraud cluster {cluster_id}", field="id")
    reports = list(
        session.execute(
            select(FraudReport)
            .where(FraudReport.cluster_id == cluster.id, station_condition(actor, FraudReport.station_code))
            .order_by(FraudReport.reported_at)
        ).scalars()
    )
    if not reports:
        raise NotFound(f"no fraud cluster {cluster_id}", field="id")
    links = session.execute(
        select(ReportLink).where(ReportLink.report_id.in_([r.id for r in reports]))
    ).scalars()
    by_key: dict[tuple[str, str], tuple[str, set[int]]] = {}
    for link in links:
        _display, ids = by_key.setdefault((link.kind.value, link.key), (link.display, set()))
        ids.add(link.report_id)
    shared = [
        SharedIdentifier(kind=kind, value=display, report_ids=sorted(ids))
        for (kind, _key), (display, ids) in sorted(by_key.items(), key=lambda kv: (-len(kv[1][1]), kv[0]))
        if len(ids) >= 2
    ]
    return ClusterOut(
        id=cluster.id,
        size=len(reports),
        total_amount_fen=sum(r.total_amount_fen for r in reports),
        reports=[
            ClusterReportOut(
                id=r.id,
                external_ref=r.external_ref,
                typology=r.typology,
                reported_at=r.reported_at,
                station_code=r.station_code,
                total_amount_fen=r.total_amount_fen,
            )
            for r in reports
        ],
        shared=shared,
    )


def largest_clusters(
    session: Session, *, limit: int = 10, actor: Actor | None = None
) -> list[tuple[int, int]]:
    """The clusters with most reports (of `actor`'s station view, when given): (cluster id, size), largest first."""
    q = select(FraudReport.cluster_id, func.count().label("n"))
    if actor is not None:
        q = q.where(station_condition(actor, FraudReport.station_code))
    rows = session.execute(
        q.group_by(FraudReport.cluster_id)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), FraudReport.cluster_id)
        .limit(limit)
    ).all()
    return [(int(c), int(n)) for c, n in rows]


def typology_counts(session: Session, *, actor: Actor | None = None) -> dict[str, int]:
    """Reports per typology (of `actor`'s station view, when given)."""
    out: dict[str, int] = defaultdict(int)
    q = select(FraudReport.typology, func.count())
    if actor is not None:
        q = q.where(station_condition(actor, FraudReport.station_code))
    for typ, n in session.execute(q.group_by(FraudReport.typology)):
        out[typ.value] = int(n)
    return dict(out)


def reporters(session: Session, report_ids: Iterable[int]) -> Sequence[Row[int, str, datetime]]:
    """(report id, victim's ID pseudonym, reported at) of each of these reports, in id order."""
    return list(
        session.execute(
            select(FraudReport.id, FraudReport.victim_id.pseudonym, FraudReport.reported_at)
            .where(bulk.any_of(session, FraudReport.id, list(report_ids)))
            .order_by(FraudReport.id)
        ).all()
    )


def find_report(session: Session, report_id: int) -> FraudReport | None:
    """The report with this id, or None (from the session's identity map when already loaded)."""
    return session.get(FraudReport, report_id)


def reports_by_id(session: Session, report_ids: Iterable[int]) -> dict[int, FraudReport]:
    """The reports with these ids, by id, in one query."""
    ids = list(report_ids)
    if not ids:
        return {}
    q = select(FraudReport).where(bulk.any_of(session, FraudReport.id, ids))
    return {r.id: r for r in session.execute(q).scalars()}


def reported_payees(
    session: Session, report_ids: Iterable[int]
) -> Sequence[Row[int, str, Typology, datetime, int, str, str, str]]:
    """Each payee of these reports, in report and transfer order: (report id, external ref, typology,
    reported at, amount, payee account pseudonym, payee bank, payee account masked).

    Plain rows, one query: loading the reports with their transfers as mapped objects cost more than
    the watchlist's listing of them (cProfile of a registered batch).
    """
    r, t = FraudReport, ReportTransfer
    return session.execute(
        select(
            r.id,
            r.external_ref,
            r.typology,
            r.reported_at,
            t.amount_fen,
            t.payee_account.pseudonym,
            t.payee_bank,
            t.payee_account.masked,
        )
        .join(t, t.report_id == r.id)
        .where(bulk.any_of(session, r.id, list(report_ids)))
        .order_by(r.id, t.seq)
    ).all()


def typologies(session: Session, report_ids: Iterable[int]) -> dict[int, Typology]:
    """The typology of each of these reports, by report id."""
    ids = list(report_ids)
    if not ids:
        return {}
    q = select(FraudReport.id, FraudReport.typology).where(bulk.any_of(session, FraudReport.id, ids))
    return {rid: typology for rid, typology in session.execute(q)}


def registered_payee_accounts(session: Session) -> set[tuple[str, str]]:
    """(payee bank, payee account pseudonym) of every account a registered report names as paid.

    A report still awaiting its officer is left out: it is no basis for a stop-payment yet.
    """
    r, t = FraudReport, ReportTransfer
    rows = session.execute(
        select(t.payee_bank, t.payee_account.pseudonym)
        .join(r, r.id == t.report_id)
        .where(r.intake == ReportIntake.REGISTERED)
        .distinct()
    )
    return {(bank, pseudonym) for bank, pseudonym in rows}


def awaiting_officer(session: Session, *, limit: int = MAX_PAGE) -> list[int]:
    """The ids of reports that wait for an officer's confirmation, oldest first."""
    return list(
        session.execute(
            select(FraudReport.id)
            .where(FraudReport.intake == ReportIntake.AWAITING_OFFICER)
            .order_by(FraudReport.id)
            .limit(limit)
        ).scalars()
    )
