"""The read side of traffic safety, for pages, the API and other packages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pingan.traffic import rules
from pingan.traffic.choices import Cause
from pingan.traffic.model import Accident, Countermeasure


def causes_of(accident: Accident) -> list[Cause]:
    """The accident's contributory factors, in the order recorded."""
    return [Cause(c) for c in accident.causes.split(",") if c]


def clock_of(accident: Accident, *, now: datetime) -> rules.FindingClock:
    """Where the accident's finding stands now."""
    return rules.finding_clock(
        scene_investigated_at=accident.scene_investigated_at,
        tests_ordered=accident.tests_ordered,
        tests_reported_at=accident.tests_reported_at,
        finding_issued_at=accident.finding_issued_at,
        now=now,
    )


def accident_detail(session: Session, accident_id: int) -> Accident | None:
    """One accident with its vehicles and people."""
    return session.execute(
        select(Accident)
        .where(Accident.id == accident_id)
        .options(selectinload(Accident.vehicles), selectinload(Accident.people))
    ).scalar_one_or_none()


def recent_accidents(
    session: Session, *, major_only: bool = False, flagged_only: bool = False, limit: int = 200
) -> list[Accident]:
    """The latest accidents first; `flagged_only`: those whose place a human must set."""
    q = select(Accident).order_by(Accident.occurred_at.desc(), Accident.id.desc()).limit(limit)
    if major_only:
        q = q.where(Accident.major.is_(True))
    if flagged_only:
        q = q.where(Accident.edge_id.is_(None))
    return list(session.execute(q).scalars())


def countermeasures(session: Session) -> list[Countermeasure]:
    """Every countermeasure, the latest first."""
    return list(
        session.execute(
            select(Countermeasure).order_by(Countermeasure.installed_on.desc(), Countermeasure.id.desc())
        ).scalars()
    )
