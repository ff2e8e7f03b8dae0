"""Supervision over HTTP: cases, their parties and steps, deadlines, breaches and the rule pack."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from pingan.core import clock, listing
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import NotFound
from pingan.core.roles import Actor
from pingan.core.scoping import check_station, record_list_read
from pingan.supervision import actions, queries
from pingan.supervision.actions import status_now
from pingan.supervision.choices import CaseKind, CaseStatus
from pingan.supervision.model import CaseBreach, SupervisionCase
from pingan.supervision.pack import in_force
from pingan.supervision.schemas import (
    BreachOut,
    CaseIn,
    CaseOut,
    CloseIn,
    DeadlineOut,
    EventIn,
    EventOut,
    ExplanationIn,
    PartyIn,
    PartyOut,
    RulePackOut,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.CASE_WRITERS))]
Explainer = Annotated[Actor, Depends(require_roles(*actions.EXPLAINERS))]
CaseId = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]


def case_out(session: Session, case: SupervisionCase, *, now: datetime, detail: bool = True) -> CaseOut:
    """A case as the API shows it: parties masked; its log, deadlines (standing at `now`) and breaches."""
    out = CaseOut(
        id=case.id,
        number=case.number,
        kind=case.kind,
        title=case.title,
        station_code=case.station_code,
        officer=case.officer,
        supervisor=case.supervisor,
        opened_at=case.opened_at,
        status=case.status,
        closed_at=case.closed_at,
        incident_id=case.incident_id,
        fraud_report_id=case.fraud_report_id,
        pack_version=case.pack_version,
    )
    if not detail:
        return out
    pack = in_force()
    out.parties = [
        PartyOut(
            id=p.id,
            role=p.role,
            name_masked=p.name.masked,
            national_id_masked=p.national_id.masked if p.national_id else None,
        )
        for p in case.parties
    ]
    out.events = [
        EventOut(
            id=e.id,
            kind=e.kind,
            at=e.at,
            party_id=e.party_id,
            item=e.item,
            flags=[f for f in e.flags.split(",") if f],
            rule_id=e.rule_id,
            extension_id=e.extension_id,
            amount=e.amount,
            requested_by=e.requested_by,
            approved_by=e.approved_by,
            note=e.note,
        )
        for e in sorted(case.events, key=lambda e: (e.at, e.id))
    ]
    out.deadlines = [
        DeadlineOut(
            case_id=case.id,
            rule_id=d.rule_id,
            title=pack.by_id[d.rule_id].title_en if d.rule_id in pack.by_id else d.rule_id,
            citation=pack.by_id[d.rule_id].citation.short() if d.rule_id in pack.by_id else "",
            subject=d.subject,
            started_at=d.started_at,
            due_at=d.due_at,
            warn_from=d.warn_from,
            met_at=d.met_at,
            status=status_now(d, now),
            severity=d.severity,
            extensions=[x for x in d.extensions.split(",") if x],
            reasons=d.reasons.split("\n"),
        )
        for d in queries.case_deadlines(session, case.id)
    ]
    out.breaches = [breach_out(b) for b in queries.case_breaches(session, case.id)]
    return out


def breach_out(b: CaseBreach) -> BreachOut:
    return BreachOut.model_validate(b, from_attributes=True)


@router.post("/cases", response_model=CaseOut, status_code=201)
def open_case(body: CaseIn, session: DbSession, actor: Writer) -> CaseOut:
    """Open a case under supervision, linked to its 110 incident or fraud report where one exists."""
    now = clock.now()
    with session.begin():
        actions.check_open_case(session, body, actor=actor, now=now)
        case = actions.do_open_case(session, body, actor=actor, now=now)
        out = case_out(session, case, now=now)
    return out


@router.get("/cases", response_model=list[CaseOut])
def list_cases(
    session: DbSession,
    actor: Reader,
    params: Annotated[listing.ListParams, Depends(listing.list_params)],
    kind: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    officer: Annotated[str, Query(max_length=64)] = "",
    attention: bool = False,
) -> list[CaseOut]:
    """Cases in the caller's view, filtered and paged (`sort`, `cursor`, `limit`, `q`). Audited."""
    now = clock.now()
    sort = listing.parse_sort(queries.CASE_LIST, params.sort)
    f = queries.CaseFilter(
        kind=listing.enum_filter(kind, CaseKind, "kind"),
        status=listing.enum_filter(status, CaseStatus, "status"),
        officer=officer or None,
        attention=attention,
        search=listing.parse_search(params.q),
    )
    with session.begin():
        page = listing.fetch_page(
            session,
            queries.CASE_LIST,
            queries.case_list_query(f, actor=actor, now=now),
            sort,
            cursor=params.cursor,
            limit=params.limit,
        )
        cases = [session.get_one(SupervisionCase, r.id) for r in page.rows]
        out = [case_out(session, c, now=now, detail=False) for c in cases]
        record_list_read(
            session,
            actor=actor,
            listing="supervision_case",
            filters=listing.filters_for_audit(
                {"kind": f.kind, "status": f.status, "officer": f.officer}, f.search
            ),
            count=len(out),
        )
    return out


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, session: DbSession, actor: Reader) -> CaseOut:
    """One case with its parties (masked), log, live deadlines and breaches."""
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        out = case_out(session, case, now=now)
    return out


@router.post("/cases/{case_id}/parties", response_model=PartyOut, status_code=201)
def add_party(case_id: int, body: PartyIn, session: DbSession, actor: Writer) -> PartyOut:
    """Add a person to the case; the name is sealed and the ID number protected."""
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        actions.check_add_party(session, case, body, actor=actor)
        p = actions.do_add_party(session, case, body, actor=actor, now=now)
        out = PartyOut(
            id=p.id,
            role=p.role,
            name_masked=p.name.masked,
            national_id_masked=p.national_id.masked if p.national_id else None,
        )
    return out


@router.post("/cases/{case_id}/events", response_model=CaseOut, status_code=201)
def record_event(case_id: int, body: EventIn, session: DbSession, actor: Writer) -> CaseOut:
    """Record a measure or step with its time and approval; the case is re-evaluated at once.

    422 names why a step is refused (before the case opened, an extension without approval, …); 403
    when the approver is the officer who requested it.
    """
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        actions.check_event(session, case, body, actor=actor, now=now)
        actions.do_record_event(session, case, body, actor=actor, now=now)
        out = case_out(session, case, now=now)
    return out


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close_case(case_id: int, body: CloseIn, session: DbSession, actor: Writer) -> CaseOut:
    """Close the case."""
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        actions.check_close_case(case, body, actor=actor, now=now)
        actions.do_close_case(session, case, body, actor=actor, now=now)
        out = case_out(session, case, now=now)
    return out


@router.post("/breaches/{breach_id}/explanation", response_model=BreachOut)
def explain_breach(breach_id: int, body: ExplanationIn, session: DbSession, actor: Explainer) -> BreachOut:
    """Explain a breach once; the explanation is audited and the breach stays."""
    now = clock.now()
    with session.begin():
        breach = session.get(CaseBreach, breach_id) if 1 <= breach_id <= MAX_ROW_ID else None
        if breach is None:
            raise NotFound("no breach", field="id")
        case = session.get_one(SupervisionCase, breach.case_id)
        check_station(actor, case.station_code, what="breach")
        actions.check_explain(session, breach, case, actor=actor)
        actions.do_explain(session, breach, body, actor=actor, now=now)
        out = breach_out(breach)
    return out


@router.get("/warnings", response_model=list[DeadlineOut])
def my_warnings(session: DbSession, actor: Reader) -> list[DeadlineOut]:
    """Deadlines due soon or passed unmet on the caller's cases (every case in view for the legal office)."""
    now = clock.now()
    pack = in_force()
    with session.begin():
        rows = queries.warnings_for(session, actor, now=now)
    return [
        DeadlineOut(
            case_id=r.case.id,
            rule_id=r.deadline.rule_id,
            title=pack.by_id[r.deadline.rule_id].title_en
            if r.deadline.rule_id in pack.by_id
            else r.deadline.rule_id,
            citation=pack.by_id[r.deadline.rule_id].citation.short()
            if r.deadline.rule_id in pack.by_id
            else "",
            subject=r.deadline.subject,
            started_at=r.deadline.started_at,
            due_at=r.deadline.due_at,
            warn_from=r.deadline.warn_from,
            met_at=r.deadline.met_at,
            status=r.status,
            severity=r.deadline.severity,
            extensions=[x for x in r.deadline.extensions.split(",") if x],
            reasons=r.deadline.reasons.split("\n"),
        )
        for r in rows
    ]


@router.get("/rules", response_model=RulePackOut)
def rule_pack(actor: Reader) -> RulePackOut:
    """The rule pack in force, each rule with its citation, effective dates, deadline and extensions."""
    return queries.pack_out(in_force())
