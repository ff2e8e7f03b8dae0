"""The read side of complaints: the queue with its clocks, a complaint's timeline, links and
deductions, satisfaction per station with its interval, and the complaints part of the monthly
bulletin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from pingan.core.roles import Actor
from pingan.core.scoping import station_condition
from pingan.supervision import approvals
from pingan.supervision.choices import DeadlineStatus
from pingan.supervision.complaints import rules
from pingan.supervision.complaints.actions import OPEN, extension_ref, step_list
from pingan.supervision.complaints.choices import (
    CallbackResult,
    ComplaintStatus,
    Finding,
    RootCause,
)
from pingan.supervision.complaints.model import (
    Complaint,
    ComplaintAttachment,
    ComplaintBreach,
    ComplaintLink,
)
from pingan.supervision.complaints.pack import ComplaintPack, in_force
from pingan.supervision.model import ApprovalRequest, QualityEntry
from pingan.supervision.rules import BEIJING

ATTENTION = frozenset({DeadlineStatus.WARNING, DeadlineStatus.BREACHED})


@dataclass(frozen=True)
class QueueRow:
    """A complaint of the queue with its next clock (the earliest unmet due time)."""

    complaint: Complaint
    next_clock: rules.Clock | None


def queue(
    session: Session,
    actor: Actor,
    *,
    now: datetime,
    status: ComplaintStatus | None = None,
    station: str | None = None,
    attention: bool = False,
    limit: int = 200,
    pack: ComplaintPack | None = None,
) -> list[QueueRow]:
    """Complaints in view, open ones first by their next due time; `attention`: due soon or passed."""
    pack = pack or in_force()
    q = select(Complaint).where(station_condition(actor, Complaint.station_code))
    if status is not None:
        q = q.where(Complaint.status == status)
    else:
        q = q.where(Complaint.status.in_([*OPEN, ComplaintStatus.ANSWERED]))
    if station:
        q = q.where(Complaint.station_code == station)
    rows = []
    for c in session.scalars(q.order_by(Complaint.received_at.desc()).limit(limit * 5)):
        # The duties still to meet, and a complainant's window while it is open (a closed window is
        # no one's overdue work).
        clocks = [
            k for k in rules.evaluate(step_list(c), pack, at=now) if k.met_at is None and not k.window_closed
        ]
        nxt = min(clocks, key=lambda k: k.due_at) if clocks else None
        if attention and (nxt is None or nxt.status.value not in ("warning", "breached")):
            continue
        rows.append(QueueRow(c, nxt))
    far = now + timedelta(days=10_000)
    rows.sort(key=lambda r: (r.next_clock.due_at if r.next_clock else far, -r.complaint.id))
    return rows[:limit]


@dataclass(frozen=True)
class ClockWarning:
    """A complaint's duty clock within its warning time or passed unmet (the supervision warnings page)."""

    complaint: Complaint
    clock: rules.Clock


def clock_warnings(
    session: Session, actor: Actor, *, now: datetime, limit: int = 500, pack: ComplaintPack | None = None
) -> list[ClockWarning]:
    """Every unmet duty clock of the complaints in view that is due soon or passed, soonest due first.

    A complainant's window (the review request) is not a duty of the bureau and is left out: it
    closes, it does not breach. A clock met late is a recorded breach, not a warning any more.
    """
    pack = pack or in_force()
    q = select(Complaint).where(
        station_condition(actor, Complaint.station_code),
        Complaint.status.in_([*OPEN, ComplaintStatus.ANSWERED]),
    )
    out = [
        ClockWarning(c, k)
        for c in session.scalars(q.order_by(Complaint.id))
        for k in rules.evaluate(step_list(c), pack, at=now)
        if k.rule.duty and k.met_at is None and k.status in ATTENTION
    ]
    out.sort(key=lambda w: (w.clock.due_at, w.complaint.id))
    return out[:limit]


@dataclass(frozen=True)
class LinkView:
    other_id: int
    direction: str  # "earlier" or "later"
    reasons: tuple[str, ...]
    similarity: float
    repeat: bool


def links_of(session: Session, complaint_id: int) -> list[LinkView]:
    """The complaint's links both ways: to earlier complaints and from later ones."""
    out = []
    for link in session.scalars(
        select(ComplaintLink)
        .where(or_(ComplaintLink.complaint_id == complaint_id, ComplaintLink.earlier_id == complaint_id))
        .order_by(ComplaintLink.id)
    ):
        later = link.earlier_id == complaint_id
        out.append(
            LinkView(
                link.complaint_id if later else link.earlier_id,
                "later" if later else "earlier",
                tuple(link.reasons.split(",")),
                link.similarity,
                link.repeat,
            )
        )
    return out


def attachments_of(session: Session, complaint_id: int) -> Sequence[ComplaintAttachment]:
    return session.scalars(
        select(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == complaint_id)
        .order_by(ComplaintAttachment.id)
    ).all()


def complaints_total(session: Session) -> int:
    """How many complaints are recorded."""
    return int(session.scalar(select(func.count()).select_from(Complaint)) or 0)


def extension_requests_of(session: Session, complaint_id: int) -> Sequence[ApprovalRequest]:
    """The complaint's requests to extend its handling period, in the approvals queue, oldest first."""
    return approvals.requests_about(session, extension_ref(complaint_id))


def breaches_of(session: Session, complaint_id: int) -> Sequence[ComplaintBreach]:
    return session.scalars(
        select(ComplaintBreach)
        .where(ComplaintBreach.complaint_id == complaint_id)
        .order_by(ComplaintBreach.id)
    ).all()


def deductions_of(session: Session, complaint_id: int) -> Sequence[QualityEntry]:
    """The quality-ledger entries citing the complaint: its deduction and any appeal decision on it."""
    ded = session.scalars(
        select(QualityEntry).where(QualityEntry.source == f"complaint:{complaint_id}")
    ).all()
    ids = [d.id for d in ded]
    appeals = (
        session.scalars(select(QualityEntry).where(QualityEntry.appeal_of.in_(ids))).all() if ids else []
    )
    return [*ded, *appeals]


# ------------------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class StationShare:
    station_code: str
    share: rules.Share


def satisfaction_by_station(
    session: Session, actor: Actor | None, *, start: datetime | None = None, end: datetime | None = None
) -> list[StationShare]:
    """Per station: satisfied or basically satisfied among the complainants reached by a call-back,
    with the sample size and the 95% Wilson interval; lowest lower bound first."""
    satisfied = func.sum(
        case(
            (
                Complaint.callback_result.in_([CallbackResult.SATISFIED, CallbackResult.BASICALLY_SATISFIED]),
                1,
            ),
            else_=0,
        )
    )
    q = (
        select(Complaint.station_code, satisfied, func.count())
        .where(
            Complaint.callback_result.is_not(None), Complaint.callback_result != CallbackResult.UNREACHABLE
        )
        .group_by(Complaint.station_code)
    )
    if actor is not None:
        q = q.where(station_condition(actor, Complaint.station_code))
    if start is not None:
        q = q.where(Complaint.answered_at >= start)
    if end is not None:
        q = q.where(Complaint.answered_at < end)
    out = [StationShare(code, rules.wilson(int(s or 0), int(n))) for code, s, n in session.execute(q)]
    out.sort(key=lambda r: (r.share.low, r.station_code))
    return out


# ------------------------------------------------------------------------------------------ bulletin


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants of a Beijing calendar month `YYYY-MM`: [start, end)."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=BEIJING)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=BEIJING)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Bulletin:
    """The complaints part of the monthly bulletin."""

    month: str
    received: int
    received_last_year: int
    by_root_cause: Mapping[str, int]
    by_channel: Mapping[str, int]
    substantiated: rules.Share  # substantiated or partly, among complaints with a finding
    repeats: rules.Share  # repeats among complaints received
    satisfaction: rules.Share
    by_station: list[StationShare]
    breaches: int
    monthly: list[tuple[str, int, int]]  # the 12 months to `month`: (month, this year, a year before)

    @property
    def change(self) -> float | None:
        """Complaints year over year, as a fraction (-0.33: a third fewer)."""
        if not self.received_last_year:
            return None
        return (self.received - self.received_last_year) / self.received_last_year


def _shift(month: str, months: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def bulletin(session: Session, month: str, *, actor: Actor | None = None) -> Bulletin:
    """The month's figures, by SQL aggregates over the complaints received (and answered) in it."""
    start, end = month_bounds(month)
    scope = [station_condition(actor, Complaint.station_code)] if actor is not None else []
    in_month = and_(Complaint.received_at >= start, Complaint.received_at < end, *scope)

    first, _ = month_bounds(_shift(month, -23))
    by_month: dict[str, int] = {}
    # Counted per Beijing month from a GROUP BY on the Beijing day, written for each database.
    if session.get_bind().dialect.name == "postgresql":
        day = func.to_char(func.timezone("Asia/Shanghai", Complaint.received_at), "YYYY-MM-DD")
    else:
        day = func.date(Complaint.received_at, "+8 hours")
    for d, n in session.execute(
        select(day, func.count())
        .where(Complaint.received_at >= first, Complaint.received_at < end, *scope)
        .group_by(day)
    ):
        key = str(d)[:7]
        by_month[key] = by_month.get(key, 0) + int(n)
    monthly = [
        (_shift(month, -k), by_month.get(_shift(month, -k), 0), by_month.get(_shift(month, -k - 12), 0))
        for k in range(11, -1, -1)
    ]

    causes: dict[object, int] = dict(
        session.execute(
            select(Complaint.root_cause, func.count())
            .where(in_month, Complaint.root_cause.is_not(None))
            .group_by(Complaint.root_cause)
        ).all()
    )
    channels = dict(
        session.execute(
            select(Complaint.channel, func.count()).where(in_month).group_by(Complaint.channel)
        ).all()
    )
    found = session.execute(
        select(
            func.count(),
            func.sum(case((Complaint.finding.in_([Finding.SUBSTANTIATED, Finding.PARTLY]), 1), else_=0)),
            func.sum(case((Complaint.is_repeat.is_(True), 1), else_=0)),
            func.sum(case((Complaint.finding.is_not(None), 1), else_=0)),
        ).where(in_month)
    ).one()
    received, subst, repeats, with_finding = (int(v or 0) for v in found)
    by_station = satisfaction_by_station(session, actor, start=start, end=end)
    breaches = int(
        session.scalar(
            select(func.count())
            .select_from(ComplaintBreach)
            .where(ComplaintBreach.due_at >= start, ComplaintBreach.due_at < end)
        )
        or 0
    )
    return Bulletin(
        month=month,
        received=received,
        received_last_year=monthly[-1][2],
        by_root_cause={(k.value if isinstance(k, RootCause) else str(k)): int(v) for k, v in causes.items()},
        by_channel={str(k.value if hasattr(k, "value") else k): int(v) for k, v in channels.items()},
        substantiated=rules.wilson(subst, with_finding),
        repeats=rules.wilson(repeats, received),
        satisfaction=rules.wilson(
            sum(s.share.successes for s in by_station), sum(s.share.n for s in by_station)
        ),
        by_station=by_station,
        breaches=breaches,
        monthly=monthly,
    )


def chart_options(b: Bulletin, labels: Mapping[str, str]) -> dict[str, object]:
    """ECharts options of the bulletin's charts: year over year, root causes, satisfaction per station
    with its interval (a bar for the share, an error band for the 95% interval)."""
    return {
        "yoy": {
            "tooltip": {"trigger": "axis"},
            "legend": {},
            "xAxis": {"type": "category", "data": [m for m, _, _ in b.monthly]},
            "yAxis": {"type": "value"},
            "series": [
                {"name": labels["this_year"], "type": "bar", "data": [n for _, n, _ in b.monthly]},
                {"name": labels["last_year"], "type": "line", "data": [n for _, _, n in b.monthly]},
            ],
        },
        "causes": {
            "tooltip": {},
            "series": [
                {
                    "type": "pie",
                    "data": [{"name": labels.get(k, k), "value": v} for k, v in b.by_root_cause.items()],
                }
            ],
        },
        "satisfaction": {
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [s.station_code for s in b.by_station]},
            "yAxis": {"type": "value", "min": 0, "max": 100},
            "series": [
                {
                    "name": labels["share"],
                    "type": "bar",
                    "data": [round(100 * (s.share.point or 0), 1) for s in b.by_station],
                },
                {
                    "name": labels["low"],
                    "type": "line",
                    "data": [round(100 * s.share.low, 1) for s in b.by_station],
                },
                {
                    "name": labels["high"],
                    "type": "line",
                    "data": [round(100 * s.share.high, 1) for s in b.by_station],
                },
            ],
        },
    }
