"""Everyday payments of one day: salaries, QR and card payments, transfers between relatives, bills, ATM cash.

One call makes one day from its own sub-seed, with NumPy arrays and no loop over rows; each kind has its
own rate, weekday multiplier, hourly shape and log-normal amount (params.NORMAL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from pingan.sim import params as cfg
from pingan.sim.world import ACTIVITY_LEVELS, World, epoch_day

CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")
MOBILE, ONLINE, COUNTER, ATM, THIRD_PARTY, QR, POS = range(7)
KINDS = ("salary", "retail", "qr", "p2p", "bill", "atm", "fraud", "layering", "cashout")
K_SALARY, K_RETAIL, K_QR, K_P2P, K_BILL, K_ATM, K_FRAUD, K_LAYERING, K_CASHOUT = range(9)
US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
NO_ACCOUNT = -1  # payee of an ATM withdrawal: the cash leaves the banking system


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

    counts = {k: int(rng.poisson(r.per_person_day * r.weekday[dow] * res)) for k, r in cfg.NORMAL.items()}

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
