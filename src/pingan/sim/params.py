"""Parameters of the synthetic district: scales, rhythms, amounts and fraud typologies.

Every figure here is documented, with its source or the reason for the choice, in docs/sim.md.
Money is integer fen; times of day are Beijing time (UTC+8), the district's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

# 2: transaction day files grouped by channel, one row group each, integer columns delta-packed
# (see `writer.write_transactions`); 1: a day's rows in time order, plain zstd.
SCHEMA_VERSION = 2

# Wuhou district of Chengdu; resident ID numbers of people registered here start with 510107.
DISTRICT_REGION_CODE = "510107"
BEIJING_OFFSET_S = 8 * 3600
DEFAULT_START = date(2026, 3, 2)  # a Monday, so weekly rhythms start at the top of a week


@dataclass(frozen=True)
class Scale:
    """How big a generated district is: persons, days and how many fraud victims it holds."""

    name: str
    persons: int
    days: int
    victims: int
    merchants: int
    employers: int


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", persons=2_000, days=14, victims=120, merchants=60, employers=20),
    "small": Scale("small", persons=50_000, days=30, victims=1_200, merchants=900, employers=300),
    "district": Scale(
        "district", persons=1_200_000, days=90, victims=8_000, merchants=20_000, employers=5_000
    ),
}

# ---------------------------------------------------------------------------------------------
# Normal life. Events per resident per day; a weekday multiplier (Mon..Sun); hourly weights (0..23).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rhythm:
    """Daily count rate, weekly multiplier and hourly shape of one kind of everyday payment."""

    per_person_day: float
    weekday: tuple[float, float, float, float, float, float, float]
    hourly: tuple[float, ...]
    median_fen: int
    sigma: float  # of the log-normal amount
    round_fen: int  # amounts are multiples of this


_MEALS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.5, 4, 6, 4, 3, 6, 9, 6, 3, 3, 3.5, 5, 8, 7, 5, 4, 3, 2)
_SHOPS = (0.5, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 4, 6, 7, 7, 6, 6, 6, 6, 6, 7, 8, 8, 6, 3, 1)
_AWAKE = (1, 0.5, 0.2, 0.1, 0.1, 0.2, 0.5, 2, 4, 5, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 7, 6, 4, 2)
_OFFICE = (0.1, 0, 0, 0, 0, 0, 0.2, 1, 3, 6, 7, 6, 4, 5, 6, 6, 5, 4, 3, 2, 2, 1, 0.5, 0.2)

NORMAL: dict[str, Rhythm] = {
    # Small QR payments (扫码支付) at shops and food stalls: the most frequent payment in a Chinese city.
    "qr": Rhythm(0.52, (1, 1, 1, 1, 1.05, 1.2, 1.15), _MEALS, 2_500, 0.9, 1),
    # Card payments at POS terminals.
    "retail": Rhythm(0.22, (0.95, 0.95, 0.95, 1, 1.05, 1.25, 1.2), _SHOPS, 12_000, 1.0, 1),
    # Transfers between relatives and friends (红包, rent shares, repayments).
    "p2p": Rhythm(0.13, (1, 1, 1, 1, 1.1, 1.2, 1.1), _AWAKE, 20_000, 1.2, 100),
    # Utility, phone and property bills.
    "bill": Rhythm(0.045, (1.1, 1.1, 1.05, 1, 1, 0.9, 0.85), _OFFICE, 15_000, 0.8, 100),
    # Cash withdrawals at ATMs, multiples of 100 yuan.
    "atm": Rhythm(0.02, (1, 1, 1, 1, 1.2, 1.1, 0.9), _SHOPS, 80_000, 0.7, 10_000),
    # Large transfers: rent deposits, car or home down payments, tuition (about one every 18 months a
    # resident; assumption), median 30,000 yuan, in whole hundreds.
    "large": Rhythm(0.0018, (1.1, 1, 1, 1, 1.1, 1.2, 0.9), _OFFICE, 3_000_000, 0.9, 10_000),
    # Moves between one's own accounts at different banks (card repayments, savings; assumption).
    "own": Rhythm(0.02, (1, 1, 1, 1, 1.1, 1.1, 1), _AWAKE, 200_000, 1.0, 100),
}
LARGE_TO_BUSINESS = 0.4  # share of large transfers paid to a company (developer, dealer, school)


@dataclass(frozen=True)
class OwnTopUp:
    """People moving their own savings into the paying card shortly before a large payment (assumptions)."""

    share: float  # of large payments
    part: tuple[float, float]  # the amount moved in, against the payment (uniform)
    lead_median_h: float  # median time from the move to the payment (log-normal, sd 1)


OWN_TOPUP = OwnTopUp(0.35, (0.3, 1.2), 3.0)


@dataclass(frozen=True)
class ConsumerLoans:
    """Consumer loans (消费贷, 网贷) paid out by the lenders to ordinary residents (assumptions, docs/sim.md)."""

    per_adult_day: float  # loan payouts per resident aged 18-65 a day
    median_fen: int
    sigma: float  # of the log-normal amount
    to_wallet: float  # share paid out to the e-wallet rather than the debit card
    spend_share: float  # share of loans paid on in one large payment soon after
    spend_part: tuple[float, float]  # that payment against the loan (uniform)
    spend_median_h: float  # median time from payout to the payment (log-normal, sd 1.2, at most 72 h)
    spend_to_business: float  # share of those payments to a company (school, dealer, developer)
    spend_to_relative: float  # share to a relative or friend; the rest to a nearby resident (a landlord)


LOANS = ConsumerLoans(0.0015, 600_000, 0.9, 0.2, 0.5, (0.6, 1.0), 6.0, 0.4, 0.25)


@dataclass(frozen=True)
class Collector:
    """A legitimate payee that many people pay, most of them new each week (assumptions, docs/sim.md)."""

    share: float  # of residents
    payers_per_week: float  # mean payments a week, nearly all from different payers
    median_fen: int
    sigma: float
    round_fen: int
    by_qr_code: float  # share paid by scanning the collector's personal QR code (个人收款码)


COLLECTORS: dict[str, Collector] = {
    "landlord": Collector(0.006, 3.5, 200_000, 0.4, 10_000, 0.2),  # rent from tenants of several flats
    "tutor": Collector(0.003, 6.0, 40_000, 0.5, 1_000, 0.4),  # tutors and training classes
    "wechat_trader": Collector(0.008, 8.0, 12_000, 0.8, 1, 0.7),  # 微商 and small traders
    "group_buy": Collector(0.004, 9.0, 6_000, 0.7, 1, 0.6),  # 社区团购 organisers
    "club": Collector(0.002, 5.0, 20_000, 0.5, 1_000, 0.5),  # clubs and societies collecting fees
}


@dataclass(frozen=True)
class Gifts:
    """Wedding and funeral gifts (礼金): one host, many guests on one day (assumptions)."""

    events_per_resident_day: float
    guests: tuple[int, int]
    median_fen: int
    sigma: float


GIFTS = Gifts(0.00004, (20, 80), 60_000, 0.5)
SALARY_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 5, 3, 1, 0.5, 0.5, 0.5, 0.3, 0.2, 0, 0, 0, 0, 0, 0)
PAYDAYS = (5, 10, 15, 20, 25)  # day of month on which an employer pays
EMPLOYED_SHARE = 0.62  # of residents aged 18-59; the rest are students, retired, not working
MONTHLY_WAGE_MEDIAN_FEN = 650_000  # Chengdu urban non-private average is higher; median wage is lower
MONTHLY_WAGE_SIGMA = 0.45
P2P_WITHIN_HOUSEHOLD = 0.45
MERCHANT_IN_HOME_STATION = 0.7

# Accounts per person: 1-8 with a heavy tail (mean about 3.3, the 4 million accounts of 1.2 million people).
ACCOUNTS_PER_PERSON_P = (0.12, 0.22, 0.24, 0.17, 0.11, 0.07, 0.04, 0.03)
# Bank shares of personal accounts in the district (large state banks lead; local banks are strong locally).
BANK_SHARES: dict[str, float] = {
    "ICBC": 0.14, "ABC": 0.10, "BOC": 0.07, "CCB": 0.12, "BOCOM": 0.04, "CITIC": 0.025, "CEB": 0.02,
    "HXB": 0.015, "CMBC": 0.02, "CGB": 0.015, "PAB": 0.025, "CMB": 0.07, "CIB": 0.025, "SPDB": 0.02,
    "PSBC": 0.08, "BOCD": 0.09, "CDRCB": 0.09, "SCRCU": 0.05,
}  # fmt: skip
EWALLET_SHARES: dict[str, float] = {"ALIPAY": 0.45, "TENPAY": 0.55}
# Account type of the 2nd and later accounts of a person: debit, credit, e-wallet.
EXTRA_ACCOUNT_TYPE_P = (0.45, 0.25, 0.30)

# ---------------------------------------------------------------------------------------------
# Fraud. Shares of cases and mean loss per case per typology; see docs/sim.md for the sources.
# ---------------------------------------------------------------------------------------------

TYPOLOGIES = ("刷单返利", "虚假投资理财", "虚假网络贷款", "冒充电商物流客服", "冒充公检法", "网络婚恋交友")


@dataclass(frozen=True)
class Typology:
    """How one kind of telecom fraud (电信网络诈骗) picks victims, takes money and launders it."""

    name: str
    case_share: float
    mean_loss_fen: int
    loss_sigma: float
    payments: tuple[int, int]  # least and most payments by one victim
    escalation: float  # each payment is about this many times the one before
    gap_hours: float  # median time between a victim's payments
    groom_hours: float  # median time from first contact to first payment
    report_delay_hours: float  # median time from last payment to the report
    age_mean: float
    age_sd: float
    female_weight: float  # relative chance of a woman being picked, men are 1
    channel: str  # how victims usually pay
    narrative: str
    report_share: float = 0.6
    # Relative chance by occupation (student, employed, self_employed, retired, not_working); 1 if absent.
    occupation_weight: tuple[float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0)
    # Relative weight of each hour (0..23, Beijing time) for a victim's first payment.
    hours: tuple[float, ...] = (1,) * 24


TYPOLOGY_PARAMS: dict[str, Typology] = {
    "刷单返利": Typology("刷单返利", 0.34, 3_000_000, 1.0, (1, 6), 2.0, 1.0, 6, 8, 27, 8, 1.6,
                        "third_party", "受害人在社交群内被拉入刷单任务，先获小额返利，后按要求垫付大额任务本金后无法提现。"),
    "虚假投资理财": Typology("虚假投资理财", 0.13, 12_700_000, 1.1, (2, 8), 1.8, 72, 24 * 14, 48, 45, 10, 1.0,
                          "mobile_banking", "受害人被拉入“投资交流群”，在虚假平台投资，小额试水获利后追加大额投入，平台无法提现。"),
    "虚假网络贷款": Typology("虚假网络贷款", 0.17, 2_400_000, 0.9, (1, 4), 1.6, 3, 12, 6, 32, 8, 0.9,
                          "mobile_banking", "受害人在虚假贷款APP申请贷款，被以“解冻费”“保证金”“流水不足”为由多次要求转账。"),
    "冒充电商物流客服": Typology("冒充电商物流客服", 0.16, 3_100_000, 1.0, (1, 3), 1.5, 0.7, 1, 4, 35, 11, 1.3,
                              "mobile_banking", "受害人接到自称电商客服的电话，称商品质量问题可理赔或需关闭“百万保障”，按指引转账。"),
    "冒充公检法": Typology("冒充公检法", 0.10, 7_000_000, 1.0, (1, 3), 1.4, 6, 2, 24, 58, 12, 1.2,
                        "counter", "受害人接到自称公安机关的电话，称其涉嫌洗钱，要求将资金转入“安全账户”配合调查。"),
    "网络婚恋交友": Typology("网络婚恋交友", 0.10, 7_500_000, 1.0, (2, 8), 1.7, 96, 24 * 21, 72, 40, 9, 0.8,
                          "mobile_banking", "受害人在婚恋网站结识“网友”，建立恋爱关系后被诱导在博彩或投资平台充值，无法提现。"),
}  # fmt: skip

# Victim profiles beyond age and sex, from the MPS descriptions: order brushing targets students, the
# low-income and the unemployed; fake loans people short of money; impersonated police the retired.
_OCCUPATION_WEIGHTS = {
    "刷单返利": (1.8, 0.8, 1.0, 0.5, 1.6),
    "虚假投资理财": (0.2, 1.2, 1.4, 1.0, 0.8),
    "虚假网络贷款": (0.8, 0.9, 1.3, 0.3, 1.8),
    "冒充公检法": (1.0, 0.9, 0.9, 1.5, 1.0),
}
# Hour of the first payment per typology (assumption, docs/sim.md): victims pay when the fraudster
# has them on the line. Brushing tasks and romance/gambling "platforms" run in the evening and past
# midnight; impersonated police and customer service call in office hours; investment platforms
# follow market hours and the evening; loan scams any waking hour.
_EVENING_NIGHT = (4, 3, 2, 1, 0.5, 0.3, 0.3, 0.5, 1, 1.5, 2, 2, 2, 2, 2, 2, 2, 2.5, 3, 4, 5, 6, 6, 5)
_OFFICE_CALLS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 6, 7, 6, 4, 5, 6, 6, 5, 3, 2, 1.5, 1, 0.6, 0.4, 0.3)
_HOURS = {
    "刷单返利": _EVENING_NIGHT,
    "虚假投资理财": (1, 0.5, 0.3, 0.2, 0.2, 0.2, 0.5, 1, 3, 6, 6, 5, 3, 5, 6, 5, 3, 2, 2, 3, 4, 4, 3, 2),
    "虚假网络贷款": (2, 1.5, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2.5),
    "冒充电商物流客服": _OFFICE_CALLS,
    "冒充公检法": _OFFICE_CALLS,
    "网络婚恋交友": _EVENING_NIGHT,
}
TYPOLOGY_PARAMS = {
    name: replace(t, occupation_weight=_OCCUPATION_WEIGHTS.get(name, t.occupation_weight), hours=_HOURS[name])
    for name, t in TYPOLOGY_PARAMS.items()
}

VICTIMS_PER_CAMPAIGN = (4, 30)  # a gang works several victims with the same cards, which links the reports
MULE_TIERS_P = (0.35, 0.40, 0.25)  # share of campaigns layering through 2, 3 and 4 tiers
MULE_POOL = ((2, 6), (2, 5), (2, 4), (1, 3))  # cards per tier, least and most
FAN_OUT_P = (0.4, 0.4, 0.2)  # 1, 2 or 3 onward transfers per parcel
HOP_DELAY_MEDIAN_S = 150.0  # mules pass money on within minutes
HOP_DELAY_SIGMA = 0.8
RENTED_T1_SHARE = 0.6  # tier-1 cards rented from local holders (卡农); the rest held by outsiders
# Bought cards of outside holders were opened this many days before a gang first used them (assumption).
BOUGHT_CARD_AGE_DAYS = (60, 900)
# Share of outside holders' mule and cash-out cards that are a company's account (对公账户; assumption).
MULE_BUSINESS_SHARE = 0.15
# Share of victim payments made by scanning a gang's personal collection QR code (个人收款码; assumption).
QR_COLLECTION_SHARE = 0.15
# A gang drops a tier-1 card this long (median, log-normal sd 1) after a victim who paid into it
# reports, and moves the next payments to a fresh card (assumption).
DROP_REPORTED_CARD_MEDIAN_H = 12.0


@dataclass(frozen=True)
class TopUp:
    """Victims moving money into the paying card shortly before a payment (assumptions)."""

    share: float  # of victim payments
    loan_share: float  # of top-ups that are a loan paid out by a consumer lender; the rest own savings
    lead_median_h: float  # median time from the top-up to the payment (log-normal, sd 1)


TOPUP = TopUp(0.3, 0.35, 2.0)
CASHOUT_P = (0.35, 0.40, 0.25)  # ATM, merchant/QR laundering (跑分), OTC crypto purchase (U商)
ATM_PIECE_FEN = 500_000  # one ATM withdrawal takes at most 5,000 yuan
ATM_MAX_PARCEL_FEN = 5_000_000  # larger parcels are not taken out at ATMs
LATEST_PAYMENT_BEFORE_END_S = 6 * 3600  # every flow completes inside the window


@dataclass(frozen=True)
class Params:
    """Everything that shapes one generation run; recorded in manifest.json."""

    scale: Scale
    seed: int
    start: date = DEFAULT_START
    days: int = 14
    typologies: dict[str, Typology] = field(default_factory=lambda: dict(TYPOLOGY_PARAMS))
