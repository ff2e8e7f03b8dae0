"""A year of community disputes drawn from the simulated 110 calls (`sim.incidents`), written through
community's actions.

Each dispute call (类别 0201: family, neighbour, money, consumer) is taken in for mediation with a
probability; a few disputes walk in without a call (traffic, property management). The caller pool of
the 110 generator is Zipf-weighted, so a few households call again and again: the same caller keeps
the same respondent and the same address, and their later disputes are repeats that the grader counts.
Risk factors are drawn by type; escalation to the criminal track is rare and likelier the redder the
grade. Every share below is an assumption of this simulator, not a measured figure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from pingan.community import actions, queries
from pingan.community.choices import DisputeType, EventKind, Grade
from pingan.community.schemas import AgreementIn, DisputeIn, MediatorIn, PartyIn, RiskIn, StepIn
from pingan.core import clock, db
from pingan.core.roles import Actor
from pingan.sim.incidents import IncidentParams, SimCall, generate_calls

# 110 category → the mediation types it becomes (with weights).
FROM_CALL: dict[str, tuple[tuple[DisputeType, float], ...]] = {
    "020101": ((DisputeType.FAMILY, 0.6), (DisputeType.MARRIAGE, 0.4)),
    "020102": ((DisputeType.NEIGHBOURS, 0.8), (DisputeType.PROPERTY_MANAGEMENT, 0.2)),
    "020103": ((DisputeType.WAGE_ARREARS, 0.7), (DisputeType.CONSUMER, 0.3)),
    "020104": ((DisputeType.CONSUMER, 1.0),),
}
# Per type: the chance of each flag (threats, violence_history, weapons, alcohol_or_drugs, separation,
# economic_stress, vulnerable_party) and of domestic violence.
PROFILE: dict[DisputeType, tuple[tuple[float, ...], float]] = {
    DisputeType.FAMILY: ((0.25, 0.2, 0.04, 0.25, 0.1, 0.2, 0.25), 0.3),
    DisputeType.MARRIAGE: ((0.3, 0.2, 0.05, 0.2, 0.45, 0.15, 0.15), 0.35),
    DisputeType.NEIGHBOURS: ((0.12, 0.05, 0.02, 0.1, 0.0, 0.05, 0.1), 0.0),
    DisputeType.WAGE_ARREARS: ((0.1, 0.02, 0.01, 0.05, 0.0, 0.9, 0.05), 0.0),
    DisputeType.CONSUMER: ((0.05, 0.01, 0.0, 0.05, 0.0, 0.1, 0.05), 0.0),
    DisputeType.PROPERTY_MANAGEMENT: ((0.06, 0.02, 0.01, 0.03, 0.0, 0.05, 0.08), 0.0),
    DisputeType.TRAFFIC: ((0.08, 0.02, 0.01, 0.1, 0.0, 0.1, 0.05), 0.0),
}
FLAGS = (
    "threats",
    "violence_history",
    "weapons",
    "alcohol_or_drugs",
    "separation",
    "economic_stress",
    "vulnerable_party",
)
BATCH = 200
ESCALATION = {Grade.RED: 0.03, Grade.ORANGE: 0.004, Grade.YELLOW: 0.0005, Grade.BLUE: 0.0}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "洋",
    "军",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
)
EMPLOYERS = (
    "蓉城建筑劳务有限公司",
    "锦江餐饮管理有限公司",
    "玉林装饰工程有限公司",
    "望江物流有限公司",
    "天府家政服务有限公司",
)
COMMUNITY_MEDIATORS = ("刘主任", "陈书记", "周调解员", "何主任")
LAWYERS = ("赵律师", "孙律师", "郑律师")


@dataclass(frozen=True)
class DisputeParams:
    """The knobs of the dispute simulator (assumptions, documented in docs/community.md)."""

    seed: int = 1
    until: date = date(2026, 11, 30)
    days: int = 365
    taken_in_share: float = 0.5  # dispute calls that become a mediation case
    walk_ins_per_day: float = 0.6  # disputes brought to the station without a 110 call
    calls: IncidentParams = field(default_factory=IncidentParams)


@dataclass(frozen=True)
class SimDispute:
    """One simulated dispute: its intake, the 110 call it came from (seq), and how it ends."""

    body: DisputeIn
    call_seq: int | None
    agree_after: timedelta | None
    terms: str
    follow_up_after: timedelta | None
    escalate: bool
    recovered_share: float


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


def generate(params: DisputeParams) -> Iterator[SimDispute]:
    """The disputes of `params.days` days up to `params.until`, in time order; deterministic."""
    start = params.until - timedelta(days=params.days - 1)
    rng = random.Random(f"disputes:{params.seed}")
    calls = generate_calls(replace(params.calls, start=start, until=params.until, seed=params.seed))
    # A caller keeps one respondent and one address: their disputes repeat.
    households: dict[str, tuple[str, str, str]] = {}
    earlier_calls: dict[str, int] = {}
    # Each item: when taken in, the type, the call, the station, and the caller's earlier 110 calls.
    items: list[tuple[datetime, DisputeType, SimCall | None, str, int]] = []
    for call in calls:
        if call.caller_phone:
            earlier_calls[call.caller_phone] = earlier_calls.get(call.caller_phone, 0) + 1
        if call.kind != "new" or call.category_code not in FROM_CALL or rng.random() > params.taken_in_share:
            continue
        kinds, weights = zip(*FROM_CALL[call.category_code], strict=True)
        items.append(
            (
                call.received_at + timedelta(hours=rng.uniform(2, 48)),
                rng.choices(kinds, weights)[0],
                call,
                call.station_code,
                earlier_calls.get(call.caller_phone, 1) - 1 if call.caller_phone else 0,
            )
        )
    stations = sorted({c.station_code for _, _, c, _, _ in items if c is not None}) or ["WH-YL"]
    for d in range(params.days):
        for _ in range(
            int(rng.random() < params.walk_ins_per_day) + int(rng.random() < params.walk_ins_per_day / 4)
        ):
            day = datetime(start.year, start.month, start.day, 1, tzinfo=UTC)
            kind = rng.choice(
                (DisputeType.TRAFFIC, DisputeType.PROPERTY_MANAGEMENT, DisputeType.WAGE_ARREARS)
            )
            items.append(
                (day + timedelta(days=d, hours=rng.uniform(0, 10)), kind, None, rng.choice(stations), 0)
            )
    items.sort(key=lambda t: (t[0], t[2].seq if t[2] else -1))
    for at, kind, src, station, prior in items:
        phone = src.caller_phone if src and src.caller_phone else _phone(rng)
        name = src.caller_name if src and src.caller_name else _name(rng)
        if phone not in households:
            households[phone] = (
                _name(rng),
                _phone(rng),
                f"{station}辖区{rng.choice('东南西北')}苑{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元",
            )
        other, other_phone, address = households[phone]
        flags, dv_share = PROFILE[kind]
        risk = {f: rng.random() < p for f, p in zip(FLAGS, flags, strict=True)}
        dv = rng.random() < dv_share
        if dv:
            risk["violence_history"] = risk["violence_history"] or rng.random() < 0.6
        wage = kind is DisputeType.WAGE_ARREARS
        body = DisputeIn(
            kind=kind,
            station_code=station,
            taken_in_at=at,
            summary="",
            address=address,
            domestic_violence=dv,
            parties=[
                PartyIn(role="applicant", name=name, phone=phone),
                PartyIn(role="respondent", name=other, phone=None if wage else other_phone),
            ],
            mediators=[
                MediatorIn(side="station", name=f"{rng.choice(SURNAMES)}警官"),
                MediatorIn(side="community", name=rng.choice(COMMUNITY_MEDIATORS)),
                *(
                    [MediatorIn(side="lawyer", name=rng.choice(LAWYERS))]
                    if wage or rng.random() < 0.3
                    else []
                ),
                *(
                    [MediatorIn(side="judicial_office", name="司法所" + rng.choice(SURNAMES) + "所长")]
                    if rng.random() < 0.4
                    else []
                ),
            ],
            risk=RiskIn(**risk, repeated_calls=min(prior, 1000)),
            employer=rng.choice(EMPLOYERS) if wage else "",
            owed_fen=rng.randint(20, 600) * 100_00 if wage else 0,
        )
        # Most disputes settle within days; a tail runs past the month (a breach), a few fail.
        settle = rng.random() < 0.97
        days_to = min(60.0, rng.lognormvariate(1.6, 0.8))
        yield SimDispute(
            body=body,
            call_seq=src.seq if src else None,
            agree_after=timedelta(days=days_to) if settle else None,
            terms="双方达成和解，互相谅解" if not wage else "用人单位分期支付所欠工资",
            follow_up_after=timedelta(days=rng.uniform(3, 20)) if rng.random() < 0.9 else None,
            escalate=False,
            recovered_share=rng.choice((1.0, 1.0, 0.8, 0.5)) if wage else 0.0,
        )


def write(params: DisputeParams, *, now: datetime, actor: Actor | None = None) -> int:
    """Write the simulated disputes through community's actions, steps that lie before `now` included,
    then record the breaches. Returns how many disputes were written."""
    actor = actor or Actor.system("sim-disputes")
    esc_rng = random.Random(f"escalate:{params.seed}")
    count = 0
    items = list(generate(params))
    # Written in batches, one transaction each: a transaction per dispute costs a commit per row.
    for start in range(0, len(items), BATCH):
        with db.transaction() as session:
            for item in items[start : start + BATCH]:
                _write_one(session, item, actor, esc_rng, now=now)
                count += 1
    with db.transaction() as session:
        actions.do_sweep_breaches(session, actor, now=now)
    return count


def _write_one(
    session: Session, item: SimDispute, actor: Actor, esc_rng: random.Random, *, now: datetime
) -> None:
    """One simulated dispute with the steps that lie before `now`."""
    intake = actions.check_take_in(session, item.body, actor)
    dispute = actions.do_take_in(session, intake, actor)
    at0 = intake.taken_in_at
    # The station's tasks of a red dispute (the visit within hours, the risk report) done 1 to 5 hours
    # after intake, as a station on duty does them (an assumption; from the id, so that no draw of the
    # simulation moves).
    done = at0 + timedelta(hours=1 + dispute.id % 5)
    if done <= now:
        for task in queries.dispute_view(session, dispute, now=now).tasks:
            if task.done_at is None:
                with clock.frozen(done):
                    actions.do_complete_task(session, task, actor)
    if esc_rng.random() < ESCALATION[dispute.grade]:
        at = at0 + timedelta(days=esc_rng.uniform(0.5, 20))
        if at <= now:
            step = StepIn(kind=EventKind.ESCALATED, at=at, note="")
            actions.do_step(session, dispute, step, actor, at=actions.check_step(dispute, step, actor))
    elif item.agree_after is not None and at0 + item.agree_after <= now:
        agreed = at0 + item.agree_after
        body = AgreementIn(
            agreed_at=agreed,
            terms=item.terms,
            recovered_fen=int(dispute.owed_fen * item.recovered_share) if dispute.owed_fen else None,
        )
        actions.do_agree(session, dispute, body, actor, at=actions.check_agree(dispute, body, actor))
        if item.follow_up_after is not None and agreed + item.follow_up_after <= now:
            step = StepIn(kind=EventKind.FOLLOW_UP_VISIT, at=agreed + item.follow_up_after)
            actions.do_step(session, dispute, step, actor, at=actions.check_step(dispute, step, actor))
    if dispute.domestic_violence:
        warned = at0 + timedelta(hours=esc_rng.uniform(2, 80))
        if warned <= now:
            step = StepIn(kind=EventKind.DV_WARNING_ISSUED, at=warned)
            actions.do_step(session, dispute, step, actor, at=actions.check_step(dispute, step, actor))


def seed(params: DisputeParams, *, now: datetime) -> int:
    """Write the simulated year unless disputes exist already (the demo seed is idempotent)."""
    with db.transaction() as session:
        if actions.count_disputes(session):
            return 0
    return write(params, now=now)
