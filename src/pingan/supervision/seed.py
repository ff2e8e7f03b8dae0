"""The demo's year of supervised cases: every station's cases with their measures and seized
property, written through the actions, so that deadlines, breaches, the property ledger and the
quality scores derive from them as from real work. Some steps come late and some never: a family
notice after 24 hours, an arrest request on the fourth day, property registered late or never, a
check-out returned late. Seeded randomness: the same seed gives the same year.

The seed acts as several users, as the bureau would: a measure that needs approval (detention, arrest
request, seizure) is requested by the station's case officer and approved by the case supervisor in
the approvals queue, which records it; a few are refused, with the reason. The return of an unrelated
item is requested by the case officer, approved by the supervisor, and carried out by the keeper."""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.core import db
from pingan.core.auth import User, do_add_user
from pingan.core.errors import DomainError
from pingan.core.org import Station
from pingan.core.roles import Actor, Role
from pingan.supervision import actions, approvals, ledger, queries, scores
from pingan.supervision.choices import CaseKind, EventKind, MovementKind, PartyRole, PropertyState
from pingan.supervision.model import SupervisionCase
from pingan.supervision.schemas import (
    CaseIn,
    EventIn,
    MovementIn,
    PartyIn,
    PropertyIn,
    PropertyRequestIn,
    PropertyStepIn,
    StepRequestIn,
)

SUPERVISOR = "case_supervisor"
APPROVER = Actor(SUPERVISOR, Role.SUPERVISOR)
# How long the supervisor takes to decide a request, at most; and how often a request is refused.
DECISION_DELAY_MIN = (5, 90)
P_REFUSED = 0.02
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


# The seeded officers' names: a surname and a given name picked by a hash of the username, so that the
# simulation's own draws stay as they are.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静强磊军洋勇艳杰涛明超霞平刚华斌"


def _display_name(username: str, station_name: str | None) -> str:
    """The name shown, such as "玉林所 李强": the unit's short name (派出所 → 所) and a person's name."""
    h = zlib.crc32(username.encode())
    person = _SURNAMES[h % len(_SURNAMES)] + _GIVEN[(h // len(_SURNAMES)) % len(_GIVEN)]
    short = station_name.replace("派出所", "所") if station_name else ""
    return f"{short} {person}" if short else person


def _user(
    session: Session, username: str, role: Role, station: str | None, password: str, station_name: str | None
) -> None:
    if session.execute(select(User.id).where(User.username == username)).first() is None:
        do_add_user(
            session,
            username=username,
            role=role,
            password=password,
            station_code=station,
            display_name=_display_name(username, station_name),
            actor=Actor.system("demo-seed"),
        )


def _late(
    rng: random.Random, on_time: timedelta, late: timedelta, p_late: float, p_missing: float
) -> timedelta | None:
    roll = rng.random()
    if roll < p_missing:
        return None
    return late if roll < p_missing + p_late else on_time


def seed_supervision(*, now: datetime, cases_per_station: int = 40, seed: int = 2026, password: str) -> int:
    """A year of cases per station, unless any case exists; returns how many cases were written."""
    rng = random.Random(seed)  # noqa: S311 - a simulation's draws, not a secret
    with db.transaction() as session:
        if session.execute(select(func.count()).select_from(SupervisionCase)).scalar_one():
            return 0
        names = {s.code: s.name for s in session.scalars(select(Station).order_by(Station.code))}
        stations = list(names)
        _user(session, SUPERVISOR, Role.SUPERVISOR, None, password, "法制大队")
        for code in stations:
            _user(session, f"case_{code.lower()}", Role.OFFICER, code, password, names[code])
            _user(session, f"keeper_{code.lower()}", Role.OFFICER, code, password, names[code])
    written = 0
    for code in stations:
        for n in range(cases_per_station):
            opened = now - timedelta(days=rng.uniform(5, 365), hours=rng.uniform(0, 12))
            kind = CaseKind.CRIMINAL if rng.random() < 0.6 else CaseKind.ADMINISTRATIVE
            with db.transaction() as session:
                _one_case(session, rng, code, n, kind, opened, now)
            written += 1
    with db.transaction() as session:
        # As the daily sweep (`pingan supervision sweep`) would have done: every deadline that time alone
        # has passed unmet is a breach on record, and in the quality ledger.
        actions.do_sweep(session, actions.cases_to_sweep(session, now=now), now=now)
        scores.sync(session, now=now)
    with db.transaction() as session:
        # And the morning's digest (`pingan supervision digest`), so that each case officer and the
        # supervisor find today's on their warnings page.
        actions.do_send_digest(
            session, queries.digest(session, now=now), now=now, actor=Actor.system("supervision-digest")
        )
    return written


def _one_case(
    session: Session, rng: random.Random, code: str, n: int, kind: CaseKind, opened: datetime, now: datetime
) -> None:
    officer = Actor(f"case_{code.lower()}", Role.OFFICER, station_code=code)
    keeper = Actor(f"keeper_{code.lower()}", Role.OFFICER, station_code=code)
    prefix = "A" if kind is CaseKind.CRIMINAL else "X"
    number = f"{prefix}{code.replace('-', '')}{opened.strftime('%Y%m%d')}{n:04d}"
    body = CaseIn(
        number=number,
        kind=kind,
        title="盗窃案" if kind is CaseKind.CRIMINAL else "殴打他人案",
        station_code=code,
        officer=officer.username,
        supervisor=SUPERVISOR,
        opened_at=opened,
    )
    case = actions.do_open_case(session, body, actor=officer, now=opened)
    party = actions.do_add_party(
        session,
        case,
        PartyIn(role=PartyRole.SUSPECT, name=rng.choice(SURNAMES) + "某"),
        actor=officer,
        now=opened,
    )

    def step(kind: EventKind, at: datetime, **extra: object) -> bool:
        if at > now:
            return False
        if kind in actions.NEEDS_APPROVAL:
            return _approved_step(session, rng, case, officer, at, now, {"kind": kind, "at": at, **extra})
        data = EventIn.model_validate({"kind": kind, "at": at, **extra})
        try:
            actions.check_event(session, case, data, actor=officer, now=at)
        except DomainError:
            return False
        actions.do_record_event(session, case, data, actor=officer, now=at)
        return True

    t = opened + timedelta(hours=rng.uniform(1, 6))
    if kind is CaseKind.CRIMINAL:
        if step(EventKind.DETENTION, t, party_id=party.id):
            notice = _late(rng, timedelta(hours=rng.uniform(2, 20)), timedelta(hours=30), 0.08, 0.03)
            if notice is not None:
                step(EventKind.FAMILY_NOTIFIED, t + notice, party_id=party.id)
            request = _late(rng, timedelta(days=2), timedelta(days=4, hours=2), 0.07, 0.0)
            assert request is not None
            released = t + request + timedelta(hours=rng.uniform(1, 6))
            if step(EventKind.ARREST_REQUESTED, t + request, party_id=party.id):
                decided = t + request + timedelta(days=rng.uniform(3, 6.5))
                released = decided + timedelta(hours=rng.uniform(1, 6))
                if step(EventKind.ARREST_DECIDED, decided, party_id=party.id) and step(
                    EventKind.ARREST, decided + timedelta(hours=2), party_id=party.id
                ):
                    step(
                        EventKind.FAMILY_NOTIFIED,
                        decided + timedelta(hours=rng.uniform(3, 20)),
                        party_id=party.id,
                    )
                    transfer = _late(rng, timedelta(days=rng.uniform(30, 55)), timedelta(days=65), 0.05, 0.0)
                    assert transfer is not None
                    step(EventKind.TRANSFER_FOR_PROSECUTION, decided + transfer)  # a step of the case
                else:  # the arrest not approved: the detained person is released (释放)
                    step(EventKind.RELEASED, released, party_id=party.id)
            else:  # the request refused in the queue: released, as the law then requires
                step(EventKind.RELEASED, released, party_id=party.id)
    else:
        if step(EventKind.QUESTIONING_STARTED, t, party_id=party.id):
            length = _late(rng, timedelta(hours=rng.uniform(2, 7)), timedelta(hours=9), 0.06, 0.0)
            assert length is not None
            step(EventKind.QUESTIONING_ENDED, t + length, party_id=party.id)
        handling = _late(rng, timedelta(days=rng.uniform(10, 28)), timedelta(days=33), 0.08, 0.0)
        assert handling is not None
        step(EventKind.CASE_DECIDED, opened + handling)
    if rng.random() < 0.5:
        _property(session, rng, case, officer, keeper, t + timedelta(hours=1), now)


def _decided_at(rng: random.Random, filed: datetime, now: datetime) -> datetime:
    return min(filed + timedelta(minutes=rng.uniform(*DECISION_DELAY_MIN)), now)


def _approved_step(
    session: Session,
    rng: random.Random,
    case: SupervisionCase,
    officer: Actor,
    at: datetime,
    now: datetime,
    body: dict[str, object],
) -> bool:
    """The officer requests the step as it happens; the supervisor decides it in the queue, which records
    it when approved. False when it is refused or cannot be recorded."""
    data = StepRequestIn.model_validate({**body, "approver": SUPERVISOR})
    try:
        approvals.check_request_step(session, case, data, actor=officer, now=at)
    except DomainError:
        return False
    req = approvals.do_request_step(session, case, data, actor=officer, now=at)
    decided = _decided_at(rng, at, now)
    if rng.random() < P_REFUSED:
        approvals.check_decide(session, req, False, "证据不足，补充调查后再报", actor=APPROVER)
        approvals.do_decide(session, req, False, "证据不足，补充调查后再报", actor=APPROVER, now=decided)
        return False
    approvals.check_decide(session, req, True, "", actor=APPROVER)
    approvals.do_decide(session, req, True, "", actor=APPROVER, now=decided)
    return True


def _property(
    session: Session,
    rng: random.Random,
    case: SupervisionCase,
    officer: Actor,
    keeper: Actor,
    seized: datetime,
    now: datetime,
) -> None:
    label = f"W{case.id:05d}-1"
    if seized > now:
        return
    if not _approved_step(
        session, rng, case, officer, seized, now, {"kind": EventKind.SEIZURE, "at": seized, "item": label}
    ):
        return
    delay = _late(rng, timedelta(hours=rng.uniform(1, 20)), timedelta(hours=30), 0.1, 0.04)
    if delay is None or seized + delay > now:
        return
    at = seized + delay
    item = ledger.do_register(
        session, case, PropertyIn(label=label, description="手机一部", at=at), actor=officer, now=at
    )
    if rng.random() < 0.05:
        return  # registered, never received into the store
    move = ledger.do_movement(
        session,
        item,
        MovementIn(kind=MovementKind.CUSTODY, to_user=keeper.username, location="A-01"),
        actor=officer,
        now=at,
    )
    ledger.do_confirm(session, item, move, actor=keeper, now=at + timedelta(hours=1))
    t = at + timedelta(days=rng.uniform(2, 10))
    if rng.random() < 0.25 and t + timedelta(days=5) < now:
        due = t + timedelta(days=3)
        out = ledger.do_movement(
            session,
            item,
            MovementIn(kind=MovementKind.CHECK_OUT, to_user=officer.username, due_at=due),
            actor=keeper,
            now=t,
        )
        ledger.do_confirm(session, item, out, actor=officer, now=t)
        back_at = due - timedelta(hours=5) if rng.random() < 0.8 else due + timedelta(days=1)
        back = ledger.do_movement(
            session,
            item,
            MovementIn(kind=MovementKind.RETURN, to_user=keeper.username),
            actor=officer,
            now=back_at,
        )
        ledger.do_confirm(session, item, back, actor=keeper, now=back_at)
        t = back_at + timedelta(hours=1)
    if rng.random() < 0.15 and t + timedelta(days=4) < now and case.status.value == "open":
        ledger.do_unrelated(
            session, case, item, PropertyStepIn(at=t, note="经查与案件无关"), actor=officer, now=t
        )
        release_at = t + (timedelta(days=rng.uniform(0.5, 2.5)) if rng.random() < 0.85 else timedelta(days=4))
        if item.state is PropertyState.IN_STORE:
            ask = PropertyRequestIn(
                kind="release", approver=SUPERVISOR, grounds="经查与案件无关，申请发还失主"
            )
            approvals.check_request_property(session, case, item, ask, actor=officer, now=t)
            req = approvals.do_request_property(session, case, item, ask, actor=officer, now=t)
            approvals.check_decide(session, req, True, "", actor=APPROVER)
            approvals.do_decide(session, req, True, "", actor=APPROVER, now=_decided_at(rng, t, release_at))
            done = PropertyStepIn(at=release_at, note="发还失主")
            approved = ledger.check_close(
                session, case, item, done, PropertyState.RELEASED, actor=keeper, now=release_at
            )
            ledger.do_close(
                session, case, item, done, PropertyState.RELEASED, approved, actor=keeper, now=release_at
            )
