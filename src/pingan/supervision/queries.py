"""Read side of supervision: the case list with its filters and search, one case with its deadlines,
the warnings a user receives, and the rule pack as pages and the API show it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from pingan.core.listing import ListSpec, SearchTerm, any_of
from pingan.core.roles import Actor, Role
from pingan.core.scoping import station_condition
from pingan.supervision.actions import status_now
from pingan.supervision.choices import CaseKind, CaseStatus, DeadlineStatus
from pingan.supervision.model import CaseBreach, CaseDeadline, CaseParty, DigestLineRow, SupervisionCase
from pingan.supervision.pack import Rule, RulePack
from pingan.supervision.schemas import ExtensionOut, RuleOut, RulePackOut

CASE_LIST = ListSpec(
    name="supervision_case",
    sorts={
        "opened_at": SupervisionCase.opened_at,
        "number": SupervisionCase.number,
        "status": SupervisionCase.status,
    },
    default_sort="-opened_at",
    id_column=SupervisionCase.id,
)


@dataclass(frozen=True)
class CaseFilter:
    """The filters of the case list; every one optional."""

    kind: CaseKind | None = None
    status: CaseStatus | None = None
    officer: str | None = None
    attention: bool = False  # only cases with a deadline due soon or passed unmet
    search: SearchTerm | None = None


def case_search(term: SearchTerm) -> ColumnElement[bool]:
    """Cases a search finds: by case number or title words, or by a party's ID number (pseudonym)."""
    conditions: list[ColumnElement[bool]] = []
    if term.text:
        conditions.append(SupervisionCase.number == term.text)
        conditions.append(SupervisionCase.title.contains(term.text, autoescape=True))
    if term.national_id:
        conditions.append(
            SupervisionCase.id.in_(select(CaseParty.case_id).where(CaseParty.national_id == term.national_id))
        )
    return any_of(conditions)


def case_list_query(f: CaseFilter, *, actor: Actor, now: datetime) -> Select[Any]:
    """The cases matching `f` within the actor's station view, with their open deadlines' next due time."""
    next_due = (
        select(func.min(CaseDeadline.due_at))
        .where(CaseDeadline.case_id == SupervisionCase.id, CaseDeadline.met_at.is_(None))
        .scalar_subquery()
    )
    attention = (
        select(func.count(CaseDeadline.id))
        .where(
            CaseDeadline.case_id == SupervisionCase.id,
            CaseDeadline.met_at.is_(None),
            CaseDeadline.warn_from <= now,
        )
        .scalar_subquery()
    )
    q = select(
        SupervisionCase.id,
        SupervisionCase.number,
        SupervisionCase.kind,
        SupervisionCase.title,
        SupervisionCase.station_code,
        SupervisionCase.officer,
        SupervisionCase.opened_at,
        SupervisionCase.status,
        next_due.label("next_due"),
        attention.label("attention"),
    ).where(station_condition(actor, SupervisionCase.station_code))
    if f.kind is not None:
        q = q.where(SupervisionCase.kind == f.kind)
    if f.status is not None:
        q = q.where(SupervisionCase.status == f.status)
    if f.officer:
        q = q.where(SupervisionCase.officer == f.officer)
    if f.attention:
        q = q.where(attention > 0)
    if f.search is not None:
        q = q.where(case_search(f.search))
    return q


def case_deadlines(session: Session, case_id: int) -> list[CaseDeadline]:
    """A case's deadlines as last evaluated, soonest due first."""
    return list(
        session.execute(
            select(CaseDeadline)
            .where(CaseDeadline.case_id == case_id)
            .order_by(CaseDeadline.due_at, CaseDeadline.id)
        ).scalars()
    )


def case_breaches(session: Session, case_id: int) -> list[CaseBreach]:
    """A case's breaches, in the order they were recorded."""
    return list(
        session.execute(
            select(CaseBreach).where(CaseBreach.case_id == case_id).order_by(CaseBreach.id)
        ).scalars()
    )


@dataclass(frozen=True)
class WarningRow:
    """A deadline due soon or passed unmet, with its case, as a warnings page lists it."""

    deadline: CaseDeadline
    case: SupervisionCase
    status: DeadlineStatus


def warnings_for(session: Session, actor: Actor, *, now: datetime, limit: int = 500) -> list[WarningRow]:
    """Open deadlines within their warning time or passed: the case officer's and their supervisor's own
    cases; every case in view for the legal-supervision office and auditors."""
    q = (
        select(CaseDeadline, SupervisionCase)
        .join(SupervisionCase, SupervisionCase.id == CaseDeadline.case_id)
        .where(
            CaseDeadline.met_at.is_(None),
            CaseDeadline.warn_from <= now,
            SupervisionCase.status == CaseStatus.OPEN,
            station_condition(actor, SupervisionCase.station_code),
        )
        .order_by(CaseDeadline.due_at, CaseDeadline.id)
        .limit(limit)
    )
    if actor.role not in (Role.LEGAL_SUPERVISOR, Role.AUDITOR, Role.SYSTEM):
        q = q.where(
            or_(SupervisionCase.officer == actor.username, SupervisionCase.supervisor == actor.username)
        )
    return [WarningRow(d, c, status_now(d, now)) for d, c in session.execute(q).all()]


@dataclass(frozen=True)
class DigestLine:
    """One line of a recipient's daily digest."""

    recipient: str
    case_id: int
    case_number: str
    rule_id: str
    subject: str
    due_at: datetime
    status: DeadlineStatus


def digest(session: Session, *, now: datetime) -> dict[str, list[DigestLine]]:
    """Every open deadline due soon or passed, grouped by recipient: the case officer and their supervisor."""
    q = (
        select(CaseDeadline, SupervisionCase)
        .join(SupervisionCase, SupervisionCase.id == CaseDeadline.case_id)
        .where(
            CaseDeadline.met_at.is_(None),
            CaseDeadline.warn_from <= now,
            SupervisionCase.status == CaseStatus.OPEN,
        )
        .order_by(CaseDeadline.due_at, CaseDeadline.id)
    )
    out: dict[str, list[DigestLine]] = {}
    for d, c in session.execute(q).all():
        for who in dict.fromkeys((c.officer, c.supervisor)):
            out.setdefault(who, []).append(
                DigestLine(who, c.id, c.number, d.rule_id, d.subject, d.due_at, status_now(d, now))
            )
    return out


def digests_of(session: Session, recipient: str, *, days: int = 14, today: date) -> list[list[DigestLineRow]]:
    """The digests sent to `recipient` over the `days` up to `today` (Beijing days), the latest first,
    each as its lines in order of due time."""
    rows = session.scalars(
        select(DigestLineRow)
        .where(DigestLineRow.recipient == recipient, DigestLineRow.day > today - timedelta(days=days))
        .order_by(DigestLineRow.day.desc(), DigestLineRow.due_at, DigestLineRow.id)
    ).all()
    by_day: dict[date, list[DigestLineRow]] = {}
    for r in rows:
        by_day.setdefault(r.day, []).append(r)
    return list(by_day.values())


def party_labels(parties: Sequence[CaseParty]) -> dict[str, str]:
    """How a subject key shows: a party's masked name, or the seized item's label."""
    return {f"party:{p.id}": p.name.masked for p in parties}


def subject_label(subject: str, labels: dict[str, str]) -> str:
    """A clock's subject as a page shows it."""
    if subject.startswith("item:"):
        return subject[5:]
    return labels.get(subject, subject)


def rule_out(rule: Rule) -> RuleOut:
    """A rule as the API and the rule pack page show it."""
    trigger = rule.trigger.event.value if rule.trigger.event is not None else f"after {rule.trigger.after}"
    if rule.trigger.when_flag:
        trigger += f" [{rule.trigger.when_flag}]"
    if rule.trigger.unless_flags:
        trigger += f" [not {', '.join(rule.trigger.unless_flags)}]"
    return RuleOut(
        id=rule.id,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        case_kinds=list(rule.case_kinds),
        citation=f"{rule.citation.title_zh} {rule.citation.short()}",
        verified=rule.citation.verified,
        note=rule.citation.note,
        effective_from=rule.effective_from,
        effective_to=rule.effective_to,
        trigger=trigger,
        met_by=list(rule.met_by),
        deadline=str(rule.deadline),
        warn_before=str(rule.warn_before),
        severity=rule.severity,
        extensions=[
            ExtensionOut(
                id=e.id,
                adds=str(e.by) if e.by is not None else f"up to {e.up_to_total} in all",
                approver=e.approver.value,
                citation=e.citation.short(),
                requires_flag=e.requires_flag,
            )
            for e in rule.extensions
        ],
    )


def pack_out(pack: RulePack) -> RulePackOut:
    """The whole pack, ordered by law and rule id."""
    return RulePackOut(
        version=pack.version, rules=[rule_out(r) for r in sorted(pack.rules, key=lambda r: r.id)]
    )
