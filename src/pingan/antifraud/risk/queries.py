"""Read side of risk events and warning plans, for pages and for other packages (outcomes, screening)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select, true
from sqlalchemy.orm import Session

from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.risk.model import RiskEvent, WarningPlan, WarningStep
from pingan.antifraud.risk.reasons import ReasonWords, reason_in_words
from pingan.core import bulk, clock
from pingan.core.errors import Invalid
from pingan.core.i18n import N_, _
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm, any_of, day_start
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition


def risk_event_person(session: Session, event_id: int) -> str | None:
    """The person key of stored risk event `event_id`, or None when there is no such event."""
    return session.execute(select(RiskEvent.person_key).where(RiskEvent.id == event_id)).scalar_one_or_none()


def plans_created_after(session: Session, after: datetime) -> list[WarningPlan]:
    """The plans created after `after`."""
    return list(session.execute(select(WarningPlan).where(WarningPlan.created_at > after)).scalars())


def plans_created_in(session: Session, start: datetime, end: datetime) -> list[WarningPlan]:
    """The plans created in [start, end), the largest amount at risk first."""
    return list(
        session.execute(
            select(WarningPlan)
            .where(WarningPlan.created_at >= start, WarningPlan.created_at < end)
            .order_by(WarningPlan.amount_at_risk_fen.desc())
        ).scalars()
    )


def plans_of_persons(
    session: Session, person_keys: Iterable[str], *, after: datetime, until: datetime
) -> list[WarningPlan]:
    """The plans of these persons created in (after, until], in one query."""
    return list(
        session.execute(
            select(WarningPlan).where(
                bulk.any_of(session, WarningPlan.person_key, set(person_keys)),
                WarningPlan.created_at <= until,
                WarningPlan.created_at > after,
            )
        ).scalars()
    )


def any_plan_of_persons(
    session: Session, person_keys: Iterable[str], *, after: datetime, until: datetime
) -> bool:
    """Whether any of these persons has a plan created in (after, until] (one row read at most)."""
    found = session.execute(
        select(WarningPlan.id)
        .where(
            bulk.any_of(session, WarningPlan.person_key, set(person_keys)),
            WarningPlan.created_at <= until,
            WarningPlan.created_at > after,
        )
        .limit(1)
    ).first()
    return found is not None


def later_events(
    session: Session, *, person_key: str, after: datetime, until: datetime, other_than_plan: int
) -> list[tuple[list[str], int]]:
    """The reasons and amount of each risk event of a person in (after, until] that another plan than this one raised."""
    rows = session.execute(
        select(RiskEvent.reasons, RiskEvent.amount_fen).where(
            RiskEvent.person_key == person_key,
            RiskEvent.occurred_at > after,
            RiskEvent.occurred_at <= until,
            RiskEvent.plan_id != other_than_plan,
        )
    ).all()
    return [(json.loads(reasons), amount) for reasons, amount in rows]


def events_in(
    session: Session, start: datetime, end: datetime
) -> Sequence[Row[str, str, datetime, datetime, str]]:
    """(reasons as JSON, person key, occurred at, detected at, engine) of each risk event that occurred
    in [start, end). The engine (`batch`, `stream`) says whether detection followed the transfer live."""
    return list(
        session.execute(
            select(
                RiskEvent.reasons,
                RiskEvent.person_key,
                RiskEvent.occurred_at,
                RiskEvent.detected_at,
                RiskEvent.engine,
            ).where(RiskEvent.occurred_at >= start, RiskEvent.occurred_at < end)
        ).all()
    )


def latest_activity_at(session: Session) -> datetime | None:
    """When the latest risk event occurred or the latest plan was created; None when there are none."""
    event_at = session.execute(select(func.max(RiskEvent.occurred_at))).scalar_one()
    plan_at = session.execute(select(func.max(WarningPlan.created_at))).scalar_one()
    found = [clock.ensure_utc(t) for t in (event_at, plan_at) if t is not None]
    return max(found) if found else None


def step_states(session: Session, plan_ids: Iterable[int]) -> dict[int, list[tuple[StepChannel, StepState]]]:
    """Each plan's steps as (channel, state), in one query per 500 plans."""
    ids = sorted(set(plan_ids))
    out: dict[int, list[tuple[StepChannel, StepState]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(WarningStep.plan_id, WarningStep.channel, WarningStep.state)
            .where(WarningStep.plan_id.in_(chunk))
            .order_by(WarningStep.plan_id, WarningStep.seq)
        )
        for plan_id, channel, state in rows:
            out[plan_id].append((channel, state))
    return out


@dataclass(frozen=True)
class RuleHits:
    """How many risk events each rule raised, and the amount they carried (fen)."""

    counts: dict[str, int]
    amounts: dict[str, int]
    total: int


def rule_hits(session: Session) -> RuleHits:
    """Per rule id, the risk events that name it among their reasons, and their amounts."""
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    for reasons, amount in session.execute(select(RiskEvent.reasons, RiskEvent.amount_fen)).all():
        for rid in {r.split(":")[0] for r in json.loads(reasons)}:
            counts[rid] = counts.get(rid, 0) + 1
            amounts[rid] = amounts.get(rid, 0) + amount
    total = session.execute(select(func.count(RiskEvent.id))).scalar_one()
    return RuleHits(counts, amounts, total)


def events_in_view(actor: Actor) -> ColumnElement[bool]:
    """The condition that keeps the risk events within `actor`'s station view.

    A risk event has no station of its own: it is an officer's when a warning plan for the same person
    names the officer's station as the person's home. District-wide roles and grants see every event.
    """
    if actor.district_wide:
        return true()
    planned_here = select(WarningPlan.person_key).where(station_condition(actor, WarningPlan.home_station))
    return RiskEvent.person_key.in_(planned_here)


def plans_in_view(actor: Actor) -> ColumnElement[bool]:
    """The condition that keeps the warning plans of people whose home station is in `actor`'s view."""
    return station_condition(actor, WarningPlan.home_station)


RISK_EVENT_LIST = ListSpec(
    name="risk_event",
    sorts={
        "occurred_at": RiskEvent.occurred_at,
        "amount": RiskEvent.amount_fen,
        "at_risk": RiskEvent.amount_at_risk_fen,
    },
    default_sort="-occurred_at",
    id_column=RiskEvent.id,
)
# Whether a warning plan was opened for the event: the risk queue's status filter.
EVENT_STATUSES = ("planned", "unplanned")
_RULE_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")


def rule_filter(raw: str) -> str | None:
    """A screening rule id typed in the `rule` filter (`WL-PAYEE`); Invalid naming `rule` otherwise."""
    value = raw.strip().upper()
    if not value:
        return None
    if not _RULE_ID.match(value):
        raise Invalid("a rule id has capital letters, digits and dashes, as WL-PAYEE", field="rule")
    return value


@dataclass(frozen=True)
class RiskEventFilter:
    """The filters of the risk queue; every one optional. Days are Beijing-time days."""

    rule: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    search: SearchTerm | None = None


def risk_event_list_query(f: RiskEventFilter, *, actor: Actor) -> Select[Any]:
    """The risk queue's rows matching `f` within `actor`'s station view, unordered. The accounts and
    the person are pseudonyms already; a search compares them with the typed number's pseudonym."""
    q = select(
        RiskEvent.id,
        RiskEvent.occurred_at,
        RiskEvent.person_key,
        func.substr(RiskEvent.person_key, 1, 12).label("person_short"),
        RiskEvent.elderly,
        RiskEvent.payer_bank,
        RiskEvent.payee_bank,
        RiskEvent.amount_fen,
        RiskEvent.amount_at_risk_fen,
        RiskEvent.reasons,
        RiskEvent.typology_guess,
        RiskEvent.plan_id,
    ).where(events_in_view(actor))
    if f.rule:
        # Reasons are a JSON list of "RULE-ID" or "RULE-ID:detail"; a rule id holds no LIKE wildcard.
        q = q.where(or_(RiskEvent.reasons.like(f'%"{f.rule}"%'), RiskEvent.reasons.like(f'%"{f.rule}:%')))
    if f.status == "planned":
        q = q.where(RiskEvent.plan_id.is_not(None))
    elif f.status == "unplanned":
        q = q.where(RiskEvent.plan_id.is_(None))
    if f.date_from is not None:
        q = q.where(RiskEvent.occurred_at >= day_start(f.date_from))
    if f.date_to is not None:
        q = q.where(RiskEvent.occurred_at < day_start(f.date_to + timedelta(days=1)))
    if f.search is not None:
        conditions: list[ColumnElement[bool]] = []
        if f.search.card:
            conditions += [RiskEvent.payer_account == f.search.card, RiskEvent.payee_account == f.search.card]
        if f.search.national_id:
            conditions.append(RiskEvent.person_key == f.search.national_id)
        if f.search.phone:
            # A person is keyed by their ID number; the plan opened for them holds the phone's pseudonym.
            conditions.append(RiskEvent.person_key.in_(plans_by_phone(f.search.phone)))
        q = q.where(any_of(conditions))
    return q


def plans_by_phone(phone_pseudonym: str) -> Select[str]:
    """The people whose warning plan was sent to the phone of this pseudonym."""
    return select(WarningPlan.person_key).where(WarningPlan.phone.pseudonym == phone_pseudonym)


def reasons_of(raw: str) -> list[str]:
    """A risk event's reasons, from their stored JSON."""
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return [str(r) for r in value] if isinstance(value, list) else [str(value)]


def reasons_in_words(raw: str) -> list[ReasonWords]:
    """A risk event's reasons as an officer reads them: the scorer's in words, a rule's as its id."""
    return [reason_in_words(r) for r in reasons_of(raw)]


RISK_EVENT_EXPORT = (
    ExportColumn(N_("Event"), "id", CellKind.NUMBER),
    ExportColumn(N_("Occurred"), "occurred_at", CellKind.TIME),
    ExportColumn(N_("Person"), "person_short"),
    ExportColumn(N_("Payer bank"), "payer_bank"),
    ExportColumn(N_("Payee bank"), "payee_bank"),
    ExportColumn(N_("Amount"), "amount_fen", CellKind.MONEY),
    ExportColumn(N_("At risk"), "amount_at_risk_fen", CellKind.MONEY),
    ExportColumn(
        N_("Reasons"),
        "reasons",
        convert=lambda raw: "; ".join(r.words or r.code for r in reasons_in_words(raw)),
    ),
    ExportColumn(N_("Typology (guess)"), "typology_guess"),
    ExportColumn(N_("Elderly"), "elderly", convert=lambda v: _("yes") if v else ""),
    ExportColumn(N_("Plan"), "plan_id", CellKind.NUMBER),
)
