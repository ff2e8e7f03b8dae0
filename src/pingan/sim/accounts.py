"""Accounts and cards of the district, and the merchants, employers and utilities people pay.

Every account belongs to a person (merchant and employer accounts to their owner). Card numbers carry the
bank's BIN prefix and a Luhn check digit, and are a bijection of the account id, so they never repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pyarrow as pa

from pingan.antifraud.banks.directory import BANKS
from pingan.sim import params as cfg
from pingan.sim.idnumbers import card_matrix, strings_from_matrix
from pingan.sim.people import OCCUPATIONS, SELF_EMPLOYED, Persons

BANK_CODES: tuple[str, ...] = tuple(b.code for b in BANKS)
BANK_INDEX: dict[str, int] = {c: i for i, c in enumerate(BANK_CODES)}
ACCOUNT_TYPES = ("debit", "credit", "ewallet")
DEBIT, CREDIT, EWALLET = range(3)


class Role(IntEnum):
    """Ground-truth role of an account (账户角色)."""

    NORMAL = 0
    VICTIM = 1
    MULE_T1 = 2
    MULE_T2 = 3
    MULE_T3 = 4
    MULE_T4 = 5
    CASHOUT = 6
    MERCHANT = 7


ROLE_NAMES = ("normal", "victim", "mule_t1", "mule_t2", "mule_t3", "mule_t4", "cashout", "merchant")
MERCHANT_CATEGORIES = (
    "restaurant", "grocery", "convenience", "clothing", "pharmacy", "transport", "entertainment",
    "education", "hotpot", "tea_house", "employer", "utility", "otc_dealer", "lender",
)  # fmt: skip
# How a merchant of each category is paid: shops by QR code (and cards at POS), employers, utilities
# and lenders by bank transfer, OTC dealers (USDT 承兑商) by mobile-banking transfer.
MERCHANT_CHANNELS = ("qr",) * 10 + ("online_banking", "online_banking", "mobile_banking", "online_banking")
_CATEGORY_P = np.array([0.28, 0.14, 0.14, 0.1, 0.05, 0.04, 0.07, 0.05, 0.08, 0.05])
EMPLOYER_CAT, UTILITY_CAT, OTC_CAT, LENDER_CAT = 10, 11, 12, 13
UTILITIES = (
    "国网四川成都供电公司",
    "成都市自来水有限责任公司",
    "成都燃气集团",
    "中国移动四川公司",
    "中国电信四川公司",
)
# Consumer lenders that pay loans out to people's cards (a victim may borrow before paying).
LENDERS = ("招联消费金融有限公司", "马上消费金融股份有限公司", "重庆蚂蚁消费金融有限公司", "深圳前海微众银行")
_SHOP_WORDS = ("记", "小馆", "便利店", "超市", "餐厅", "茶馆", "火锅", "烧烤", "药房", "服饰", "面馆", "书店")
_ORG_WORDS = ("科技有限公司", "商贸有限公司", "餐饮管理有限公司", "建筑工程有限公司", "物业服务有限公司")
# Days since 1970-01-01 of the earliest opening date of an ordinary account.
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Accounts:
    """Column arrays of every account; account_id is the row index."""

    holder: np.ndarray  # int64
    bank: np.ndarray  # int8 index into BANK_CODES
    kind: np.ndarray  # int8 index into ACCOUNT_TYPES
    opened: np.ndarray  # int32 days since 1970-01-01
    role: np.ndarray  # int8 Role
    campaign: np.ndarray  # int64, -1 unless a mule or cash-out account of a campaign
    business: np.ndarray  # bool: a company's account (对公账户), which the bank knows

    @property
    def size(self) -> int:
        """Number of accounts."""
        return int(self.holder.size)

    def append(
        self,
        holder: np.ndarray,
        bank: np.ndarray,
        kind: np.ndarray,
        opened: np.ndarray,
        role: Role | np.ndarray,
        campaign: np.ndarray,
        business: bool | np.ndarray = False,
    ) -> np.ndarray:
        """Open new accounts; returns their ids."""
        n = holder.size
        ids = np.arange(self.size, self.size + n, dtype=np.int64)
        self.holder = np.concatenate([self.holder, holder.astype(np.int64)])
        self.bank = np.concatenate([self.bank, bank.astype(np.int8)])
        self.kind = np.concatenate([self.kind, kind.astype(np.int8)])
        self.opened = np.concatenate([self.opened, opened.astype(np.int32)])
        self.role = np.concatenate([self.role, np.broadcast_to(np.asarray(role, dtype=np.int8), (n,))])
        self.campaign = np.concatenate([self.campaign, campaign.astype(np.int64)])
        self.business = np.concatenate(
            [self.business, np.broadcast_to(np.asarray(business, dtype=bool), (n,))]
        )
        return ids


@dataclass
class Merchants:
    """Merchants, employers and utilities: each has one receiving account."""

    account: np.ndarray  # int64
    category: np.ndarray  # int8
    station: np.ndarray  # int16, -1 for city-wide utilities and outside dealers
    names: list[str]
    payday: np.ndarray  # int8 day of month on which an employer pays, 0 otherwise

    @property
    def size(self) -> int:
        """Number of merchants."""
        return int(self.account.size)

    def append(self, account: np.ndarray, category: np.ndarray, names: list[str]) -> None:
        """List more merchants, outside the district (no station, no payday)."""
        self.account = np.concatenate([self.account, account.astype(np.int64)])
        self.category = np.concatenate([self.category, category.astype(np.int8)])
        self.station = np.concatenate([self.station, np.full(account.size, -1, np.int16)])
        self.names = self.names + names
        self.payday = np.concatenate([self.payday, np.zeros(account.size, np.int8)])


def _bank_choice(rng: np.random.Generator, n: int, ewallet: bool) -> np.ndarray:
    shares = cfg.EWALLET_SHARES if ewallet else cfg.BANK_SHARES
    codes = list(shares)
    w = np.array([shares[c] for c in codes])
    idx = rng.choice(len(codes), n, p=w / w.sum())
    return np.array([BANK_INDEX[c] for c in codes], dtype=np.int8)[idx]


def generate_accounts(rng: np.random.Generator, persons: Persons, start_day: int) -> Accounts:
    """1-8 ordinary accounts per resident, the first always a debit card (where the salary lands)."""
    n = persons.n_residents
    per = 1 + rng.choice(len(cfg.ACCOUNTS_PER_PERSON_P), n, p=cfg.ACCOUNTS_PER_PERSON_P)
    holder = np.repeat(np.arange(n, dtype=np.int64), per)
    first = np.r_[0, np.cumsum(per)[:-1]]
    kind = rng.choice(3, holder.size, p=cfg.EXTRA_ACCOUNT_TYPE_P).astype(np.int8)
    kind[first] = DEBIT
    bank = _bank_choice(rng, holder.size, ewallet=False)
    bank[kind == EWALLET] = _bank_choice(rng, int((kind == EWALLET).sum()), ewallet=True)
    opened = start_day - rng.integers(30, 15 * 365, holder.size)
    return Accounts(
        holder=holder,
        bank=bank,
        kind=kind,
        opened=opened.astype(np.int32),
        role=np.zeros(holder.size, dtype=np.int8),
        campaign=np.full(holder.size, -1, dtype=np.int64),
        business=np.zeros(holder.size, dtype=bool),
    )


def person_accounts(accounts: Accounts, n_persons: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each person: the primary debit account, an e-wallet and a credit card (falling back to debit)."""
    ordinary = np.flatnonzero(accounts.role == Role.NORMAL)
    holder = accounts.holder[ordinary]
    kind = accounts.kind[ordinary]
    debit = np.full(n_persons, -1, dtype=np.int64)
    # Reverse assignment keeps the first account of each kind per person (later writes win).
    for target, k in ((debit, DEBIT),):
        sel = ordinary[kind == k][::-1]
        target[accounts.holder[sel]] = sel
    ewallet = debit.copy()
    credit = debit.copy()
    sel = ordinary[kind == EWALLET][::-1]
    ewallet[accounts.holder[sel]] = sel
    sel = ordinary[kind == CREDIT][::-1]
    credit[accounts.holder[sel]] = sel
    del holder
    return debit, ewallet, credit


def second_debits(accounts: Accounts, debit: np.ndarray) -> np.ndarray:
    """For each person: a debit card other than the primary one, at another bank where there is one,
    else at the same bank; -1 for a person with a single debit card."""
    ordinary = np.flatnonzero((accounts.role == Role.NORMAL) & (accounts.kind == DEBIT))
    holder = accounts.holder[ordinary]
    primary = debit[holder]
    extra = primary != ordinary
    ordinary, holder, primary = ordinary[extra], holder[extra], primary[extra]
    other = np.full(debit.size, -1, dtype=np.int64)
    # Same-bank cards first, then other banks: later writes win, so another bank's card is kept if any.
    for same in (True, False):
        sel = (accounts.bank[ordinary] == accounts.bank[primary]) == same
        other[holder[sel]] = ordinary[sel]
    return other


def generate_merchants(
    rng: np.random.Generator,
    scale: cfg.Scale,
    persons: Persons,
    accounts: Accounts,
    n_stations: int,
    start_day: int,
) -> Merchants:
    """Shops in every station area, employers that pay salaries, and the city's utilities."""
    res = persons.n_residents
    owners_pool = np.flatnonzero(persons.occupation[:res] == SELF_EMPLOYED)
    if owners_pool.size == 0:
        owners_pool = np.arange(res)
    n_shop, n_emp, n_util = scale.merchants, scale.employers, len(UTILITIES) + len(LENDERS)
    shop_owner = rng.choice(owners_pool, n_shop)
    emp_owner = rng.choice(owners_pool, n_emp)
    util_owner = rng.choice(res, n_util)
    owner = np.concatenate([shop_owner, emp_owner, util_owner])
    category = np.concatenate(
        [
            rng.choice(len(_CATEGORY_P), n_shop, p=_CATEGORY_P / _CATEGORY_P.sum()),
            np.full(n_emp, EMPLOYER_CAT),
            np.full(len(UTILITIES), UTILITY_CAT),
            np.full(len(LENDERS), LENDER_CAT),
        ]
    ).astype(np.int8)
    station = np.concatenate(
        [persons.station[shop_owner], persons.station[emp_owner], np.full(n_util, -1, dtype=np.int16)]
    ).astype(np.int16)
    m = owner.size
    ids = accounts.append(
        holder=owner,
        bank=_bank_choice(rng, m, ewallet=False),
        kind=np.full(m, DEBIT),
        opened=start_day - rng.integers(180, 20 * 365, m),
        role=Role.MERCHANT,
        campaign=np.full(m, -1),
        business=True,
    )
    payday = np.zeros(m, dtype=np.int8)
    payday[n_shop : n_shop + n_emp] = rng.choice(cfg.PAYDAYS, n_emp)
    shop_names = [
        f"{chr(0x4E00 + int(a))}{chr(0x4E00 + int(b))}{_SHOP_WORDS[int(c)]}"
        for a, b, c in zip(
            rng.integers(0, 2000, n_shop),
            rng.integers(0, 2000, n_shop),
            rng.integers(0, len(_SHOP_WORDS), n_shop),
            strict=True,
        )
    ]
    emp_names = [
        f"成都{chr(0x4E00 + int(a))}{chr(0x4E00 + int(b))}{_ORG_WORDS[int(c)]}"
        for a, b, c in zip(
            rng.integers(0, 2000, n_emp),
            rng.integers(0, 2000, n_emp),
            rng.integers(0, len(_ORG_WORDS), n_emp),
            strict=True,
        )
    ]
    return Merchants(
        account=ids,
        category=category,
        station=station,
        names=shop_names + emp_names + list(UTILITIES) + list(LENDERS),
        payday=payday,
    )


def card_numbers(accounts: Accounts, ids: np.ndarray | None = None) -> pa.Array:
    """Card numbers of accounts: 19 digits for debit cards and e-wallets, 16 for credit cards."""
    if ids is None:
        ids = np.arange(accounts.size, dtype=np.int64)
    bins = np.array([int(b.bin_prefix) for b in BANKS], dtype=np.int64)[accounts.bank[ids]]
    credit = accounts.kind[ids] == CREDIT
    # Multiplying by a number coprime to 10 is a bijection modulo a power of ten: no two ids collide.
    body = np.where(
        credit, (ids * 982_451_653 + 314_159_265) % 10**9, (ids * 640_109_351_837 + 271_828_182_845) % 10**12
    )
    width = np.where(credit, 9, 12)
    mat, lengths = card_matrix(bins, body, width)
    return strings_from_matrix(mat, lengths)


def card_number(accounts: Accounts, account_id: int) -> str:
    """The card number of one account."""
    return str(card_numbers(accounts, np.array([account_id], dtype=np.int64))[0].as_py())


HOLDER_TYPES = ("personal", "business")
# KYC occupation category a bank records for a personal account (the holder's occupation when the
# account was opened); a business account's category is "enterprise".
KYC_OCCUPATIONS = (*OCCUPATIONS, "enterprise")
# Cushion above the least opening balance that the window's payments need (assumption, docs/sim.md):
# log-normal, median 3,000 yuan for a person's account and 50,000 yuan for a business's.
_CUSHION_MEDIAN_FEN = (300_000, 5_000_000)
_CUSHION_SIGMA = 1.2


def opening_balances(
    rng: np.random.Generator, accounts: Accounts, start_day: int, need: np.ndarray
) -> np.ndarray:
    """Balance of every account when the window opens: what its payments need, plus a cushion.

    An account opened inside the window opens empty: it gets exactly what it needs, which is 0 for a
    well-formed ledger (`sim check` verifies it)."""
    median = np.asarray(_CUSHION_MEDIAN_FEN, dtype=np.float64)[accounts.business.astype(np.int64)]
    cushion = np.round(median * np.exp(rng.normal(0.0, _CUSHION_SIGMA, accounts.size)), -2).astype(np.int64)
    return np.where(accounts.opened < start_day, need + cushion, need).astype(np.int64)


def accounts_table(accounts: Accounts, occupation: np.ndarray, opening: np.ndarray) -> pa.Table:
    """The accounts.parquet table: what a bank knows of each account, and no ground truth.

    `occupation` is each person's occupation (index into people.OCCUPATIONS), `opening` the balance
    of each account when the window opens."""
    n = accounts.size
    kyc = np.where(accounts.business, len(OCCUPATIONS), occupation[accounts.holder]).astype(np.int8)
    return pa.table(
        {
            "account_id": pa.array(np.arange(n, dtype=np.int64)),
            "holder_person_id": pa.array(accounts.holder),
            "bank": pa.DictionaryArray.from_arrays(pa.array(accounts.bank), pa.array(BANK_CODES)).cast(
                pa.string()
            ),
            "card_number": card_numbers(accounts),
            "type": pa.DictionaryArray.from_arrays(pa.array(accounts.kind), pa.array(ACCOUNT_TYPES)).cast(
                pa.string()
            ),
            "opened": pa.array((_EPOCH + accounts.opened.astype("timedelta64[D]")), type=pa.date32()),
            "status": pa.array(np.full(n, "active")),
            "holder_type": pa.DictionaryArray.from_arrays(
                pa.array(accounts.business.astype(np.int8)), pa.array(HOLDER_TYPES)
            ).cast(pa.string()),
            "kyc_occupation": pa.DictionaryArray.from_arrays(pa.array(kyc), pa.array(KYC_OCCUPATIONS)).cast(
                pa.string()
            ),
            "opening_balance_fen": pa.array(opening),
        }
    )


def merchants_table(merchants: Merchants, station_codes: list[str]) -> pa.Table:
    """The merchants.parquet table."""
    codes = pa.array([*station_codes, None])
    st = np.where(merchants.station < 0, len(station_codes), merchants.station)
    return pa.table(
        {
            "merchant_id": pa.array(np.arange(merchants.size, dtype=np.int64)),
            "account_id": pa.array(merchants.account),
            "name": pa.array(merchants.names, type=pa.string()),
            "category": pa.array(np.array(MERCHANT_CATEGORIES)[merchants.category]),
            "channel": pa.array(np.array(MERCHANT_CHANNELS)[merchants.category]),
            "station_code": codes.take(pa.array(st)),
            "payday": pa.array(merchants.payday.astype(np.int8)),
        }
    )
