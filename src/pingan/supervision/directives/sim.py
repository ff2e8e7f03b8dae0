"""The simulator's directives: two years of directives from the bureau's offices to the stations, with
their answers, near-duplicates and a year-over-year drop. Seeded: the same seed gives the same years.

How the history is made:

- Each office (治安, 刑侦, 指挥中心 …) works topics; each topic has several distinct matters, each a set
  of tasks. Matters of one topic share the topic's subject, so the same subject also heads directives
  that are not duplicates (what defeats matching on the subject alone).
- A new directive is an original (a matter not sent in the last 90 days) or, with `dup_rate`, a
  re-issue of a recent original by another office: the same matter reworded (synonyms swapped, tasks
  reordered, one dropped or added, a new opening and closing, new dates), often under a reworded
  subject, to the same stations or some of them.
- The second year sends `1 + yoy` times the first year's count (−50% by default, the seed report's
  figure) and re-issues less often.

The ground truth of duplicates (`History.duplicate_pairs`) is kept apart from the directives: the
pairs (later, earlier) of the same matter instance, within the lookback, sharing a station.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pingan.supervision.directives.choices import RequiredAnswer
from pingan.supervision.directives.rules import LOOKBACK, Candidate

DEFAULT_STATIONS = ("WH-YL", "WH-HQ", "WH-JN", "WH-HX", "WH-XC", "WH-WH", "TF-HY", "TF-ZH")
ISSUERS = (
    "zhian_wang",  # 治安大队
    "xingzhen_li",  # 刑侦大队
    "zhihui_zhang",  # 指挥中心
    "fazhi_chen",  # 法制大队
    "fanzha_zhao",  # 反诈中心
    "zhengzhi_sun",  # 政治处
)

# topic → (subject, reworded subjects, matters: each a list of tasks)
TOPICS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
    (
        "汛期安全隐患排查",
        ("防汛安全检查", "汛期隐患排查整治"),
        (
            (
                "排查辖区低洼地带和地下车库的积水风险",
                "对河道沿线的施工工地开展巡查",
                "建立易涝点位值守台账",
                "落实汛期应急备勤警力",
            ),
            (
                "检查辖区危旧房屋和临时工棚",
                "联系社区做好转移安置预案",
                "核对避险场所的物资储备",
                "每日报送险情处置情况",
            ),
        ),
    ),
    (
        "电信网络诈骗防范宣传",
        ("反诈宣传进社区", "电诈防范宣传工作"),
        (
            (
                "组织民警进小区开展反诈宣讲",
                "在辖区银行网点张贴防骗海报",
                "指导群众安装国家反诈中心应用",
                "统计宣传覆盖人数",
            ),
            (
                "走访辖区高校开展新生反诈教育",
                "建立学生群体预警劝阻名单",
                "与学校保卫处共建反诈联络员机制",
                "报送走访学校和学生人数",
            ),
            (
                "对辖区老年人开展养老诈骗防范宣传",
                "联合社区卫生服务中心发放宣传资料",
                "排查以保健品为名的聚集性销售活动",
                "报送排查发现的可疑线索",
            ),
        ),
    ),
    (
        "校园周边安全整治",
        ("校园及周边治安整治", "护校安园专项工作"),
        (
            (
                "上学放学时段在校门口设置护学岗",
                "清理校园周边流动摊贩",
                "检查学校技防设施运行情况",
                "报送护学岗设置情况",
            ),
            (
                "排查校园周边网吧和娱乐场所接纳未成年人情况",
                "对违规经营场所依法查处",
                "建立问题场所整改清单",
                "报送检查场所数量和处罚情况",
            ),
        ),
    ),
    (
        "重点时段社会面巡逻防控",
        ("社会面巡防工作", "节日期间巡逻防控"),
        (
            (
                "在商圈和地铁站点增派巡逻警力",
                "落实一级巡防勤务等级",
                "加强夜间重点路段盘查",
                "每日报送巡逻盘查数据",
            ),
            (
                "对辖区大型活动场所开展安全检查",
                "落实现场安保警力和应急通道",
                "制定人员密集场所疏散预案",
                "报送安保方案",
            ),
        ),
    ),
    (
        "出租房屋和流动人口管理",
        ("出租屋治安管理", "流动人口信息采集"),
        (
            (
                "全面核查辖区出租房屋登记信息",
                "督促房东落实承租人信息登记",
                "对群租房开展消防安全检查",
                "报送核查户数和整改数",
            ),
            ("开展流动人口信息集中采集", "核对居住证办理情况", "对信息不全人员逐一上门补录", "报送采集数量"),
        ),
    ),
    (
        "消防安全检查",
        ("火灾隐患排查", "消防安全专项检查"),
        (
            (
                "检查辖区九小场所的消防设施",
                "督促电动自行车集中充电场所建设",
                "清理楼道堆放杂物",
                "报送检查场所和隐患数量",
            ),
            (
                "对辖区高层住宅开展消防通道检查",
                "联合物业清理占用消防通道车辆",
                "组织居民消防疏散演练",
                "报送演练场次",
            ),
        ),
    ),
    (
        "矛盾纠纷排查化解",
        ("矛盾纠纷大排查", "纠纷隐患摸排化解"),
        (
            (
                "逐户排查婚恋家庭和邻里纠纷",
                "对有激化风险的纠纷落实包案民警",
                "联合人民调解员开展调解",
                "报送排查和化解数量",
            ),
            (
                "排查辖区欠薪纠纷和讨薪聚集苗头",
                "会同人社部门掌握欠薪线索",
                "对重点企业开展走访",
                "报送欠薪纠纷台账",
            ),
        ),
    ),
    (
        "道路交通安全整治",
        ("交通秩序整治", "酒驾醉驾整治"),
        (
            ("在夜间重点路段设卡查处酒驾醉驾", "联合交警开展联合执法", "对查获人员依法处理", "报送查处数量"),
            (
                "整治辖区电动自行车违法载人和逆行",
                "在学校周边开展交通安全宣传",
                "清理占道经营和乱停乱放",
                "报送整治情况",
            ),
        ),
    ),
    (
        "禁毒宣传和涉毒人员管控",
        ("禁毒工作", "涉毒人员排查管控"),
        (
            (
                "对辖区社区戒毒人员逐一见面核查",
                "更新吸毒人员动态管控台账",
                "落实尿检和走访要求",
                "报送管控情况",
            ),
            (
                "在辖区娱乐场所开展禁毒宣传和检查",
                "督促场所落实禁毒责任书",
                "对可疑人员开展检测",
                "报送检查情况",
            ),
        ),
    ),
    (
        "执法规范化检查",
        ("执法质量检查", "案件办理规范化自查"),
        (
            (
                "自查本所近三个月的行政案件卷宗",
                "核对涉案财物登记和保管情况",
                "整改法律文书填写不规范问题",
                "报送自查问题清单",
            ),
            (
                "检查办案区使用管理和视频记录",
                "核对人员出入办案区登记",
                "整改同步录音录像缺失问题",
                "报送整改情况",
            ),
        ),
    ),
    (
        "寄递物流安全管理",
        ("寄递行业检查", "物流寄递安全检查"),
        (
            (
                "检查辖区快递网点收寄验视制度落实",
                "核查实名收寄信息系统使用情况",
                "对违规网点责令整改",
                "报送检查网点数量",
            ),
        ),
    ),
    (
        "信访维稳工作",
        ("信访矛盾化解", "重点人员稳控"),
        (
            (
                "对辖区重点信访人员落实稳控责任",
                "掌握重点人员动态",
                "对可能进京赴省上访苗头及时报告",
                "报送稳控情况",
            ),
            ("排查涉众型经济案件投资人动向", "做好投资人情绪疏导", "建立涉众案件工作台账", "报送排查情况"),
        ),
    ),
)

OPENINGS = (
    "各派出所：为{goal}，现就有关工作通知如下。",
    "各所：根据分局工作部署，为{goal}，请抓好以下工作。",
    "各派出所：近期{goal}任务繁重，请认真落实以下要求。",
)
CLOSINGS = {
    RequiredAnswer.ACKNOWLEDGE: ("请于{date}前签收并组织落实。", "请各所收到后于{date}前签收。"),
    RequiredAnswer.REPORT: (
        "请于{date}前将工作情况书面报告分局。",
        "工作开展情况请于{date}前形成书面材料报送。",
    ),
    RequiredAnswer.DATA: ("请于{date}前报送相关数据。", "相关统计数据请于{date}前填表上报。"),
}
OCCASIONS = (
    "春节前后",
    "全国两会期间",
    "清明节期间",
    "五一假期",
    "端午节期间",
    "高考期间",
    "暑期",
    "汛期",
    "秋季开学",
    "国庆假期",
    "第四季度",
    "岁末年初",
    "第二季度",
    "大型赛事期间",
)
PLACES = (
    "玉林片区",
    "华西坝",
    "红牌楼商圈",
    "簇桥街道",
    "机投桥",
    "火车南站",
    "兴隆湖周边",
    "华阳老街",
    "金融城",
    "双楠社区",
    "望江路沿线",
    "太平园",
    "麓湖片区",
    "正兴街道",
    "航空港",
    "新会展中心",
)
GOALS = ("维护辖区治安稳定", "切实做好当前工作", "确保各项措施落实到位", "防范化解风险隐患")
# Rewording: what one office writes for what another wrote.
SYNONYMS = (
    ("开展", "组织开展"),
    ("排查", "摸排"),
    ("加强", "强化"),
    ("落实", "抓好"),
    ("报送", "上报"),
    ("辖区", "所辖区域"),
    ("检查", "检查督导"),
    ("对", "针对"),
    ("情况", "工作情况"),
    ("及时", "第一时间"),
    ("建立", "建好"),
    ("督促", "督导"),
)
DEADLINE_DAYS = {
    RequiredAnswer.ACKNOWLEDGE: (1, 3),
    RequiredAnswer.REPORT: (3, 10),
    RequiredAnswer.DATA: (2, 7),
}
# Median minutes a station spends on an answer, by what is required (log-normal, sigma 0.6).
MINUTES = {RequiredAnswer.ACKNOWLEDGE: 15, RequiredAnswer.REPORT: 150, RequiredAnswer.DATA: 90}


@dataclass(frozen=True)
class SimAnswer:
    """One station's answer to a simulated directive."""

    station_code: str
    answered_at: datetime
    minutes_spent: int
    text: str


@dataclass(frozen=True)
class SimDirective:
    """A simulated directive, with the matter instance it belongs to (ground truth, not shown)."""

    index: int
    issuer: str
    subject: str
    text: str
    stations: tuple[str, ...]
    issued_at: datetime
    deadline: datetime
    required_answer: RequiredAnswer
    instance: int  # the index of the original this re-issues, or its own index
    topic: int
    tasks: tuple[str, ...]
    occasion: str
    places: tuple[str, ...]
    answers: tuple[SimAnswer, ...] = ()

    def candidate(self) -> Candidate:
        """The directive as the duplicate check reads it (its index as id)."""
        return Candidate(self.index, self.subject, self.text, self.issued_at, frozenset(self.stations))


@dataclass(frozen=True)
class History:
    """Two years of simulated directives, in issue order, and the ground truth of duplicates."""

    seed: int
    directives: tuple[SimDirective, ...]
    duplicate_pairs: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    def count_in_year(self, year: int) -> int:
        """How many directives were issued in the (UTC) calendar year."""
        return sum(1 for d in self.directives if d.issued_at.year == year)


def _reword(text: str, rng: random.Random) -> str:
    for a, b in SYNONYMS:
        if rng.random() < 0.7:
            text = text.replace(a, b)
    return text


def _compose(
    rng: random.Random,
    tasks: Sequence[str],
    occasion: str,
    places: Sequence[str],
    kind: RequiredAnswer,
    deadline: datetime,
    *,
    reword: bool,
) -> str:
    date_text = f"{deadline.month}月{deadline.day}日"
    opening = occasion + "，" + rng.choice(OPENINGS).format(goal=rng.choice(GOALS))
    numbered = "".join(f"{'一二三四五六'[i]}、{t}。" for i, t in enumerate(tasks))
    numbered += "重点区域：" + "、".join(places) + "。"
    closing = rng.choice(CLOSINGS[kind]).format(date=date_text)
    body = opening + numbered + closing
    return _reword(body, rng) if reword else body


def _issue_times(rng: random.Random, start: datetime, days: int, count: int) -> list[datetime]:
    """Issue times spread over working days, office hours (Beijing 08:30–18:00, i.e. 00:30–10:00 UTC)."""
    times: list[datetime] = []
    while len(times) < count:
        day = start + timedelta(days=rng.randrange(days))
        if (day + timedelta(hours=8)).weekday() >= 5 and rng.random() < 0.85:
            continue
        times.append(day.replace(hour=0, minute=30, second=0) + timedelta(minutes=rng.randrange(570)))
    return sorted(times)


def _answers(rng: random.Random, d: SimDirective) -> tuple[SimAnswer, ...]:
    out = []
    for station in d.stations:
        if rng.random() < 0.04:
            continue  # never answered
        span = (d.deadline - d.issued_at).total_seconds()
        # Most answer within the time given; about one in eight after the deadline.
        late = rng.random() < 0.12
        offset = span * (1 + rng.random() * 0.5) if late else span * rng.betavariate(2, 3)
        minutes = max(1, round(MINUTES[d.required_answer] * math.exp(rng.gauss(0, 0.6))))
        out.append(
            SimAnswer(station, d.issued_at + timedelta(seconds=max(60, offset)), minutes, "已按要求落实。")
        )
    return tuple(out)


def generate(
    seed: int,
    *,
    end: datetime = datetime(2027, 1, 1, tzinfo=UTC),
    first_year: int = 900,
    yoy: float = -0.5,
    dup_rate: tuple[float, float] = (0.22, 0.12),
    stations: Sequence[str] = DEFAULT_STATIONS,
) -> History:
    """Two years ending at `end`: `first_year` directives in the first, `first_year × (1 + yoy)` in the
    second, each with its answers; re-issues at `dup_rate` (first year, second year)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    stations = tuple(stations)
    year2_start = end - timedelta(days=365)
    year1_start = year2_start - timedelta(days=365)
    times = [(t, 0) for t in _issue_times(rng, year1_start, 365, first_year)]
    times += [(t, 1) for t in _issue_times(rng, year2_start, 365, round(first_year * (1 + yoy)))]
    originals: list[SimDirective] = []
    out: list[SimDirective] = []
    for issued_at, year in times:
        recent = [o for o in originals[-200:] if issued_at - o.issued_at <= timedelta(days=45)]
        kind = rng.choice(list(RequiredAnswer))
        days = rng.randint(*DEADLINE_DAYS[kind])
        deadline = (issued_at + timedelta(days=days)).replace(hour=10, minute=0, second=0)
        index = len(out)
        if recent and rng.random() < dup_rate[year]:
            # A re-issue by another office: the same matter, reworded, to some of the same stations.
            orig = rng.choice(recent)
            topic = TOPICS[orig.topic]
            tasks = list(orig.tasks)
            rng.shuffle(tasks)
            if rng.random() < 0.4 and len(tasks) > 3:
                tasks.pop()
            subject = rng.choice(topic[1]) if rng.random() < 0.5 else orig.subject
            chosen = [s for s in orig.stations if rng.random() < 0.8] or [orig.stations[0]]
            issuer = rng.choice([i for i in ISSUERS if i != orig.issuer])
            text = _compose(rng, tasks, orig.occasion, orig.places, kind, deadline, reword=True)
            d = SimDirective(
                index,
                issuer,
                subject,
                text,
                tuple(sorted(chosen)),
                issued_at,
                deadline,
                kind,
                orig.instance,
                orig.topic,
                orig.tasks,
                orig.occasion,
                orig.places,
            )
        else:
            # A new matter: a topic, three or four of its tasks, an occasion and the places it concerns.
            # One office does not open the same campaign twice in a quarter: a topic and occasion
            # sent within the lookback are not chosen again for a new matter.
            # Nor the same work under another occasion: a new matter shares at most two tasks with
            # any matter of its topic sent within the lookback.
            window = [o for o in originals[-300:] if issued_at - o.issued_at <= LOOKBACK]
            busy = {(o.topic, o.occasion) for o in window}
            for _ in range(30):
                ti, occasion = rng.randrange(len(TOPICS)), rng.choice(OCCASIONS)
                pool = [t for matter in TOPICS[ti][2] for t in matter]
                tasks = rng.sample(pool, rng.randint(3, 4))
                if (ti, occasion) not in busy and all(
                    len(set(tasks) & set(o.tasks)) <= 2 for o in window if o.topic == ti
                ):
                    break
            topic = TOPICS[ti]
            places = tuple(rng.sample(PLACES, rng.randint(1, 3)))
            subject = occasion + topic[0] if rng.random() < 0.5 else topic[0]
            chosen = (
                list(stations)
                if rng.random() < 0.35
                else sorted(rng.sample(stations, rng.randint(1, max(1, len(stations) // 2))))
            )
            text = _compose(rng, tasks, occasion, places, kind, deadline, reword=False)
            d = SimDirective(
                index,
                rng.choice(ISSUERS),
                subject,
                text,
                tuple(chosen),
                issued_at,
                deadline,
                kind,
                index,
                ti,
                tuple(tasks),
                occasion,
                places,
            )
            originals.append(d)
        d = dataclasses.replace(d, answers=_answers(rng, d))
        out.append(d)
    return History(seed, tuple(out), truth_pairs(out))


def truth_pairs(directives: Sequence[SimDirective]) -> frozenset[tuple[int, int]]:
    """The duplicate pairs (later index, earlier index): same matter instance, within the lookback,
    sharing a station."""
    by_instance: dict[int, list[SimDirective]] = {}
    for d in directives:
        by_instance.setdefault(d.instance, []).append(d)
    pairs = set()
    for group in by_instance.values():
        for i, later in enumerate(group):
            for earlier in group[:i]:
                if later.issued_at - earlier.issued_at <= LOOKBACK and set(later.stations) & set(
                    earlier.stations
                ):
                    pairs.add((later.index, earlier.index))
    return frozenset(pairs)
