"""The simulator's complaints: two years about the district's officers, stations, incidents and
cases, with the repeats and duplicates that real petitioning shows. The same seed writes the same
complaints.

`generate` is pure: it draws each matter (what went wrong, where, about whom) and its filings. Most
matters are raised once; some again by the same person, often through another channel and with
other words, sometimes under another phone or with the ID number only; some by a neighbour or a
relative as well (duplicates). Some people also complain of two unrelated matters. The second year
has about a third fewer complaints than the first, as the seed report's governance project claims.
Each filing keeps its matter's id: the ground truth that `bench/complaints.py` scores linking against.

`load` writes them through the same actions as the API, each step dated at its own time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command import queries as command_queries
from pingan.core.auth import User
from pingan.core.errors import DomainError
from pingan.core.org import all_stations
from pingan.core.pii import national_id_check_char
from pingan.core.roles import Actor, Role
from pingan.supervision import approvals
from pingan.supervision.complaints import actions
from pingan.supervision.complaints.choices import (
    CallbackResult,
    Channel,
    Finding,
    ReviewOutcome,
    RootCause,
    SubjectKind,
)
from pingan.supervision.complaints.model import Complaint
from pingan.supervision.complaints.schemas import (
    AcceptIn,
    AnswerIn,
    AssignIn,
    CallbackIn,
    ComplaintIn,
    ExtensionRequestIn,
    FindingIn,
    ReviewDecisionIn,
    ReviewRequestIn,
)
from pingan.supervision.model import SupervisionCase

PLACES = [
    "玉林北路",
    "玉林南路",
    "芳草街",
    "倪家桥",
    "科华北路",
    "红牌楼",
    "簇桥",
    "机投桥",
    "火车南站",
    "高升桥",
    "双楠小区",
    "永丰立交",
    "肖家河",
    "桐梓林",
    "跳伞塔",
    "浆洗街",
    "望江路",
    "磨子桥",
    "二环路西段",
    "晋阳路",
    "金花桥",
    "武侯大道",
    "新北小区",
    "龙井路",
    "太平园",
    "丽都花园",
    "石羊场",
    "神仙树",
    "府城大道",
    "天府三街",
]
ITEMS = [
    "电动车",
    "手机",
    "笔记本电脑",
    "自行车",
    "钱包",
    "银行卡",
    "摩托车",
    "货款",
    "工资",
    "押金",
    "快递包裹",
    "金项链",
    "车辆",
    "营业执照",
    "身份证",
    "租房押金",
    "二手车",
    "门面",
    "装修款",
    "借款",
]
PEOPLE_WORDS = ["邻居", "房东", "商户", "网约车司机", "快递员", "物业", "租客", "同事", "老板", "保安"]
FACTS = {
    "enforcement": [
        "我和{who}在{place}因{item}发生纠纷，民警处理时偏袒对方",
        "{place}派出所对{who}打人的事只做了调解，没有依法处理",
        "因{item}被{who}扣留报警，民警认定为民事纠纷不予立案",
        "我在{place}被罚款{amount}元，认定事实不清",
    ],
    "attitude": [
        "在{place}报警说{item}被{who}拿走，出警民警态度恶劣",
        "到{place}派出所办事询问{item}的事，值班民警大声呵斥",
        "民警在{place}处理我和{who}的纠纷时辱骂我",
    ],
    "inaction": [
        "{item}在{place}被盗报案后{months}个月没有任何进展",
        "在{place}报警称{who}威胁我，一直没有人出警",
        "{who}欠我{item}报了警，民警推诿说不归他们管",
    ],
    "service": [
        "在{place}派出所办理{item}相关证明跑了{times}趟还没办好",
        "户籍窗口办理迁移时要求提供{item}材料，被退回{times}次",
        "预约在{place}办证，等了{months}个月没有结果",
    ],
    "property": [
        "{place}派出所扣押我的{item}，案件结束后一直不退",
        "被扣押的{item}发还时发现损坏，{place}派出所不认账",
        "追回的{item}没有返还给我，问了{times}次没有答复",
    ],
    "fees": [
        "在{place}被交警罚款{amount}元没有开票据",
        "办理{item}手续时被额外收取{amount}元",
        "{place}的停车场扣车后收取保管费{amount}元",
    ],
}
OPENERS = ["", "本人反映：", "我要投诉，", "您好，", "反映问题：", "市民来电反映，", "来信人称："]
REPEAT_OPENERS = [
    "再次反映：",
    "之前反映过，",
    "第二次投诉：",
    "上次反映的问题至今未解决，",
    "重复来电：",
    "又来反映，",
]
CLOSERS = [
    "",
    "希望尽快处理。",
    "请给个说法。",
    "要求严肃处理。",
    "请核实后回复。",
    "请领导重视。",
    "不满意之前的处理。",
]
ROOT_CAUSE_OF = {
    "enforcement": [RootCause.LAW_APPLICATION, RootCause.PROCEDURE],
    "attitude": [RootCause.ATTITUDE],
    "inaction": [RootCause.DELAY, RootCause.PROCEDURE],
    "service": [RootCause.DELAY, RootCause.PROCEDURE, RootCause.OUTSIDE_REMIT],
    "property": [RootCause.PROCEDURE, RootCause.DELAY],
    "fees": [RootCause.LAW_APPLICATION, RootCause.OUTSIDE_REMIT],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰涛明超霞平刚"


@dataclass
class Person:
    name: str
    phone: str
    id_number: str


@dataclass
class Filing:
    """One simulated complaint, with its matter (the ground truth) and its planned handling."""

    matter: int
    person: int
    name: str
    phone: str | None
    id_number: str | None
    channel: Channel
    received_at: datetime
    subject_kind: SubjectKind
    subject_ref: str
    station_code: str
    category: str
    text: str
    accept_days: float
    answer_days: float
    finding: Finding
    root_cause: RootCause
    extended: bool
    callback: CallbackResult | None
    review: bool
    assign_to: str = ""
    repeat_of: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class District:
    """What complaints can be about: per station, its officers, incidents and cases."""

    stations: Sequence[str]
    officers: Mapping[str, Sequence[str]]
    incidents: Mapping[str, Sequence[int]]
    cases: Mapping[str, Sequence[int]]


def _id_number(rng: random.Random) -> str:
    first17 = f"510107{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + national_id_check_char(first17)


def _person(rng: random.Random) -> Person:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return Person(name, f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}", _id_number(rng))


def _text(rng: random.Random, category: str, facts: dict[str, str], fact_index: int, *, repeat: bool) -> str:
    core = FACTS[category][fact_index].format(**facts)
    opener = rng.choice(REPEAT_OPENERS if repeat else OPENERS)
    closer = rng.choice(CLOSERS)
    if repeat and rng.random() < 0.5:  # retold in other words: the clauses swapped, a detail added
        parts = core.split("，")
        rng.shuffle(parts)
        core = "，".join(parts) + f"，时间是{facts['when']}"
    return f"{opener}{core}。{closer}"


def _subject(rng: random.Random, district: District, station: str) -> tuple[SubjectKind, str]:
    roll = rng.random()
    if roll < 0.35 and district.officers.get(station):
        return SubjectKind.OFFICER, rng.choice(list(district.officers[station]))
    if roll < 0.60 and district.incidents.get(station):
        return SubjectKind.INCIDENT, str(rng.choice(list(district.incidents[station])))
    if roll < 0.75 and district.cases.get(station):
        return SubjectKind.CASE, str(rng.choice(list(district.cases[station])))
    return SubjectKind.UNIT, station


def generate(seed: int, district: District, *, start: datetime, per_station_year: int = 60) -> list[Filing]:
    """Two years of filings from `start`, in time order; the second year about a third smaller."""
    rng = random.Random(seed)  # noqa: S311 - a simulation's draws, not a secret
    people: list[Person] = []
    filings: list[Filing] = []
    matter = 0
    categories = list(FACTS)
    for station in district.stations:
        for year, share in ((0, 1.0), (1, 0.67)):
            for _ in range(round(per_station_year * share * 0.72)):  # ~1.4 filings per matter
                matter += 1
                category = rng.choices(categories, weights=(25, 20, 25, 15, 8, 7))[0]
                facts = {
                    "place": rng.choice(PLACES),
                    "item": rng.choice(ITEMS),
                    "who": rng.choice(PEOPLE_WORDS),
                    "amount": str(rng.choice((50, 100, 200, 500, 1000, 2000))),
                    "months": str(rng.randint(2, 8)),
                    "times": str(rng.randint(3, 9)),
                    "when": f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
                }
                fact_index = rng.randrange(len(FACTS[category]))
                kind, ref = _subject(rng, district, station)
                if people and rng.random() < 0.08:  # someone who complained before, of another matter
                    person_index = rng.randrange(len(people))
                else:
                    people.append(_person(rng))
                    person_index = len(people) - 1
                first = start + timedelta(days=365 * year + rng.uniform(0, 365))
                n = rng.choices((1, 2, 3, 4), weights=(70, 20, 7, 3))[0]
                finding = rng.choices(list(Finding), weights=(15, 15, 70))[0]
                root = rng.choice(ROOT_CAUSE_OF[category])
                at = first
                for k in range(n):
                    who, same_person = person_index, True
                    if k > 0 and rng.random() < 0.2:  # a neighbour or relative raises it too
                        people.append(_person(rng))
                        who, same_person = len(people) - 1, False
                    p = people[who]
                    phone: str | None = p.phone
                    id_number: str | None = p.id_number if rng.random() < 0.5 else None
                    if k > 0 and same_person and rng.random() < 0.15:  # another phone this time
                        phone = f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
                        id_number = p.id_number if rng.random() < 0.5 else None
                    s_kind, s_ref = (kind, ref)
                    if k > 0 and rng.random() < 0.1:  # the officer named this time, or the station
                        s_kind, s_ref = SubjectKind.UNIT, station
                    channel = (
                        rng.choices(list(Channel), weights=(20, 40, 10, 25, 5))[0]
                        if k > 0
                        else rng.choices(list(Channel), weights=(30, 30, 10, 20, 10))[0]
                    )
                    filings.append(
                        Filing(
                            matter=matter,
                            person=who,
                            name=p.name,
                            phone=phone,
                            id_number=id_number,
                            channel=channel,
                            received_at=at,
                            subject_kind=s_kind,
                            subject_ref=s_ref,
                            station_code=station,
                            category=category,
                            text=_text(rng, category, facts, fact_index, repeat=k > 0),
                            accept_days=rng.uniform(0.5, 14)
                            if rng.random() > 0.05
                            else rng.uniform(15.5, 25),
                            answer_days=rng.uniform(10, 58) if rng.random() > 0.08 else rng.uniform(61, 80),
                            finding=finding,
                            root_cause=root,
                            extended=rng.random() < 0.05,
                            callback=_callback(rng, finding) if rng.random() < 0.6 else None,
                            review=rng.random() < 0.05,
                            assign_to=station,
                        )
                    )
                    at = at + timedelta(days=rng.uniform(3, 90))
    filings.sort(key=lambda f: f.received_at)
    return filings


def _callback(rng: random.Random, finding: Finding) -> CallbackResult:
    # A complainant found right is more often satisfied: the weights are a modelling assumption.
    weights = (50, 30, 15, 5) if finding is not Finding.NOT_SUBSTANTIATED else (30, 30, 30, 10)
    return rng.choices(list(CallbackResult), weights=weights)[0]


def district_of(session: Session, *, since: datetime, until: datetime) -> District:
    """The district's stations, with their officers (users), incidents and cases, read through queries."""
    stations = [s.code for s in all_stations(session)]
    officers: dict[str, list[str]] = {}
    for username, station in session.execute(
        select(User.username, User.station_code)
        .where(User.role == Role.OFFICER, User.station_code.is_not(None))
        .order_by(User.username)
    ):
        if station is not None:
            officers.setdefault(station, []).append(username)
    cases: dict[str, list[int]] = {}
    for case_id, station in session.execute(
        select(SupervisionCase.id, SupervisionCase.station_code).order_by(SupervisionCase.id)
    ):
        cases.setdefault(station, []).append(case_id)
    incidents = command_queries.incident_ids_by_station(session, since=since, until=until)
    return District(stations, officers, incidents, cases)


def load(session: Session, *, seed: int, per_station_year: int, now: datetime) -> int:
    """Write two years of complaints ending at `now` through the actions; steps due after `now` are
    left undone (the queue). Returns how many complaints were written; a filing the actions refuse
    is skipped (none should be)."""
    start = now - timedelta(days=730)
    district = district_of(session, since=start, until=now)
    filings = [
        f
        for f in generate(seed, district, start=start, per_station_year=per_station_year)
        if f.received_at <= now
    ]
    actor = Actor.system("complaints-sim")
    actions.install()  # extensions are approved through the approvals queue, as the pages do
    user = session.scalars(
        select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.username)
    ).first()
    approver = user.actor() if user is not None else None
    written = 0
    for f in filings:
        body = ComplaintIn(
            channel=f.channel,
            received_at=f.received_at,
            complainant_name=f.name,
            complainant_phone=f.phone,
            complainant_id_number=f.id_number,
            subject_kind=f.subject_kind,
            subject_ref=f.subject_ref,
            text=f.text,
        )
        try:
            with session.begin_nested():
                subject = actions.check_intake(session, body, actor=actor, now=now)
                c = actions.do_intake(session, body, subject, actor=actor, now=now)
                _handle(session, c, f, actor=actor, approver=approver, now=now)
        except DomainError:
            continue
        written += 1
    return written


def _handle(
    session: Session, c: Complaint, f: Filing, *, actor: Actor, approver: Actor | None, now: datetime
) -> None:
    """Take the filing through its planned steps, each at its own time, as far as `now`."""
    accepted = f.received_at + timedelta(days=f.accept_days)
    if accepted > now:
        return
    data_a = AcceptIn(accept=True, at=accepted)
    actions.check_accept(c, data_a, actor=actor, now=now)
    actions.do_accept(session, c, data_a, actor=actor, now=now)
    assign = AssignIn(station_code=f.assign_to, at=accepted + timedelta(hours=2))
    if assign.at <= now:
        actions.check_assign(session, c, assign, actor=actor, now=now)
        actions.do_assign(session, c, assign, actor=actor, now=now)
    extended = f.extended and approver is not None and accepted + timedelta(days=51) <= now
    if extended and approver is not None:
        # Asked on day 50 and approved in the queue the next morning, as the API and pages do it.
        asked, approved = accepted + timedelta(days=50), accepted + timedelta(days=51)
        ext = ExtensionRequestIn(approver=approver.username, reason="情况复杂，需进一步调查")
        actions.check_extension_request(session, c, ext, actor=actor, now=asked)
        filed = actions.do_extension_request(session, c, ext, actor=actor, now=asked)
        approvals.check_decide(session, filed, True, "", actor=approver)
        approvals.do_decide(session, filed, True, "", actor=approver, now=approved)
    # An extended complaint is answered after the extension, within its 90 days.
    answered = accepted + timedelta(days=max(f.answer_days + 25, 55) if extended else f.answer_days)
    found = FindingIn(finding=f.finding, root_cause=f.root_cause, at=answered - timedelta(days=1))
    if found.at <= now:
        actions.check_finding(session, c, found, actor=actor, now=now)
        actions.do_finding(session, c, found, actor=actor, now=now)
    if answered > now:
        return
    answer = AnswerIn(at=answered, text="经调查核实，现将处理情况书面答复如下。")
    actions.check_answer(c, answer, actor=actor, now=now)
    actions.do_answer(session, c, answer, actor=actor, now=now)
    if f.review and answered + timedelta(days=20) <= now:
        req = ReviewRequestIn(at=answered + timedelta(days=20))
        actions.check_review_request(c, req, actor=actor, now=now)
        actions.do_review_request(session, c, req, actor=actor, now=now)
        decided = ReviewDecisionIn(
            at=req.at + timedelta(days=25), outcome=ReviewOutcome.UPHELD, note="维持原处理意见"
        )
        if decided.at <= now:
            actions.check_review_decision(c, decided, actor=actor, now=now)
            actions.do_review_decision(session, c, decided, actor=actor, now=now)
    if f.callback is not None and answered + timedelta(days=7) <= now:
        cb = CallbackIn(at=answered + timedelta(days=7), result=f.callback)
        actions.check_callback(c, cb, actor=actor, now=now)
        actions.do_callback(session, c, cb, actor=actor, now=now)
