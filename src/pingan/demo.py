"""The demo district: stations of Chengdu's Wuhou district, demo users, and about 50 fraud reports.

Seeding is idempotent: stations are upserted, existing users and reports (by reference) are kept.
Reports are drawn from a fixed random seed, and some share payee accounts and suspect phones so
that linked-case clusters show.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from pingan.antifraud import actions
from pingan.antifraud.banks.directory import BANKS
from pingan.antifraud.model import FraudReport, Typology
from pingan.antifraud.schemas import ReportIn
from pingan.core import db
from pingan.core.auth import User, do_add_user
from pingan.core.org import Station, do_upsert_station
from pingan.core.pii import luhn_check_digit, national_id_check_char
from pingan.core.roles import Actor, Role
from pingan.sim.geography import district_stations

# The district's stations come from the synthetic-district geography: one list for the demo,
# the generator and the tests.
STATIONS = district_stations()

DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("analyst", Role.ANTIFRAUD_ANALYST, "反诈中心 张敏"),
    ("supervisor", Role.SUPERVISOR, "法制大队 刘建国"),
    ("officer", Role.OFFICER, "玉林所 王磊"),
    ("dispatcher", Role.DISPATCHER, "指挥中心 陈静"),
    ("auditor", Role.AUDITOR, "督察 赵雪"),
    ("admin", Role.ADMIN, "系统管理员"),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = (
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂兰",
    "建华",
)
NARRATIVES = {
    Typology.ORDER_BRUSHING: "受害人在社交群被拉入“刷单返利”任务，先小额返利后被要求连续垫付大额“任务款”。",
    Typology.FAKE_INVESTMENT: "受害人经网友推荐下载虚假投资平台，前期小额提现成功，后追加投资无法提现。",
    Typology.FAKE_LOAN: "受害人申请网络贷款，被以“解冻费”“保证金”为由要求转账。",
    Typology.FAKE_CUSTOMER_SERVICE: "嫌疑人冒充电商客服称商品质量问题需理赔，诱导受害人开启屏幕共享并转账。",
    Typology.FAKE_POLICE: "嫌疑人冒充公安民警称受害人涉嫌洗钱，要求将资金转入“安全账户”。",
    Typology.FAKE_BOSS: "嫌疑人冒充单位领导添加好友，以急需周转为由要求转账。",
    Typology.ROMANCE: "受害人经婚恋网站结识“男友”，被诱导在博彩平台充值（杀猪盘）。",
    Typology.FAKE_GAME_TRADE: "受害人在游戏平台购买装备，被引导至虚假交易网站付款。",
    Typology.OTHER: "其他类型电信网络诈骗。",
}
# Demo case mix, weighted roughly as MPS figures put it: order brushing about a third of cases.
TYPOLOGY_WEIGHTS = {
    Typology.ORDER_BRUSHING: 33,
    Typology.FAKE_INVESTMENT: 15,
    Typology.FAKE_LOAN: 12,
    Typology.FAKE_CUSTOMER_SERVICE: 12,
    Typology.FAKE_POLICE: 8,
    Typology.FAKE_BOSS: 6,
    Typology.ROMANCE: 8,
    Typology.FAKE_GAME_TRADE: 4,
    Typology.OTHER: 2,
}
DEMO_BASE = datetime(2026, 10, 1, tzinfo=UTC)


def make_card(rng: random.Random, bin_prefix: str, length: int = 19) -> str:
    """A Luhn-valid card number with the bank's BIN prefix."""
    body = bin_prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(bin_prefix) - 1))
    return body + luhn_check_digit(body)


def make_national_id(rng: random.Random, born: datetime, female: bool) -> str:
    """A valid-format resident ID of a Wuhou (510107) resident."""
    seq = rng.randrange(0, 50) * 2 + (0 if female else 1)
    first17 = f"510107{born:%Y%m%d}{rng.randrange(10)}{seq:02d}"[:17]
    return first17 + national_id_check_char(first17)


def make_phone(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(("138", "139", "158", "186", "177", "199", "135")) + f"{rng.randrange(10**8):08d}"


@dataclass(frozen=True)
class Gang:
    """A fraud operation of the demo: the mule cards it collects on, its phone and its site."""

    mules: list[tuple[str, str]]
    phone: str
    url: str


@dataclass(frozen=True)
class SeedResult:
    """What seeding did."""

    stations: int
    users_created: int
    reports_created: int
    reports_total: int


def demo_reports(count: int = 50, seed: int = 2026) -> list[ReportIn]:
    """`count` plausible reports; about a third pay into a small pool of shared mule accounts."""
    rng = random.Random(seed)
    banks = [b for b in BANKS if b.kind == "bank"]
    # Five gangs, each with its own mule cards, phone and site; about 40% of reports belong to one,
    # so the demo shows several separate linked-case clusters rather than one blob.
    gangs = [
        Gang(
            mules=[(make_card(rng, b.bin_prefix), b.code) for b in rng.sample(banks, 2)],
            phone=f"170{rng.randrange(10**8):08d}",
            url=url,
        )
        for url in (
            "http://shuadan-task.example/join",
            "https://invest-gold.example/app",
            "http://kefu-refund.example",
            "http://daikuan-fast.example",
            "http://love-chat.example",
        )
    ]
    typologies = list(TYPOLOGY_WEIGHTS)
    weights = list(TYPOLOGY_WEIGHTS.values())
    out = []
    for i in range(count):
        typ = rng.choices(typologies, weights)[0]
        female = rng.random() < 0.55
        age = rng.randint(19, 78)
        born = DEMO_BASE - timedelta(days=365 * age + rng.randrange(365))
        started = DEMO_BASE + timedelta(
            days=rng.randrange(40), hours=rng.randrange(8, 22), minutes=rng.randrange(60)
        )
        payer_bank = rng.choice(banks)
        payer_card = make_card(rng, payer_bank.bin_prefix)
        transfers = []
        t = started + timedelta(minutes=rng.randrange(5, 60))
        amount = rng.choice((50_000, 100_000, 200_000, 500_000))
        gang = rng.choice(gangs) if rng.random() < 0.4 else None
        repeat_typologies = (Typology.FAKE_INVESTMENT, Typology.ROMANCE, Typology.ORDER_BRUSHING)
        for _ in range(rng.choice((1, 1, 2, 3, 4)) if typ in repeat_typologies else 1):
            if gang is not None and rng.random() < 0.7:
                payee, payee_bank = rng.choice(gang.mules)
            else:
                pb = rng.choice(banks)
                payee, payee_bank = make_card(rng, pb.bin_prefix), pb.code
            transfers.append(
                {
                    "occurred_at": t.isoformat(),
                    "amount_fen": amount,
                    "payer_card": payer_card,
                    "payer_bank": payer_bank.code,
                    "payee_account": payee,
                    "payee_bank": payee_bank,
                    "channel": rng.choice(
                        ("mobile_banking", "mobile_banking", "online_banking", "third_party")
                    ),
                }
            )
            t += timedelta(minutes=rng.randrange(10, 240))
            amount = int(amount * rng.choice((1.5, 2, 3)))
        suspects = []
        if gang is not None and rng.random() < 0.5:
            suspects.append({"kind": "phone", "value": gang.phone})
        if gang is not None and rng.random() < 0.3:
            suspects.append({"kind": "url", "value": gang.url})
        if rng.random() < 0.3:
            suspects.append({"kind": "app", "value": rng.choice(("QQ", "微信", "抖音", "Telegram"))})
        station = rng.choice(STATIONS[:8])
        out.append(
            ReportIn.model_validate(
                {
                    "external_ref": f"DEMO-510107-{i + 1:04d}",
                    "victim": {
                        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                        "national_id": make_national_id(rng, born, female),
                        "phone": make_phone(rng),
                    },
                    "fraud_started_at": started.isoformat(),
                    "reported_at": (t + timedelta(hours=rng.randrange(1, 72))).isoformat(),
                    "station_code": station.code,
                    "officer": rng.choice(SURNAMES) + rng.choice(GIVEN),
                    "typology": typ.value,
                    "narrative": NARRATIVES[typ],
                    "transfers": transfers,
                    "suspects": suspects,
                }
            )
        )
    return out


def write_demo_file(path: str, count: int = 50, seed: int = 2026) -> None:
    """Write demo reports as JSONL (handy for trying the importer)."""
    with open(path, "w", encoding="utf-8") as fh:
        for r in demo_reports(count, seed):
            fh.write(json.dumps(r.model_dump(mode="json"), ensure_ascii=False) + "\n")


def seed_demo(*, password: str = "pingan-demo", reports: int = 50) -> SeedResult:
    """Seed stations, demo users and reports; running it again changes nothing."""
    actor = Actor.system("demo-seed")
    users_created = 0
    reports_created = 0
    with db.transaction() as session:
        for st in STATIONS:
            if session.get(Station, st.code) is None:
                area = json.dumps({"type": "Polygon", "coordinates": st.polygon()})
                do_upsert_station(
                    session,
                    code=st.code,
                    name=st.name,
                    lat=st.lat,
                    lon=st.lon,
                    area_geojson=area,
                    actor=actor,
                )
        for username, role, display in DEMO_USERS:
            if session.execute(select(User.id).where(User.username == username)).first() is None:
                do_add_user(
                    session,
                    username=username,
                    role=role,
                    password=password,
                    display_name=display,
                    station_code="WH-YL" if role is Role.OFFICER else None,
                    actor=actor,
                )
                users_created += 1
    for report in demo_reports(reports):
        with db.transaction() as session:
            exists = session.execute(
                select(FraudReport.id).where(FraudReport.external_ref == report.external_ref)
            ).first()
            if exists is None:
                actions.register_report(session, report, actor=actor)
                reports_created += 1
    with db.transaction() as session:
        total = len(session.execute(select(FraudReport.id)).all())
    return SeedResult(len(STATIONS), users_created, reports_created, total)
