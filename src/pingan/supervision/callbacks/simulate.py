"""The simulator's 110 call-backs (110 回访): each week that has ended, the week's sample of closed
incidents is drawn as the supervisor draws it (`do_draw`, the bureau's rate and seed), and each
call-back is made a day or three after the incident closed and recorded as the desk records it
(`do_outcome`). A dissatisfied caller's call-back becomes a complaint through the complaint intake
(`do_to_complaint`, channel `callback_110`), which is then accepted. The same seed and incidents
give the same call-backs.

The rates are modelling assumptions, not measurements: about four callers in five are reached on a
call-back (published 12345/110 call-back figures put reach between 70% and 90%), and about nine in
ten of those reached say they are satisfied; a station's satisfaction drifts a few points around
that, so that the bulletin has stations to tell apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core.errors import DomainError
from pingan.core.roles import Actor
from pingan.supervision.callbacks import actions, rules
from pingan.supervision.callbacks.choices import CallbackOutcome
from pingan.supervision.callbacks.model import CallbackTask
from pingan.supervision.callbacks.schemas import DrawIn, OutcomeIn, ToComplaintIn
from pingan.supervision.complaints import actions as complaint_actions
from pingan.supervision.complaints.schemas import AcceptIn
from pingan.supervision.rules import BEIJING

REACH = 0.80  # callers reached among call-backs made: a modelling assumption (see the docstring)
SATISFIED = 0.90  # satisfied among callers reached, before a station's drift
STATION_DRIFT = 0.05  # a station's satisfaction lies within ± this of SATISFIED
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰涛明超霞平刚"
DISSATISFIED_NOTES = [
    "出警太慢，等了四十多分钟才到",
    "民警到场后只做了登记，之后再没有消息",
    "处理结果不满意，对方没有受到任何处理",
    "民警态度生硬，没有耐心听我说完",
    "说好回复处理进度，一直没有人联系我",
]
SATISFIED_NOTES = ["处理及时，满意", "民警态度很好", "问题已解决，谢谢", ""]


@dataclass(frozen=True)
class Written:
    """What the call-back simulator wrote."""

    weeks: int
    drawn: int
    called: int
    complaints: int


def mondays(since: datetime, now: datetime) -> list[date]:
    """The Mondays (Beijing calendar) of the weeks that start at or after `since` and ended by `now`."""
    day = since.astimezone(BEIJING).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    out = []
    while rules.week_bounds(day)[1] <= now:
        out.append(day)
        day += timedelta(days=7)
    return out


def load(
    session: Session,
    *,
    seed: int,
    since: datetime,
    now: datetime,
    rate: float = rules.DEFAULT_RATE,
) -> Written:
    """Draw every ended week since `since` not drawn yet, make its call-backs up to `now`, and turn
    the dissatisfied ones into complaints, all through the actions; the caller commits."""
    actor = Actor.system("callbacks-sim")
    rng = random.Random(f"callbacks:{seed}")  # noqa: S311 - a simulation's draws, not a secret
    drift: dict[str, float] = {}
    weeks = drawn = called = complaints = 0
    for monday in mondays(since, now):
        # Drawn on the Monday after, at 09:00 Beijing time (or now, when that is still ahead).
        drawn_at = min(rules.week_bounds(monday)[1] + timedelta(hours=1), now)
        data = DrawIn(week_start=monday, rate=rate, seed=seed)
        try:
            actions.check_draw(session, data, actor=actor, now=drawn_at)
        except DomainError:
            continue  # drawn already
        draw = actions.do_draw(session, data, actor=actor, now=drawn_at)
        weeks += 1
        tasks = session.scalars(
            select(CallbackTask).where(CallbackTask.draw_id == draw.id).order_by(CallbackTask.id)
        ).all()
        for task in tasks:
            drawn += 1
            at = max(task.incident_closed_at, drawn_at) + timedelta(days=rng.uniform(0.1, 2.5))
            if at > now:
                continue  # still on the desk's list
            share = drift.setdefault(task.station_code, rng.uniform(-STATION_DRIFT, STATION_DRIFT))
            if rng.random() >= REACH:
                outcome, note = CallbackOutcome.NOT_REACHED, "无人接听"
            elif rng.random() < SATISFIED + share:
                outcome, note = CallbackOutcome.SATISFIED, rng.choice(SATISFIED_NOTES)
            else:
                outcome, note = CallbackOutcome.DISSATISFIED, rng.choice(DISSATISFIED_NOTES)
            body = OutcomeIn(outcome=outcome, at=at, note=note)
            actions.check_outcome(task, body, actor=actor, now=at)
            actions.do_outcome(session, task, body, actor=actor, now=at)
            called += 1
            if outcome is CallbackOutcome.DISSATISFIED and _to_complaint(session, task, rng, actor, at, now):
                complaints += 1
    return Written(weeks, drawn, called, complaints)


def _to_complaint(
    session: Session, task: CallbackTask, rng: random.Random, actor: Actor, at: datetime, now: datetime
) -> bool:
    """The dissatisfied call-back as a complaint, through the intake, accepted the next day; False when
    the intake refuses it (the incident's caller has no phone on record)."""
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    try:
        with session.begin_nested():
            try:
                body, subject = actions.check_to_complaint(
                    session, task, ToComplaintIn(), actor=actor, now=at
                )
            except DomainError as exc:
                if exc.field != "complainant_name":
                    raise
                body, subject = actions.check_to_complaint(
                    session, task, ToComplaintIn(complainant_name=name), actor=actor, now=at
                )
            complaint_id = actions.do_to_complaint(session, task, body, subject, actor=actor, now=at)
    except DomainError:
        return False
    accepted = AcceptIn(accept=True, at=at + timedelta(days=1))
    if accepted.at <= now:
        complaint = complaint_actions.get_complaint(session, complaint_id, actor=actor)
        complaint_actions.check_accept(complaint, accepted, actor=actor, now=accepted.at)
        complaint_actions.do_accept(session, complaint, accepted, actor=actor, now=accepted.at)
    return True
