"""The only code that writes anti-fraud reports. `check_*` validates and authorises; `do_*` writes,
audits in the same transaction, and emits events that are delivered after commit."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from pingan.antifraud.reports import rules
from pingan.antifraud.reports.choices import LinkKind, ReportIntake, RevealPurpose, SuspectKind
from pingan.antifraud.reports.model import (
    FraudCluster,
    FraudReport,
    IdempotencyRecord,
    ReportLink,
    ReportTransfer,
    SuspectIdentifier,
)
from pingan.antifraud.reports.schemas import ReportIn
from pingan.core import audit, bulk, clock, events
from pingan.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from pingan.core.org import stations_by_code
from pingan.core.pii import PiiKind, Protected, decrypt, protect
from pingan.core.roles import Actor, Role
from pingan.core.scoping import check_station

REPORT_WRITERS = frozenset({Role.OFFICER, Role.ANTIFRAUD_ANALYST, Role.SYSTEM})
REPORT_READERS = frozenset({Role.OFFICER, Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})
# Clear personal data is for those who act on it: the analyst calling the victim back and the
# supervisor approving restrictions. Officers see the masked form; the audit log shows every reveal.
REVEALERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR})

EVENT_REPORT_REGISTERED = "antifraud.report_registered"
_CLUSTER = cast(Table, FraudCluster.__table__)
_REPORT = cast(Table, FraudReport.__table__)
_TRANSFER = cast(Table, ReportTransfer.__table__)
_SUSPECT = cast(Table, SuspectIdentifier.__table__)
_LINK = cast(Table, ReportLink.__table__)
_IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__)
# A report that waits for an officer's confirmation: entered by an analyst, imported from a file,
# or opened by the platform (a warning call's key 2).
EVENT_REPORT_AWAITING_OFFICER = "antifraud.report_awaiting_officer"
# Who may confirm a report as its receiving officer (受案登记): a station officer, the role whose
# registration is the legal basis of a direct stop-payment; never an analyst, a supervisor or the
# system itself. An officer of any station may confirm for now.
REPORT_CONFIRMERS = frozenset({Role.OFFICER})


@dataclass(frozen=True)
class RegisterOutcome:
    """The report and whether this call created it (False: an idempotent replay)."""

    report: FraudReport
    created: bool


@dataclass(frozen=True, kw_only=True)
class NewReport:
    """One report to register, as `check_register_report` and `do_register_report` both take it
    (and, many together, `check_register_reports` and `do_register_reports`).

    `idempotency_key`: a replay with the same key and body returns the first report. Only a
    logged-in officer's entry is registered at once (`rules.decide_intake`), with that officer as
    its receiving officer. An analyst's entry, a file import (`imported`) and a report the platform
    opened (`awaiting_officer`, a warning call's key 2) are stored as opened by `source`: linked and
    audited the same way, but nothing acts on them until `do_confirm_report` (see `ReportIntake`).
    `prepared`: its `prepare_report`, worked out before the write transaction; None to work it out in it.
    """

    report: ReportIn
    actor: Actor
    idempotency_key: str | None = None
    source: str = ""
    awaiting_officer: bool = False
    imported: bool = False
    prepared: PreparedReport | None = None

    def intake(self) -> rules.IntakeDecision:
        """Registered at once, or waiting for an officer (`rules.decide_intake`)."""
        return rules.decide_intake(
            role=self.actor.role, imported=self.imported, opened_by_platform=self.awaiting_officer
        )

    def opened_by(self) -> str:
        """Who or what opened a report that waits for an officer: the given source, or the actor."""
        return self.source or f"{self.actor.role.value}:{self.actor.username}"


def check_register_report(session: Session, item: NewReport) -> FraudReport | None:
    """Validate a report against the platform's state.

    Returns the existing report when its idempotency key was already used with the same body (a
    replay), raises Conflict when it was used with another body or the external reference exists.
    """
    if item.actor.role not in REPORT_WRITERS:
        raise Forbidden(f"role {item.actor.role.value} may not register reports")
    if item.idempotency_key is not None:
        body_hash = rules.canonical_hash(item.report.model_dump(mode="json"))
        seen = session.get(IdempotencyRecord, item.idempotency_key)
        if seen is not None:
            if seen.scope != "fraud_report" or seen.body_hash != body_hash:
                raise Conflict("this Idempotency-Key was used with a different body", field="Idempotency-Key")
            return session.get(FraudReport, seen.object_id)
    check_register_reports(session, [item], batch=False)
    return None


def check_register_reports(session: Session, items: list[NewReport], *, batch: bool = True) -> None:
    """Validate reports registered together: each by the report rules, its station known, its
    external reference neither registered already nor repeated in the batch. A refusal names the
    report by its index (`reports.3.external_ref`) when `batch`. Two queries for the batch."""
    for item in items:
        if item.actor.role not in REPORT_WRITERS:
            raise Forbidden(f"role {item.actor.role.value} may not register reports")
    reports = [item.report for item in items]

    def named(i: int, exc: DomainError) -> DomainError:
        return exc.within(f"reports.{i}") if batch else exc

    now = clock.now()
    for i, report in enumerate(reports):
        problems = rules.report_problems(report, now=now)
        if problems:
            raise named(i, Invalid(problems[0].message, field=problems[0].field))
    known = stations_by_code(session, {r.station_code for r in reports})
    for i, report in enumerate(reports):
        if report.station_code not in known:
            raise named(i, Invalid(f"unknown station {report.station_code!r}", field="station_code"))
    refs = [r.external_ref for r in reports]
    wanted = {ref for ref in refs if ref is not None}
    taken = (
        set(
            session.execute(
                select(FraudReport.external_ref).where(bulk.any_of(session, FraudReport.external_ref, wanted))
            ).scalars()
        )
        if wanted
        else set()
    )
    seen: set[str] = set()
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        if ref in taken:
            raise named(i, Conflict(f"report {ref} is registered already", field="external_ref"))
        if ref in seen:
            raise named(i, Conflict(f"report {ref} appears twice in this batch", field="external_ref"))
        seen.add(ref)


@dataclass(frozen=True)
class PreparedReport:
    """A report's protected identifiers, child rows and link keys: everything its registration
    works out without the database (`prepare_report`), so that a batch does it before taking the
    write transaction (SQLite has one writer, and pseudonymising and encrypting a report's dozen
    identifiers was a fifth of its registration under that lock, measured with cProfile)."""

    victim_name: Protected
    victim_id: Protected
    victim_phone: Protected
    transfers: list[dict[str, Any]]
    suspects: list[dict[str, Any]]
    links: list[tuple[LinkKind, str, str]]
    body_hash: str


def prepare_report(report: ReportIn) -> PreparedReport:
    """Protect every identifier of `report` (Invalid names the field) and work out its rows and link keys."""
    transfers = []
    links: dict[tuple[LinkKind, str], str] = {}
    for seq, t in enumerate(report.transfers):
        payer = protect(PiiKind.CARD, t.payer_card, field=f"transfers.{seq}.payer_card")
        payee = protect(PiiKind.CARD, t.payee_account, field=f"transfers.{seq}.payee_account")
        transfers.append(
            {
                "seq": seq,
                "occurred_at": t.occurred_at,
                "amount_fen": t.amount_fen,
                **payer.columns("payer_card"),
                "payer_bank": t.payer_bank,
                **payee.columns("payee_account"),
                "payee_bank": t.payee_bank,
                "channel": t.channel,
            }
        )
        links[(LinkKind.PAYEE_ACCOUNT, payee.pseudonym)] = f"{payee.masked} ({t.payee_bank})"
    suspects = [_suspect_row(i, s.kind, s.value) for i, s in enumerate(report.suspects)]
    for s in report.suspects:
        if s.kind is SuspectKind.PHONE:
            try:
                p = protect(PiiKind.PHONE, s.value)
            except Invalid:
                continue  # kept as a suspect (see `_suspect_row`), but only mobiles link reports
            links[(LinkKind.SUSPECT_PHONE, p.pseudonym)] = p.masked
        elif s.kind is SuspectKind.URL:
            url = rules.normalize_url(s.value)
            links[(LinkKind.URL, url)] = url
    return PreparedReport(
        victim_name=protect(PiiKind.NAME, report.victim.name, field="victim.name"),
        victim_id=protect(PiiKind.NATIONAL_ID, report.victim.national_id, field="victim.national_id"),
        victim_phone=protect(PiiKind.PHONE, report.victim.phone, field="victim.phone"),
        transfers=transfers,
        suspects=suspects,
        links=[(kind, key, display) for (kind, key), display in links.items()],
        body_hash=rules.canonical_hash(report.model_dump(mode="json")),
    )


def _suspect_row(index: int, kind: SuspectKind, value: str) -> dict[str, Any]:
    if kind is SuspectKind.PHONE:
        try:
            p = protect(PiiKind.PHONE, value, field=f"suspects.{index}.value")
        except Invalid:
            # Fraudsters call from landlines, VoIP and foreign numbers; keep them, but only
            # mainland mobiles are normalised into a linkable pseudonym.
            digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
            return {"kind": kind, "link_key": f"raw:{digits}", "display": value, "value_cipher": None}
        return {"kind": kind, "link_key": p.pseudonym, "display": p.masked, "value_cipher": p.cipher}
    if kind is SuspectKind.URL:
        return {"kind": kind, "link_key": rules.normalize_url(value), "display": value, "value_cipher": None}
    return {"kind": kind, "link_key": value.strip().lower(), "display": value, "value_cipher": None}


class _Clusters:
    """Which cluster each link key is in, looked up once for a batch and kept up to date as its
    reports are linked one by one (a later report of the batch may link to an earlier one, or
    bridge two clusters; see `rules.plan_cluster`).

    Nothing is written until `write`: a new cluster gets a stand-in id above every real one (so
    that the oldest cluster still wins a merge), and all of them are inserted in one statement.
    A round trip per report was a fifth of a batch's registration on PostgreSQL (py-spy).
    """

    _NEW = 1 << 62

    def __init__(self, session: Session, links: Iterable[tuple[LinkKind, str, str]]) -> None:
        self.session = session
        self.of_key: dict[tuple[LinkKind, str], set[int]] = defaultdict(set)
        self.fresh = 0
        self.merges: list[tuple[int, int]] = []
        self.real: dict[int, int] = {}
        wanted = {(kind, key) for kind, key, _display in links}
        if not wanted:
            return
        # One query for all the batch's identifiers (not one each): keys of another kind that
        # happen to be equal are filtered out here.
        rows = session.execute(
            select(ReportLink.kind, ReportLink.key, FraudReport.cluster_id)
            .join(ReportLink, ReportLink.report_id == FraudReport.id)
            .where(bulk.any_of(session, ReportLink.key, {key for _kind, key in wanted}))
            .distinct()
        )
        for kind, key, cluster_id in rows:
            if (kind, key) in wanted:
                self.of_key[(kind, key)].add(cluster_id)

    def assign(self, links: list[tuple[LinkKind, str, str]]) -> tuple[int, rules.ClusterPlan]:
        """The cluster of a report with these link keys (maybe a stand-in), merging any it bridges."""
        linked: dict[int, set[str]] = defaultdict(set)
        for kind, key, _display in links:
            for cluster_id in self.of_key.get((kind, key), ()):
                linked[cluster_id].add(kind.value)
        plan = rules.plan_cluster(dict(linked))
        if plan.target is None:
            self.fresh += 1
            target = self._NEW + self.fresh
        else:
            target = plan.target
        for old in plan.merged:
            self.merges.append((old, target))
            for clusters in self.of_key.values():
                if old in clusters:
                    clusters.discard(old)
                    clusters.add(target)
        for kind, key, _display in links:
            self.of_key[(kind, key)] = {target}
        return target, plan

    def write(self) -> None:
        """Insert the new clusters and record the merges (reports of merged clusters move along)."""
        if self.fresh:
            t = _CLUSTER
            ids = bulk.insert_rows(
                self.session, t, [{"created_at": clock.now()} for _ in range(self.fresh)], return_ids=True
            )
            self.real = {self._NEW + k: int(i) for k, i in enumerate(ids, start=1)}
        for old, target in self.merges:
            old_id, target_id = self.id_of(old), self.id_of(target)
            if old < self._NEW:  # a cluster opened in this batch has no stored reports yet
                self.session.execute(
                    update(FraudReport).where(FraudReport.cluster_id == old_id).values(cluster_id=target_id)
                )
            self.session.execute(
                update(FraudCluster).where(FraudCluster.id == old_id).values(merged_into_id=target_id)
            )

    def id_of(self, cluster: int) -> int:
        """The stored id of a cluster (a stand-in's, once written)."""
        return self.real.get(cluster, cluster)

    def final(self, cluster: int) -> int:
        """The stored cluster a report assigned to `cluster` ends in, after the batch's merges."""
        moved = dict(self.merges)
        while cluster in moved:
            cluster = moved[cluster]
        return self.id_of(cluster)


def do_register_reports(session: Session, items: list[NewReport]) -> list[tuple[int, str]]:
    """Register reports, in order: store them with protected identifiers, link each into a cluster,
    keep each idempotency key, audit each, and emit `antifraud.report_registered` (or, for one
    opened by the platform, `antifraud.report_awaiting_officer`) after commit. Returns their ids and
    external references (a generated one where the report had none). Caller holds the
    transaction and ran `check_register_reports`.

    The reports and each kind of child row are one insert each, and the clusters one query for the
    whole batch: as mapped objects, flushed report by report, a registration cost more than
    everything the robot then did with it (cProfile, SQLite).
    """
    if not items:
        return []
    session.flush()  # the caller's pending writes go first: the statements below bypass the ORM
    now = clock.now()
    preps = [item.prepared or prepare_report(item.report) for item in items]
    clusters = _Clusters(session, [link for p in preps for link in p.links])
    rows: list[dict[str, Any]] = []
    plans: list[rules.ClusterPlan] = []
    intakes = [item.intake() for item in items]
    for item, p, intake in zip(items, preps, intakes, strict=True):
        report = item.report
        registered = intake.intake is ReportIntake.REGISTERED
        cluster_id, plan = clusters.assign(p.links)
        plans.append(plan)
        rows.append(
            {
                "external_ref": report.external_ref or f"PA-{now:%Y%m%d}-{secrets.token_hex(4).upper()}",
                **p.victim_name.sealed.columns("victim_name"),
                **p.victim_id.columns("victim_id"),
                **p.victim_phone.columns("victim_phone"),
                "fraud_started_at": report.fraud_started_at,
                "reported_at": report.reported_at,
                "station_code": report.station_code,
                # The receiving officer is the registering officer, logged in; a waiting report has
                # none until its confirmation (what a file states is kept in the audit entry only).
                "officer": item.actor.username if registered else "",
                "typology": report.typology,
                "narrative": report.narrative,
                "total_amount_fen": sum(t.amount_fen for t in report.transfers),
                "cluster_id": cluster_id,
                "body_hash": p.body_hash,
                "created_at": now,
                "created_by": item.actor.username,
                "intake": intake.intake,
                "source": ("" if registered else item.opened_by())[:160],
            }
        )
    clusters.write()
    for r in rows:
        r["cluster_id"] = clusters.final(r["cluster_id"])
    t = _REPORT
    ids = bulk.insert_rows(session, t, rows, return_ids=True)
    bulk.insert_rows(
        session,
        _TRANSFER,
        [x | {"report_id": i} for i, p in zip(ids, preps, strict=True) for x in p.transfers],
    )
    suspects = [x | {"report_id": i} for i, p in zip(ids, preps, strict=True) for x in p.suspects]
    if suspects:
        bulk.insert_rows(session, _SUSPECT, suspects)
    links = [
        {"report_id": i, "kind": kind, "key": key, "display": display}
        for i, p in zip(ids, preps, strict=True)
        for kind, key, display in p.links
    ]
    if links:
        bulk.insert_rows(session, _LINK, links)
    keys = [
        {"key": item.idempotency_key, "scope": "fraud_report", "body_hash": row["body_hash"]}
        | {"object_id": i, "created_at": now}
        for i, item, row in zip(ids, items, rows, strict=True)
        if item.idempotency_key is not None
    ]
    if keys:
        bulk.insert_rows(session, _IDEMPOTENCY, keys)
    for i, item, row, plan, intake in zip(ids, items, rows, plans, intakes, strict=True):
        registered = intake.intake is ReportIntake.REGISTERED
        detail: dict[str, Any] = {
            "cluster_id": row["cluster_id"],
            "cluster_reasons": list(plan.reasons),
            "merged": [clusters.id_of(c) for c in plan.merged],
            "intake": row["intake"].value,
            "intake_reasons": list(intake.reasons),
            "source": row["source"],
        }
        if item.report.officer is not None:
            detail["stated_officer"] = item.report.officer  # what the file or form says: not trusted
        audit.record(
            session,
            actor=item.actor,
            action="fraud_report.register" if registered else "fraud_report.open",
            object_type="fraud_report",
            object_id=i,
            purpose=f"case:{row['external_ref']}",
            detail=detail,
        )
        if registered:
            events.emit(session, EVENT_REPORT_REGISTERED, report_id=i, cluster_id=row["cluster_id"])
        else:
            events.emit(session, EVENT_REPORT_AWAITING_OFFICER, report_id=i, station_code=row["station_code"])
    return [(i, str(row["external_ref"])) for i, row in zip(ids, rows, strict=True)]


def do_register_report(session: Session, item: NewReport) -> FraudReport:
    """Register one report (see `do_register_reports`). Caller holds the transaction and ran `check_*`."""
    ((report_id, _ref),) = do_register_reports(session, [item])
    return get_report(session, report_id)


def register_report(session: Session, item: NewReport) -> RegisterOutcome:
    """Check, then register in the caller's transaction; an idempotent replay returns the first report."""
    existing = check_register_report(session, item)
    if existing is not None:
        return RegisterOutcome(existing, created=False)
    return RegisterOutcome(do_register_report(session, item), True)


def check_confirm_report(report: FraudReport, *, actor: Actor) -> None:
    """Only a station officer confirms a report, only one that awaits it, and never the one who entered it."""
    if actor.role not in REPORT_CONFIRMERS:
        raise Forbidden(
            f"role {actor.role.value} may not confirm a report: a station officer registers it (受案登记)"
        )
    if report.intake is not ReportIntake.AWAITING_OFFICER:
        raise Conflict(f"report {report.external_ref} is registered already", field="intake")
    if report.created_by == actor.username:
        # Four eyes: the confirmation is what turns an entry into the basis of a stop-payment on a
        # third party's account, so it is another officer's, never the one who entered or imported it.
        raise Forbidden(
            f"you entered report {report.external_ref}: another officer confirms it", field="confirmed_by"
        )


def do_confirm_report(session: Session, report: FraudReport, *, actor: Actor) -> FraudReport:
    """Register a report that waited for an officer (受案登记): the confirming officer becomes its
    receiving officer, and `antifraud.report_registered` is emitted after commit, so the robot stops
    its payees' accounts and the watchlist takes them. Caller holds the transaction and ran `check_*`."""
    now = clock.now()
    report.intake = ReportIntake.REGISTERED
    report.confirmed_by = actor.username
    report.confirmed_at = now
    report.officer = actor.username
    audit.record(
        session,
        actor=actor,
        action="fraud_report.confirm",
        object_type="fraud_report",
        object_id=report.id,
        purpose=f"case:{report.external_ref}",
        detail={"source": report.source},
    )
    events.emit(session, EVENT_REPORT_REGISTERED, report_id=report.id, cluster_id=report.cluster_id)
    return report


def get_report(session: Session, report_id: int) -> FraudReport:
    """The report with `report_id`, or NotFound."""
    report = session.get(FraudReport, report_id)
    if report is None:
        raise NotFound(f"no fraud report {report_id}", field="id")
    return report


def get_visible_report(session: Session, report_id: int, *, actor: Actor) -> FraudReport:
    """The report with `report_id` if it is within `actor`'s station view, or NotFound.

    A report of another station is NotFound, not Forbidden, so that an officer does not learn it exists.
    """
    report = get_report(session, report_id)
    check_station(actor, report.station_code, what=f"fraud report {report_id}")
    return report


def do_record_report_view(session: Session, report: FraudReport, *, actor: Actor) -> None:
    """Audit that `actor` opened a report (masked personal data). Caller holds the transaction."""
    audit.record(
        session,
        actor=actor,
        action="fraud_report.view",
        object_type="fraud_report",
        object_id=report.id,
        purpose=f"case:{report.external_ref}",
    )


@dataclass(frozen=True)
class RevealedReport:
    """The clear personal data of a report."""

    victim_name: str
    victim_national_id: str
    victim_phone: str
    payer_cards: list[str]
    payee_accounts: list[str]
    suspect_phones: list[str]


def check_reveal(session: Session, *, actor: Actor, purpose: RevealPurpose, reference: str) -> None:
    """Only revealing roles, and only for a purpose from the list and a report reference that exists."""
    if actor.role not in REVEALERS:
        raise Forbidden(f"role {actor.role.value} may not see clear personal data")
    if not isinstance(purpose, RevealPurpose):
        raise Invalid("choose the purpose of the reveal from the list", field="purpose")
    ref = reference.strip()
    if (
        not ref
        or session.execute(select(FraudReport.id).where(FraudReport.external_ref == ref)).first() is None
    ):
        raise Invalid(f"no registered report has the reference {ref!r}", field="reference")


def do_reveal_report(
    session: Session, report: FraudReport, *, actor: Actor, purpose: RevealPurpose, reference: str
) -> RevealedReport:
    """Decrypt a report's personal data and audit the reveal with its purpose and case reference.
    Caller holds the transaction and ran `check_reveal`."""
    ref = reference.strip()
    audit.record(
        session,
        actor=actor,
        action="fraud_report.reveal",
        object_type="fraud_report",
        object_id=report.id,
        purpose=f"{purpose.value}; case:{ref}",
        detail={"purpose": purpose.value, "reference": ref, "report": report.external_ref},
    )
    return RevealedReport(
        victim_name=decrypt(PiiKind.NAME, report.victim_name.cipher),
        victim_national_id=decrypt(PiiKind.NATIONAL_ID, report.victim_id.cipher),
        victim_phone=decrypt(PiiKind.PHONE, report.victim_phone.cipher),
        payer_cards=[decrypt(PiiKind.CARD, t.payer_card.cipher) for t in report.transfers],
        payee_accounts=[decrypt(PiiKind.CARD, t.payee_account.cipher) for t in report.transfers],
        suspect_phones=[
            decrypt(PiiKind.PHONE, s.value_cipher) for s in report.suspects if s.value_cipher is not None
        ],
    )
