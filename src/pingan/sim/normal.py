"""Everyday payments: salaries, QR and card payments, transfers between relatives, bills, ATM cash, loans.

`normal_day_parts` makes one day from its own sub-seed, with NumPy arrays and no loop over rows; each
kind has its own rate, weekday multiplier, hourly shape and log-normal amount (params.NORMAL).
`plan_loans` makes the consumer loans of the whole run at once, from its own stream: a loan and the
payment it is spent on can fall on different days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import numpy as np

from pingan.sim import params as cfg
from pingan.sim.world import ACTIVITY_LEVELS, STREAM_COLLECTORS, World, epoch_day, stream

CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")
MOBILE, ONLINE, COUNTER, ATM, THIRD_PARTY, QR, POS = range(7)
KINDS = ("salary", "retail", "qr", "p2p", "bill", "atm", "fraud", "layering", "cashout",
         "collect", "gift", "large", "own", "topup", "loan")  # fmt: skip
K_SALARY, K_RETAIL, K_QR, K_P2P, K_BILL, K_ATM, K_FRAUD, K_LAYERING, K_CASHOUT = range(9)
K_COLLECT, K_GIFT, K_LARGE, K_OWN, K_TOPUP, K_LOAN = range(9, 15)
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
_HOUR_US = 3600 * US_PER_S
NO_ACCOUNT = -1  # payee of an ATM withdrawal: the cash leaves the banking system


class Adder(Protocol):
    """Appends one kind's rows to a day."""

    def __call__(
        self,
        ts: np.ndarray,
        payer: np.ndarray,
        payee: np.ndarray,
        amount: np.ndarray,
        channel: np.ndarray | int,
        kind: int,
    ) -> None: ...


@dataclass
class Rows:
    """Column arrays of transactions (ts in microseconds since the epoch, UTC)."""

    ts: np.ndarray
    payer: np.ndarray
    payee: np.ndarray
    amount: np.ndarray
    channel: np.ndarray  # int8 into CHANNELS
    kind: np.ndarray  # int8 into KINDS
    campaign: np.ndarray  # int64, -1 outside fraud

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.ts.size)

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """Rows of all parts, in order."""
        return Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in Rows.__dataclass_fields__))

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at `idx`, in that order."""
        return Rows(*(getattr(self, f)[idx] for f in Rows.__dataclass_fields__))


def local_day_start_us(world: World, day: int) -> int:
    """UTC microseconds of Beijing midnight starting simulated day `day`."""
    return (epoch_day(world.params) + day) * US_PER_DAY - cfg.BEIJING_OFFSET_S * US_PER_S


def _times(rng: np.random.Generator, n: int, hourly: tuple[float, ...], day_start: int) -> np.ndarray:
    cdf = np.cumsum(hourly) / sum(hourly)
    hour = np.searchsorted(cdf, rng.random(n), side="right")
    within = (rng.random(n) * 3600 * US_PER_S).astype(np.int64)
    return day_start + hour.astype(np.int64) * 3600 * US_PER_S + within


def _amounts(rng: np.random.Generator, n: int, rhythm: cfg.Rhythm) -> np.ndarray:
    raw = rhythm.median_fen * np.exp(rng.normal(0.0, rhythm.sigma, n))
    step = rhythm.round_fen
    return np.maximum(np.round(raw / step), 1).astype(np.int64) * step


def _pick_payers(rng: np.random.Generator, world: World, n: int) -> np.ndarray:
    """Residents drawn in proportion to their (quantised) spending activity."""
    level = np.minimum(
        np.searchsorted(world.activity_level_cdf, rng.random(n), side="right"), ACTIVITY_LEVELS - 1
    )
    start = world.activity_level_start[level]
    size = world.activity_level_start[level + 1] - start
    return np.asarray(world.activity_members[start + (rng.random(n) * size).astype(np.int64)])


def _pick_shops(rng: np.random.Generator, world: World, payer: np.ndarray) -> np.ndarray:
    """Shop accounts: mostly in the payer's home station, favouring popular ones; otherwise anywhere."""
    n = payer.size
    station = world.persons.station[payer].astype(np.int64)
    start = world.shop_station_start[station]
    count = world.shop_station_start[station + 1] - start
    local = (rng.random(n) < cfg.MERCHANT_IN_HOME_STATION) & (count > 0)
    # u**2 skews the pick towards the front of the station's list, where the popular shops are.
    pos_local = start + (rng.random(n) ** 2 * count).astype(np.int64)
    pos_any = np.minimum(
        np.searchsorted(world.shop_popularity_cdf, rng.random(n), side="right"), world.shops.size - 1
    )
    shop = world.shops[np.where(local, pos_local, pos_any)]
    return np.asarray(world.merchants.account[shop])


def _related(rng: np.random.Generator, world: World, payer: np.ndarray) -> np.ndarray:
    """A relative in the same household, or a friend living nearby (persons are sorted by station)."""
    res = world.n_residents
    hh = world.persons.household
    n = payer.size
    nxt = np.minimum(payer + 1, res - 1)
    prv = np.maximum(payer - 1, 0)
    same_next = hh[nxt] == hh[payer]
    same_prev = hh[prv] == hh[payer]
    relative = np.where(same_next & ((rng.random(n) < 0.5) | ~same_prev), nxt, np.where(same_prev, prv, -1))
    friend = np.clip(payer + rng.integers(-2000, 2001, n), 0, res - 1)
    use_rel = (relative >= 0) & (rng.random(n) < cfg.P2P_WITHIN_HOUSEHOLD)
    payee = np.where(use_rel, relative, friend)
    return np.where(payee == payer, (payer + 1) % res, payee)


def collectors(world: World) -> tuple[np.ndarray, np.ndarray]:
    """The district's legitimate collectors: (resident, type index into params.COLLECTORS), fixed per seed."""
    rng = stream(world.params.seed, STREAM_COLLECTORS)
    res = world.n_residents
    shares = np.array([c.share for c in cfg.COLLECTORS.values()])
    u = rng.random(res)
    cut = np.cumsum(shares)
    kind = np.searchsorted(cut, u, side="right")
    who = np.flatnonzero(kind < shares.size)
    return who, kind[who].astype(np.int8)


def _nearby(rng: np.random.Generator, world: World, centre: np.ndarray, reach: int) -> np.ndarray:
    """Residents living near each given one (persons are sorted by station), never the person itself."""
    res = world.n_residents
    other = np.clip(centre + rng.integers(-reach, reach + 1, centre.size), 0, res - 1)
    return np.where(other == centre, (centre + 1) % res, other)


def _legitimate_collections(rng: np.random.Generator, world: World, start: int, add: Adder) -> None:
    """Landlords, tutors, WeChat traders, group-buy organisers and clubs collect from many payers,
    most of them new each week; and wedding or funeral gifts (礼金) reach one person from many."""
    who, kind = collectors(world)
    specs = list(cfg.COLLECTORS.values())
    weekly = np.array([c.payers_per_week for c in specs])
    n_pay = rng.poisson(weekly[kind] / 7.0)
    coll = np.repeat(who, n_pay)
    ck = np.repeat(kind, n_pay)
    payer = _nearby(rng, world, coll, 3000)
    median = np.array([c.median_fen for c in specs], dtype=np.float64)[ck]
    sigma = np.array([c.sigma for c in specs])[ck]
    step = np.array([c.round_fen for c in specs], dtype=np.int64)[ck]
    amount = (
        np.maximum(np.round(median * np.exp(rng.normal(0.0, 1.0, coll.size) * sigma) / step), 1).astype(
            np.int64
        )
        * step
    )
    by_code = np.array([c.by_qr_code for c in specs])[ck]
    # One collecting account each: the e-wallet where most pay by code, else the debit card.
    into = np.where(by_code >= 0.5, world.ewallet[coll], world.debit[coll])
    qr = rng.random(coll.size) < by_code
    wallet = qr | (rng.random(coll.size) < 0.5)
    # A personal collection QR code (个人收款码) is scanned from the payer's wallet.
    channel = np.where(qr, QR, np.where(world.accounts.kind[into] == 2, THIRD_PARTY, MOBILE))
    add(_times(rng, coll.size, cfg.NORMAL["p2p"].hourly, start), np.where(wallet, world.ewallet[payer], world.debit[payer]),
        into, amount, channel, K_COLLECT)  # fmt: skip

    res = world.n_residents
    g = cfg.GIFTS
    hosts = np.flatnonzero(rng.random(res) < g.events_per_resident_day)
    guests = rng.integers(g.guests[0], g.guests[1] + 1, hosts.size)
    host = np.repeat(hosts, guests)
    guest = _nearby(rng, world, host, 5000)
    # Guests give on the day, within a few hours of the banquet (noon or evening).
    banquet = start + np.where(rng.random(hosts.size) < 0.5, 11, 17) * 3600 * US_PER_S
    ts = np.repeat(banquet, guests) + (rng.random(host.size) * 4 * 3600 * US_PER_S).astype(np.int64)
    amount = np.maximum(np.round(g.median_fen * np.exp(rng.normal(0.0, g.sigma, host.size)), -4), 10_000)
    wallet = rng.random(host.size) < 0.7
    add(ts, np.where(wallet, world.ewallet[guest], world.debit[guest]), np.where(wallet, world.ewallet[host], world.debit[host]),
        amount.astype(np.int64), np.where(wallet, THIRD_PARTY, MOBILE), K_GIFT)  # fmt: skip


def _large_and_own(rng: np.random.Generator, world: World, start: int, dow: int, add: Adder) -> None:
    """Large transfers (rent deposits, down payments, tuition) and moves between one's own accounts."""
    res = world.n_residents
    r = cfg.NORMAL["large"]
    p = _pick_payers(rng, world, int(rng.poisson(r.per_person_day * r.weekday[dow] * res)))
    to_business = rng.random(p.size) < cfg.LARGE_TO_BUSINESS
    shop = world.merchants.account[world.shops[rng.integers(0, world.shops.size, p.size)]]
    payee = np.where(to_business, shop, world.debit[_nearby(rng, world, p, 20_000)])
    channel = np.where(rng.random(p.size) < 0.15, COUNTER, np.where(rng.random(p.size) < 0.7, MOBILE, ONLINE))
    ts = _times(rng, p.size, r.hourly, start)
    amount = _amounts(rng, p.size, r)
    add(ts, world.debit[p], payee, amount, channel, K_LARGE)
    _own_topups(rng, world, p, world.debit[p], ts, amount, start, add)

    r = cfg.NORMAL["own"]
    p = _pick_payers(rng, world, int(rng.poisson(r.per_person_day * r.weekday[dow] * res)))
    target = np.where(world.credit[p] != world.debit[p], world.credit[p], world.ewallet[p])
    other = target != world.debit[p]
    p, target = p[other], target[other]
    wallet = world.accounts.kind[target] == 2
    add(_times(rng, p.size, r.hourly, start), world.debit[p], target, _amounts(rng, p.size, r),
        np.where(wallet, THIRD_PARTY, MOBILE), K_OWN)  # fmt: skip


def _own_source(rng: np.random.Generator, world: World, person: np.ndarray, into: np.ndarray) -> np.ndarray:
    """One of the person's other accounts (a second debit card, the credit card, the e-wallet), picked
    at random among those that exist and differ from `into`; -1 where there is none."""
    cand = np.stack([world.other_debit[person], world.credit[person], world.ewallet[person]], axis=1)
    ok = (cand >= 0) & (cand != into[:, None])
    key = np.where(ok, rng.random(cand.shape), -1.0)
    pick = np.argmax(key, axis=1)
    return np.where(ok.any(axis=1), cand[np.arange(person.size), pick], -1)


def _own_topups(
    rng: np.random.Generator,
    world: World,
    person: np.ndarray,
    into: np.ndarray,
    pay_ts: np.ndarray,
    amount: np.ndarray,
    start: int,
    add: Adder,
) -> None:
    """Before some large payments the payer moves savings in from another of their own accounts, a
    log-normal time before (params.OWN_TOPUP); a move that would fall before the day began falls at a
    random time between the day's start and the payment instead."""
    o = cfg.OWN_TOPUP
    sel = np.flatnonzero(rng.random(person.size) < o.share)
    source = _own_source(rng, world, person[sel], into[sel])
    has = source >= 0
    sel, source = sel[has], source[has]
    lead = (o.lead_median_h * np.exp(rng.normal(0.0, 1.0, sel.size)) * _HOUR_US).astype(np.int64)
    ts = pay_ts[sel] - np.maximum(lead, 60 * US_PER_S)
    early = ts < start
    ts[early] = start + (rng.random(int(early.sum())) * (pay_ts[sel][early] - start)).astype(np.int64)
    ts = np.minimum(ts, pay_ts[sel] - 1)
    amt = np.round(amount[sel] * rng.uniform(o.part[0], o.part[1], sel.size), -4).astype(np.int64)
    wallet = (world.accounts.kind[source] == 2) | (world.accounts.kind[into[sel]] == 2)
    add(ts, source, into[sel], np.maximum(amt, 10_000), np.where(wallet, THIRD_PARTY, MOBILE), K_OWN)


def plan_loans(world: World, rng: np.random.Generator) -> Rows:
    """Consumer loans (消费贷, 网贷) of the whole run, sorted by time (params.LOANS): a lender pays out
    to a resident's debit card or e-wallet, and half the borrowers pay most of it on within hours to
    three days, to a company, a relative or a nearby resident (a down payment, tuition, a rent
    deposit); some of them move their own savings in before that payment too."""
    loans = cfg.LOANS
    prm = world.params
    res = world.n_residents
    age = world.persons.age[:res]
    adults = np.flatnonzero((age >= 18) & (age <= 65) & (world.debit[:res] >= 0))
    n = int(rng.poisson(loans.per_adult_day * adults.size * prm.days))
    who = adults[rng.integers(0, adults.size, n)]
    t0 = local_day_start_us(world, 0)
    end = t0 + prm.days * US_PER_DAY
    day = rng.integers(0, prm.days, n).astype(np.int64)
    ts = _times(rng, n, cfg.NORMAL["p2p"].hourly, 0) + t0 + day * US_PER_DAY
    into = np.where(rng.random(n) < loans.to_wallet, world.ewallet[who], world.debit[who])
    raw = loans.median_fen * np.exp(rng.normal(0.0, loans.sigma, n))
    amount = np.maximum(np.round(raw, -4), 100_000).astype(np.int64)
    lender = world.lenders[rng.integers(0, world.lenders.size, n)]
    parts = [Rows(ts, lender, into, amount, np.full(n, ONLINE, np.int8), np.full(n, K_LOAN, np.int8),
                  np.full(n, -1, np.int64))]  # fmt: skip

    spend = rng.random(n) < loans.spend_share
    delay_h = np.minimum(loans.spend_median_h * np.exp(rng.normal(0.0, 1.2, n)), 72.0)
    s_ts = ts + np.maximum(delay_h * _HOUR_US, 600 * US_PER_S).astype(np.int64)
    sel = np.flatnonzero(spend & (s_ts < end))
    p, src, s_ts = who[sel], into[sel], s_ts[sel]
    m = sel.size
    s_amt = np.maximum(np.round(amount[sel] * rng.uniform(*loans.spend_part, m), -4), 10_000).astype(np.int64)
    u = rng.random(m)
    shop = world.merchants.account[world.shops[rng.integers(0, world.shops.size, m)]]
    relative = world.debit[_related(rng, world, p)]
    neighbour = world.debit[_nearby(rng, world, p, 20_000)]
    payee = np.where(u < loans.spend_to_business, shop,
                     np.where(u < loans.spend_to_business + loans.spend_to_relative, relative, neighbour))  # fmt: skip
    wallet = world.accounts.kind[src] == 2
    channel = np.where(wallet, THIRD_PARTY,
                       np.where(rng.random(m) < 0.15, COUNTER, np.where(rng.random(m) < 0.7, MOBILE, ONLINE)))  # fmt: skip
    parts.append(Rows(s_ts, src, payee, s_amt, channel.astype(np.int8), np.full(m, K_LARGE, np.int8),
                      np.full(m, -1, np.int64)))  # fmt: skip

    o = cfg.OWN_TOPUP
    top = np.flatnonzero(rng.random(m) < o.share)
    source = _own_source(rng, world, p[top], src[top])
    has = source >= 0
    top, source = top[has], source[has]
    lead = (o.lead_median_h * np.exp(rng.normal(0.0, 1.0, top.size)) * _HOUR_US).astype(np.int64)
    t_ts = np.maximum(s_ts[top] - np.maximum(lead, 60 * US_PER_S), t0)
    t_ts = np.minimum(t_ts, s_ts[top] - 1)
    t_amt = np.round(s_amt[top] * rng.uniform(0.1, 0.5, top.size), -4)
    t_wallet = (world.accounts.kind[source] == 2) | (world.accounts.kind[src[top]] == 2)
    parts.append(Rows(t_ts, source, src[top], np.maximum(t_amt, 10_000).astype(np.int64),
                      np.where(t_wallet, THIRD_PARTY, MOBILE).astype(np.int8), np.full(top.size, K_OWN, np.int8),
                      np.full(top.size, -1, np.int64)))  # fmt: skip
    rows = Rows.concat(parts)
    return rows.take(np.argsort(rows.ts, kind="stable"))


def normal_day_parts(world: World, day: int, rng: np.random.Generator) -> list[Rows]:
    """The everyday payments of simulated day `day`, one part per kind, unsorted."""
    start = local_day_start_us(world, day)
    date = world.params.start + timedelta(days=day)
    dow = date.weekday()
    res = world.n_residents
    parts: list[Rows] = []

    def add(
        ts: np.ndarray,
        payer: np.ndarray,
        payee: np.ndarray,
        amount: np.ndarray,
        channel: np.ndarray | int,
        kind: int,
    ) -> None:
        n = ts.size
        parts.append(
            Rows(ts, payer, payee, amount, np.broadcast_to(np.asarray(channel, dtype=np.int8), (n,)).copy(),
                 np.full(n, kind, dtype=np.int8), np.full(n, -1, dtype=np.int64))
        )  # fmt: skip

    everyday = ("qr", "retail", "p2p", "bill", "atm")
    counts = {
        k: int(rng.poisson(cfg.NORMAL[k].per_person_day * cfg.NORMAL[k].weekday[dow] * res)) for k in everyday
    }
    _legitimate_collections(rng, world, start, add)
    _large_and_own(rng, world, start, dow, add)

    r = cfg.NORMAL["qr"]
    p = _pick_payers(rng, world, counts["qr"])
    add(_times(rng, p.size, r.hourly, start), world.ewallet[p], _pick_shops(rng, world, p), _amounts(rng, p.size, r),
        QR, K_QR)  # fmt: skip

    r = cfg.NORMAL["retail"]
    p = _pick_payers(rng, world, counts["retail"])
    acct = np.where(rng.random(p.size) < 0.5, world.credit[p], world.debit[p])
    add(_times(rng, p.size, r.hourly, start), acct, _pick_shops(rng, world, p), _amounts(rng, p.size, r), POS,
        K_RETAIL)  # fmt: skip

    r = cfg.NORMAL["p2p"]
    p = _pick_payers(rng, world, counts["p2p"])
    q = _related(rng, world, p)
    wallet = rng.random(p.size) < 0.6
    add(_times(rng, p.size, r.hourly, start), np.where(wallet, world.ewallet[p], world.debit[p]),
        np.where(wallet, world.ewallet[q], world.debit[q]), _amounts(rng, p.size, r),
        np.where(wallet, THIRD_PARTY, MOBILE), K_P2P)  # fmt: skip

    r = cfg.NORMAL["bill"]
    p = _pick_payers(rng, world, counts["bill"])
    wallet = rng.random(p.size) < 0.7
    add(_times(rng, p.size, r.hourly, start), np.where(wallet, world.ewallet[p], world.debit[p]),
        world.utilities[rng.integers(0, world.utilities.size, p.size)], _amounts(rng, p.size, r),
        np.where(wallet, THIRD_PARTY, ONLINE), K_BILL)  # fmt: skip

    r = cfg.NORMAL["atm"]
    p = _pick_payers(rng, world, counts["atm"])
    add(_times(rng, p.size, r.hourly, start), world.debit[p], np.full(p.size, NO_ACCOUNT, dtype=np.int64),
        _amounts(rng, p.size, r), ATM, K_ATM)  # fmt: skip

    if date.day in cfg.PAYDAYS:
        m = world.merchants
        paid_today = m.payday[np.maximum(world.employer, 0)] == date.day
        e = np.flatnonzero((world.employer >= 0) & paid_today)
        wage = world.persons.wage_fen[e]
        amount = np.maximum(np.round(wage * rng.uniform(0.93, 1.07, e.size), -2), 100).astype(np.int64)
        add(_times(rng, e.size, cfg.SALARY_HOURS, start), m.account[world.employer[e]], world.debit[e], amount, ONLINE,
            K_SALARY)  # fmt: skip
    return parts
