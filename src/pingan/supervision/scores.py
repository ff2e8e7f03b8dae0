"""Quality scores (执法质量考评) and the monthly leaderboard (龙虎榜).

Deductions derive from the event log, never typed in:

- each breached clock, as the rule pack evaluates the case's log (its rule's severity sets the points);
- each check-out of seized property returned after its due date, or still out past it.

`derive` computes them from scratch; `sync` appends the ones the ledger lacks (`supervision_quality_entry`,
never changed). A unit's score for a month is 100 plus the sum of its entries' points. An appeal is a
new entry that gives points back, audited; the deduction stays.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.errors import Conflict, Invalid, NotFound
from pingan.core.i18n import _
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from pingan.core.schemas import MAX_ROW_ID
from pingan.core.scoping import check_station
from pingan.supervision import actions, rules
from pingan.supervision.choices import DeductionKind, MovementKind, Severity
from pingan.supervision.model import PropertyItem, PropertyMovement, QualityEntry, SupervisionCase
from pingan.supervision.pack import RulePack, in_force
from pingan.supervision.rules import BEIJING

BASE_SCORE = 100
POINTS = {Severity.CRITICAL: 10, Severity.MAJOR: 5, Severity.MINOR: 2}
LATE_CHECKOUT_RULE = "property.checkout_due"  # not a statutory rule: the custodian's due date
LATE_CHECKOUT_POINTS = 2
APPEAL_DECIDERS = frozenset({Role.LEGAL_SUPERVISOR})


@dataclass(frozen=True)
class Derived:
    """A deduction as the log gives it."""

    source: str
    case_id: int
    station_code: str
    officer: str
    rule_id: str
    month: str
    points: int
    reason: str


def month_of(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m")


def derive(session: Session, *, now: datetime, pack: RulePack | None = None) -> list[Derived]:
    """Every deduction the event log and the ledger give at `now`, computed from scratch."""
    pack = pack or in_force()
    out: list[Derived] = []
    cases = session.scalars(select(SupervisionCase).order_by(SupervisionCase.id)).all()
    for c in cases:
        result = rules.evaluate(c.kind, [actions.engine_event(e) for e in c.events], pack, at=now)
        for d in result.breaches:
            late = f"met late at {d.met_at.isoformat()}" if d.met_at else "not met"
            out.append(
                Derived(
                    source=f"breach:{c.id}:{d.rule.id}:{d.subject}:{d.started_at.isoformat()}",
                    case_id=c.id,
                    station_code=c.station_code,
                    officer=c.officer,
                    rule_id=d.rule.id,
                    month=month_of(d.due_at),
                    points=-POINTS[d.rule.severity],
                    reason=f"{d.rule.title_en}, due {d.due_at.isoformat()}, {late}",
                )
            )
    rows = session.execute(
        select(PropertyMovement, PropertyItem, SupervisionCase)
        .join(PropertyItem, PropertyItem.id == PropertyMovement.item_id)
        .join(SupervisionCase, SupervisionCase.id == PropertyItem.case_id)
        .where(PropertyMovement.kind == MovementKind.CHECK_OUT, PropertyMovement.confirmed_at.is_not(None))
        .order_by(PropertyMovement.id)
    ).all()
    for move, item, c in rows:
        assert move.due_at is not None  # a check-out always has one
        back = session.scalars(
            select(PropertyMovement.confirmed_at).where(
                PropertyMovement.item_id == item.id,
                PropertyMovement.kind == MovementKind.RETURN,
                PropertyMovement.id > move.id,
                PropertyMovement.confirmed_at.is_not(None),
            )
        ).first()
        returned = back if back is not None else None
        if (returned is None and now > move.due_at) or (returned is not None and returned > move.due_at):
            how = f"returned {returned.isoformat()}" if returned else "not returned"
            out.append(
                Derived(
                    source=f"checkout:{move.id}",
                    case_id=c.id,
                    station_code=c.station_code,
                    officer=move.to_user,
                    rule_id=LATE_CHECKOUT_RULE,
                    month=month_of(move.due_at),
                    points=-LATE_CHECKOUT_POINTS,
                    reason=f"item {item.label} checked out, due {move.due_at.isoformat()}, {how}",
                )
            )
    return out


def sync(session: Session, *, now: datetime, pack: RulePack | None = None) -> int:
    """Append the deductions the ledger lacks; none is changed or removed. Returns how many were added."""
    known = set(
        session.scalars(select(QualityEntry.source).where(QualityEntry.kind == DeductionKind.DEDUCTION)).all()
    )
    added = 0
    for d in derive(session, now=now, pack=pack):
        if d.source in known:
            continue
        session.add(
            QualityEntry(
                kind=DeductionKind.DEDUCTION,
                source=d.source,
                case_id=d.case_id,
                station_code=d.station_code,
                officer=d.officer,
                rule_id=d.rule_id,
                month=d.month,
                points=d.points,
                reason=d.reason,
                recorded_by="system:supervision",
                recorded_at=now,
            )
        )
        known.add(d.source)
        added += 1
    session.flush()
    return added


def totals(entries: Iterable[Derived | QualityEntry], by: str) -> dict[tuple[str, str], int]:
    """Points per (month, station or officer)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        out[(e.month, getattr(e, by))] += e.points
    return dict(out)


@dataclass(frozen=True)
class DeductionIn:
    """A deduction another part of supervision records (a substantiated complaint), citing its source."""

    source: str  # e.g. complaint:<id>; one deduction per source
    station_code: str
    officer: str  # "" where no officer is named: the station alone loses the points
    rule_id: str
    month: str
    points: int  # negative
    reason: str
    case_id: int | None = None


def do_add_deduction(session: Session, data: DeductionIn, *, actor: Actor, now: datetime) -> QualityEntry:
    """Append a deduction that is not derived from a case's log; a second one for the same source
    returns the first. It is appealed like any other (`do_appeal`)."""
    if data.points >= 0:
        raise Invalid("a deduction takes points", field="points")
    found = session.scalars(
        select(QualityEntry).where(
            QualityEntry.kind == DeductionKind.DEDUCTION, QualityEntry.source == data.source
        )
    ).first()
    if found is not None:
        return found
    entry = QualityEntry(
        kind=DeductionKind.DEDUCTION,
        source=data.source,
        case_id=data.case_id,
        station_code=data.station_code,
        officer=data.officer,
        rule_id=data.rule_id,
        month=data.month,
        points=data.points,
        reason=data.reason,
        recorded_by=actor.username,
        recorded_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.deduction_recorded",
        object_type="supervision_quality_entry",
        object_id=entry.id,
        detail={"source": data.source, "points": data.points, "officer": data.officer},
    )
    return entry


# ------------------------------------------------------------------------------------------ appeal


def get_entry(session: Session, entry_id: int, *, actor: Actor) -> QualityEntry:
    entry = session.get(QualityEntry, entry_id) if 1 <= entry_id <= MAX_ROW_ID else None
    if entry is None:
        raise NotFound("no deduction", field="id")
    check_station(actor, entry.station_code, what="deduction")
    return entry


def check_appeal(session: Session, entry: QualityEntry, points: int, *, actor: Actor) -> None:
    """An appeal is decided once, by the legal-supervision office, giving back at most what was taken."""
    if actor.role not in APPEAL_DECIDERS:
        from pingan.core.errors import Forbidden

        raise Forbidden("only the legal-supervision office decides an appeal")
    if entry.kind is not DeductionKind.DEDUCTION:
        raise Invalid("an appeal is decided on a deduction", field="id")
    if session.scalars(select(QualityEntry.id).where(QualityEntry.appeal_of == entry.id)).first():
        raise Conflict("the appeal on this deduction is decided already", field="id")
    if not 0 <= points <= -entry.points:
        raise Invalid(f"an appeal gives back 0 to {-entry.points} points", field="points")


def do_appeal(
    session: Session, entry: QualityEntry, points: int, reason: str, *, actor: Actor, now: datetime
) -> QualityEntry:
    """Record the decision as a new entry; the deduction is never changed. Written only by approving
    an appeal request (`approvals.do_decide`)."""
    decision = QualityEntry(
        kind=DeductionKind.APPEAL,
        source=f"appeal:{entry.id}",
        case_id=entry.case_id,
        station_code=entry.station_code,
        officer=entry.officer,
        rule_id=entry.rule_id,
        month=entry.month,
        points=points,
        reason=reason,
        appeal_of=entry.id,
        recorded_by=actor.username,
        recorded_at=now,
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.appeal_decided",
        object_type="supervision_quality_entry",
        object_id=entry.id,
        detail={"decision_id": decision.id, "points_back": points},
    )
    return decision


# ------------------------------------------------------------------------------------- leaderboard


# Deductions that other packages write (a complaint's finding) carry rules outside the rule pack. Those
# packages name their rules here when installed, each with a message translated where it is shown.
_outside_pack: dict[str, str] = {}


def register_rule(rule_id: str, title: str) -> None:
    """Name a deduction rule kept outside the rule pack; `title` is an N_() message (idempotent)."""
    _outside_pack[rule_id] = title


def rule_title(rule_id: str, pack: RulePack, *, zh: bool) -> str:
    """A deduction's rule as its reader reads it: the pack's title in their language, a registered
    rule's title translated, or else the bare id."""
    if rule_id in pack.by_id:
        rule = pack.by_id[rule_id]
        return rule.title_zh if zh else rule.title_en
    if rule_id in _outside_pack:
        return _(_outside_pack[rule_id])
    return rule_id


@dataclass
class Standing:
    """A unit (station) or officer in a month: its score and the entries that moved it."""

    key: str
    name: str
    score: int
    entries: list[QualityEntry] = field(default_factory=list)

    def reasons(self, pack: RulePack, *, zh: bool, top: int = 3) -> list[tuple[str, int]]:
        """The rules that moved the score most, with their net points, titled in the reader's language."""
        by_rule: dict[str, int] = defaultdict(int)
        for e in self.entries:
            by_rule[e.rule_id] += e.points
        ranked = sorted(by_rule.items(), key=lambda kv: (kv[1], kv[0]))[:top]
        return [(rule_title(r, pack, zh=zh), p) for r, p in ranked if p]


def leaderboard(session: Session, month: str, *, actor: Actor) -> tuple[list[Standing], list[Standing]]:
    """The stations in view (every one, 100 without entries) and the officers with entries, best first."""
    entries = session.scalars(
        select(QualityEntry).where(QualityEntry.month == month).order_by(QualityEntry.id)
    ).all()
    stations = {
        s.code: s.name
        for s in session.scalars(select(Station).order_by(Station.code))
        if actor.sees_station(s.code)
    }
    units = {code: Standing(code, name, BASE_SCORE) for code, name in stations.items()}
    people: dict[str, Standing] = {}
    for e in entries:
        if e.station_code not in units:
            continue
        units[e.station_code].score += e.points
        units[e.station_code].entries.append(e)
        person = people.setdefault(e.officer, Standing(e.officer, e.officer, BASE_SCORE))
        person.score += e.points
        person.entries.append(e)
    order = lambda s: (-s.score, s.key)  # noqa: E731
    return sorted(units.values(), key=order), sorted(people.values(), key=order)


def parse_month(raw: str) -> str:
    """`YYYY-MM`; Invalid naming `month` otherwise."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise Invalid(f"{raw!r} is not a month (YYYY-MM)", field="month")
    return raw


def export_query(month: str, actor: Actor) -> Select[tuple[str, str, int, int]]:
    """The stations' scores for the month as one select (for the CSV and XLSX export)."""
    points = func.coalesce(func.sum(QualityEntry.points), 0)
    deductions = func.coalesce(func.sum(case((QualityEntry.kind == DeductionKind.DEDUCTION, 1), else_=0)), 0)
    q = (
        select(
            Station.code.label("code"),
            Station.name.label("name"),
            (literal(BASE_SCORE) + points).label("score"),
            deductions.label("deductions"),
        )
        .outerjoin(QualityEntry, and_(QualityEntry.station_code == Station.code, QualityEntry.month == month))
        .group_by(Station.code, Station.name)
    )
    if not actor.district_wide and not actor.by_grant:
        q = q.where(Station.code == (actor.station_code or ""))
    return q


def chart_option(units: list[Standing]) -> Mapping[str, object]:
    """The ECharts option of the page's bar chart: each station's score."""
    return {
        "animation": False,
        "grid": {"left": 110, "right": 40, "top": 10, "bottom": 30},  # room for a label of 100
        "xAxis": {"type": "value", "max": BASE_SCORE},
        "yAxis": {"type": "category", "inverse": True, "data": [u.name for u in units]},
        "series": [
            {"type": "bar", "data": [u.score for u in units], "label": {"show": True, "position": "right"}}
        ],
    }
