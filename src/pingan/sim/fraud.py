"""Fraud campaigns (电信网络诈骗): victims, their payments, and the mule network that launders the money.

A campaign is one gang working one typology with its own cards. Victims pay tier-1 mule cards, many of
them rented from local holders (卡农); the money is passed on within minutes through 2-4 tiers of
fan-out and fan-in, then cashed out at ATMs, through merchant QR codes (跑分) or to OTC crypto dealers.

The money moves as parcels: one parcel per victim payment at tier 1. A parcel is split onward, and the
parcels of one payment that land on the same card are merged before they move on, after the last of
them arrived. Each transfer therefore carries only money that arrived earlier in the same flow, so no
mule balance ever goes negative and every fraud transfer traces back to a victim's payment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pingan.sim import params as cfg
from pingan.sim.accounts import DEBIT, Role
from pingan.sim.normal import (
    ATM,
    COUNTER,
    K_CASHOUT,
    K_FRAUD,
    K_LAYERING,
    K_TOPUP,
    MOBILE,
    NO_ACCOUNT,
    ONLINE,
    QR,
    THIRD_PARTY,
    US_PER_S,
    Rows,
    local_day_start_us,
)
from pingan.sim.people import append_outsiders
from pingan.sim.world import World, epoch_day

CASHOUT_METHODS = ("atm", "paofen", "otc")
ATM_METHOD, PAOFEN_METHOD, OTC_METHOD = range(3)
_CHANNEL_CODE = {
    "mobile_banking": MOBILE,
    "online_banking": ONLINE,
    "counter": COUNTER,
    "third_party": THIRD_PARTY,
}
_HOUR_US = 3600 * US_PER_S


@dataclass
class Campaigns:
    """One row per campaign."""

    typology: np.ndarray  # int8 into params.TYPOLOGIES
    tiers: np.ndarray  # int8, 2-4
    first_us: np.ndarray  # earliest first payment of its victims
    pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per tier 1..4: (accounts, start, count) CSR
    paofen: tuple[np.ndarray, np.ndarray, np.ndarray]
    otc: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def size(self) -> int:
        """Number of campaigns."""
        return int(self.typology.size)


@dataclass
class Victims:
    """One row per victim."""

    person: np.ndarray
    account: np.ndarray
    campaign: np.ndarray
    typology: np.ndarray
    contact_us: np.ndarray  # first contact by the fraudster (fraud_started_at)
    reports: np.ndarray  # bool: files a report inside the window
    report_us: np.ndarray


@dataclass
class Payments:
    """One row per victim payment; a payment starts one flow (its index is the flow id)."""

    victim: np.ndarray
    ts: np.ndarray
    amount: np.ndarray
    mule: np.ndarray  # tier-1 account
    channel: np.ndarray


@dataclass
class FraudPlan:
    """Every fraud transaction of the run, sorted by time, with its flow, hop and cash-out method."""

    rows: Rows
    flow: np.ndarray  # payment index
    hop: np.ndarray  # tier of the payer: 0 victim, 1-4 mule tiers
    method: np.ndarray  # cash-out method, -1 for other rows
    campaigns: Campaigns
    victims: Victims
    payments: Payments
    topups: Rows  # victims moving money in before they pay (not fraud), sorted by time


def _campaign_sizes(rng: np.random.Generator, victims: int) -> list[int]:
    lo, hi = cfg.VICTIMS_PER_CAMPAIGN
    sizes: list[int] = []
    while sum(sizes) < victims:
        sizes.append(int(rng.integers(lo, hi + 1)))
    sizes[-1] -= sum(sizes) - victims
    return [s for s in sizes if s > 0]


def _pick_victims(
    rng: np.random.Generator, world: World, typ: cfg.Typology, k: int, taken: np.ndarray
) -> np.ndarray:
    """k residents, weighted by how well age, sex and occupation fit the typology (Gumbel top-k, no repeats)."""
    p = world.persons
    res = world.n_residents
    age = p.age[:res].astype(np.float64)
    logw = -0.5 * ((age - typ.age_mean) / typ.age_sd) ** 2 + np.where(
        p.male[:res], 0.0, np.log(typ.female_weight)
    )
    logw = logw + np.log(np.asarray(typ.occupation_weight))[p.occupation[:res]]
    keys = np.where(taken[:res], -np.inf, logw + rng.gumbel(size=res))
    top = np.argpartition(-keys, k - 1)[:k] if k < res else np.arange(res)
    return np.sort(top)


def _csr(
    rng: np.random.Generator, n_camp: int, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    count = rng.integers(lo, hi + 1).astype(np.int64)
    start = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    return start, count


def _pick(
    rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray, np.ndarray], camp: np.ndarray
) -> np.ndarray:
    accounts, start, count = pool
    return np.asarray(accounts[start[camp] + (rng.random(camp.size) * count[camp]).astype(np.int64)])


def _split(rng: np.random.Generator, amount: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split each amount into k positive integer parts; returns (parent index, part amount)."""
    parent = np.repeat(np.arange(amount.size), k)
    w = rng.random(parent.size) + 0.25
    first = np.r_[0, np.cumsum(k)[:-1]]
    wsum = np.add.reduceat(w, first)
    # Every part gets one fen, then the rest in proportion; the rounding remainder rides on the first part.
    part = 1 + np.floor((amount - k)[parent] * w / wsum[parent]).astype(np.int64)
    part[first] += amount - np.add.reduceat(part, first)
    return parent, part


def _stagger(
    rng: np.random.Generator, parent: np.ndarray, k: np.ndarray, base: np.ndarray, median_s: float
) -> np.ndarray:
    """Times of a parcel's onward transfers: one after another, each a log-normal delay after the previous."""
    delay = np.maximum(median_s * np.exp(rng.normal(0, cfg.HOP_DELAY_SIGMA, parent.size)), 20.0)
    delay_us = (delay * US_PER_S).astype(np.int64)
    csum = np.cumsum(delay_us)
    first = np.r_[0, np.cumsum(k)[:-1]]
    offset = np.repeat(csum[first] - delay_us[first], k)
    return np.asarray(base[parent] + csum - offset)


def _new_mule_accounts(
    rng: np.random.Generator,
    world: World,
    holders: np.ndarray,
    role: np.ndarray,
    campaign: np.ndarray,
    first_day: np.ndarray,
) -> np.ndarray:
    """Bought mule or cash-out cards of outside holders: ordinary cards opened months to years before
    the gang first used them (a bought card has a past), a share of them a company's account."""
    from pingan.sim.accounts import BANK_INDEX

    banks = np.array([BANK_INDEX[c] for c in cfg.BANK_SHARES])
    n = holders.size
    lo, hi = cfg.BOUGHT_CARD_AGE_DAYS
    return world.accounts.append(
        holder=holders,
        bank=rng.choice(banks, n),
        kind=np.full(n, DEBIT),
        opened=first_day - rng.integers(lo, hi + 1, n),
        role=role.astype(np.int8),
        campaign=campaign,
        business=rng.random(n) < cfg.MULE_BUSINESS_SHARE,
    )


def _rented_cards(world: World, renters: np.ndarray, role: int, campaign: np.ndarray) -> np.ndarray:
    """Rented tier-1 cards (卡农): the renters' own everyday debit cards, with their years of history;
    their salary, shopping and transfers go on beside the gang's traffic."""
    ids = world.debit[renters]
    world.accounts.role[ids] = role
    world.accounts.campaign[ids] = campaign
    return np.asarray(ids, dtype=np.int64)


def _drop_reported_cards(
    rng: np.random.Generator,
    world: World,
    mule1: np.ndarray,
    pcamp: np.ndarray,
    vic_of: np.ndarray,
    pay_ts: np.ndarray,
    reports: np.ndarray,
    report_us: np.ndarray,
    first_day: np.ndarray,
) -> np.ndarray:
    """A gang drops a tier-1 card hours to days after a victim who paid into it reports, and moves the
    next payments to a fresh card (bought, with a past), which it drops in turn when reported."""
    burn_at: dict[int, int] = {}
    successor: dict[int, int] = {}
    fresh: list[int] = []  # campaign of each fresh card, in order of need; ids are placeholders -1, -2, ...
    out = mule1.copy()
    delay = (cfg.DROP_REPORTED_CARD_MEDIAN_H * np.exp(rng.normal(0.0, 1.0, vic_of.size)) * _HOUR_US).astype(
        np.int64
    )
    for i in np.argsort(pay_ts, kind="stable").tolist():
        card = int(out[i])
        while card in burn_at and burn_at[card] <= pay_ts[i]:
            if card not in successor:
                fresh.append(int(pcamp[i]))
                successor[card] = -len(fresh)
            card = successor[card]
        out[i] = card
        v = int(vic_of[i])
        if reports[v]:
            burn_at[card] = min(burn_at.get(card, 1 << 62), int(report_us[v]) + int(delay[i]))
    if fresh:
        camp = np.array(fresh, dtype=np.int64)
        holders = append_outsiders(rng, world.persons, camp.size, world.params.start)
        ids = _new_mule_accounts(rng, world, holders, np.full(camp.size, Role.MULE_T1), camp, first_day[camp])
        out = np.where(out < 0, ids[np.maximum(-out - 1, 0)], out)
    return out


def _topups(
    rng: np.random.Generator,
    world: World,
    person: np.ndarray,
    account: np.ndarray,
    pay_ts: np.ndarray,
    amount: np.ndarray,
) -> Rows:
    """Before some payments the victim moves the money in: a loan, or their own savings at another bank."""
    p = cfg.TOPUP
    sel = np.flatnonzero(rng.random(pay_ts.size) < p.share)
    loan = rng.random(sel.size) < p.loan_share
    own = np.where(
        world.credit[person[sel]] != account[sel], world.credit[person[sel]], world.debit[person[sel]]
    )
    own = np.where(own != account[sel], own, world.ewallet[person[sel]])
    lender = world.lenders[rng.integers(0, world.lenders.size, sel.size)]
    source = np.where(loan, lender, own)
    keep = source != account[sel]
    sel, source, loan = sel[keep], source[keep], loan[keep]
    before = (p.lead_median_h * np.exp(rng.normal(0.0, 1.0, sel.size)) * _HOUR_US).astype(np.int64)
    ts = np.maximum(pay_ts[sel] - np.maximum(before, 120 * US_PER_S), local_day_start_us(world, 0))
    ts = np.minimum(ts, pay_ts[sel] - 1)
    amt = np.maximum(np.round(amount[sel] * rng.uniform(0.9, 1.3, sel.size), -4), 10_000).astype(np.int64)
    channel = np.where(loan, ONLINE, MOBILE).astype(np.int8)
    return Rows(ts, source, account[sel], amt, channel, np.full(sel.size, K_TOPUP, np.int8),
                np.full(sel.size, -1, np.int64))  # fmt: skip


def _list_cashout_merchants(
    rng: np.random.Generator, world: World, cashout_pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> None:
    """跑分 cash-out cards are listed as the merchants they pose as (QR payments), and the OTC dealers
    that buy USDT for the gangs as what they are (category otc_dealer), both outside the district."""
    from pingan.sim.accounts import MERCHANT_CATEGORIES, OTC_CAT

    paofen, otc = cashout_pools[0][0], cashout_pools[1][0]
    shop_cat = rng.integers(0, 10, paofen.size)
    world.merchants.append(
        account=np.concatenate([paofen, otc]),
        category=np.concatenate([shop_cat, np.full(otc.size, OTC_CAT)]).astype(np.int8),
        names=[f"{MERCHANT_CATEGORIES[int(c)]}-{int(a)}" for c, a in zip(shop_cat, paofen, strict=True)]
        + [f"USDT承兑-{int(a)}" for a in otc],
    )


def plan_fraud(world: World, rng: np.random.Generator) -> FraudPlan:
    """Campaigns, victims, payments and mule flows of the whole run; adds mule holders and cards to the world."""
    prm = world.params
    names = list(cfg.TYPOLOGIES)
    share = np.array([prm.typologies[t].case_share for t in names])
    # Victims scale with the days simulated, so a shorter run keeps the scale's incidence.
    n_victims = max(6, round(prm.scale.victims * prm.days / prm.scale.days))
    per_typ = rng.multinomial(n_victims, share / share.sum())
    window_us = prm.days * 86_400 * US_PER_S
    t0 = local_day_start_us(world, 0)
    cutoff = t0 + window_us - cfg.LATEST_PAYMENT_BEFORE_END_S * US_PER_S

    # --- campaigns and their victims -------------------------------------------------------
    taken = np.zeros(world.persons.size, dtype=bool)
    camp_typ: list[int] = []
    v_person: list[np.ndarray] = []
    v_camp: list[np.ndarray] = []
    for ti, name in enumerate(names):
        if per_typ[ti] == 0:
            continue
        chosen = rng.permutation(_pick_victims(rng, world, prm.typologies[name], int(per_typ[ti]), taken))
        taken[chosen] = True
        at = 0
        for size in _campaign_sizes(rng, int(per_typ[ti])):
            v_person.append(chosen[at : at + size])
            v_camp.append(np.full(size, len(camp_typ), dtype=np.int64))
            camp_typ.append(ti)
            at += size
    person = np.concatenate(v_person)
    vcamp = np.concatenate(v_camp)
    ctyp = np.array(camp_typ, dtype=np.int8)
    n_camp, n_vic = ctyp.size, person.size
    vtyp = ctyp[vcamp]
    typs = [prm.typologies[n] for n in names]

    def per(attr: str, idx: np.ndarray) -> np.ndarray:
        return np.asarray(np.array([float(getattr(t, attr)) for t in typs])[idx])

    # A campaign runs for up to four weeks from its start; its victims' first payments fall in that span.
    camp_start = t0 + (rng.random(n_camp) * max(window_us - 7 * 86_400 * US_PER_S, window_us // 2)).astype(
        np.int64
    )
    span = np.minimum(28 * 86_400 * US_PER_S, cutoff - camp_start)
    first_pay = camp_start[vcamp] + (rng.random(n_vic) * span[vcamp]).astype(np.int64)
    # The hour of the first payment follows the typology's own pattern (params.Typology.hours):
    # brushing and romance scams run late into the night, impersonated police work office hours.
    day0 = (first_pay - t0) // (86_400 * US_PER_S) * (86_400 * US_PER_S) + t0
    hour_p = np.array([np.asarray(t.hours, dtype=np.float64) / sum(t.hours) for t in typs])
    cum_p = np.cumsum(hour_p, axis=1)
    hour = (rng.random(n_vic)[:, None] > cum_p[vtyp]).sum(axis=1).clip(0, 23)
    first_pay = day0 + hour * _HOUR_US + (rng.random(n_vic) * _HOUR_US).astype(np.int64)
    # A first payment on the last day can fall past the cutoff. Move it a day earlier, at the same
    # hour, rather than clamping: a clamp piles those payments onto one instant (the cutoff), which
    # no real ledger shows and which bunches screening flags.
    first_pay = np.where(first_pay >= cutoff, first_pay - 86_400 * US_PER_S, first_pay)
    first_pay = np.maximum(np.minimum(first_pay, cutoff - 1), t0)

    # --- payments: several, escalating, for investment and romance scams -------------------
    lo = np.array([t.payments[0] for t in typs])[vtyp]
    hi = np.array([t.payments[1] for t in typs])[vtyp]
    n_pay = rng.integers(lo, hi + 1)
    vic_of = np.repeat(np.arange(n_vic), n_pay)
    k_in = np.arange(vic_of.size) - np.repeat(np.r_[0, np.cumsum(n_pay)[:-1]], n_pay)
    gap_h = per("gap_hours", vtyp)[vic_of] * np.exp(rng.normal(0, 0.8, vic_of.size))
    gap_us = np.maximum(gap_h * _HOUR_US, 120 * US_PER_S).astype(np.int64)
    gap_us[k_in == 0] = 0
    # Every payment falls inside the window: a schedule too long for it is squeezed, and one that would
    # run past the end starts earlier. Cutting payments off instead would cut the largest, escalated ones.
    # Each squeezed schedule fits a random share (50-100 %) of the window, and one moved earlier starts
    # at a random time it can still finish by: fitting every one exactly to the window's edges would
    # pile many victims' first or last payments onto the same instant, which no real ledger shows.
    avail = cutoff - 1 - t0
    fit = avail * (0.5 + 0.5 * rng.random(n_vic))
    span = np.bincount(vic_of, weights=gap_us, minlength=n_vic)
    squeeze = np.minimum(1.0, fit / np.maximum(span, 1.0))
    gap_us = (gap_us * squeeze[vic_of]).astype(np.int64)
    span = np.bincount(vic_of, weights=gap_us, minlength=n_vic).astype(np.int64)
    latest = cutoff - 1 - span
    moved = t0 + (rng.random(n_vic) * np.maximum(latest - t0, 0)).astype(np.int64)
    first_pay = np.where(first_pay > latest, moved, first_pay)
    cum = np.cumsum(gap_us)
    cum -= np.repeat(cum[np.r_[0, np.cumsum(n_pay)[:-1]]], n_pay)
    pay_ts = first_pay[vic_of] + cum
    mean_loss = per("mean_loss_fen", vtyp)
    sigma = per("loss_sigma", vtyp)
    loss = mean_loss * np.exp(rng.normal(0, sigma) - sigma**2 / 2)
    esc = per("escalation", vtyp)[vic_of] ** k_in
    esc_sum = np.bincount(vic_of, weights=esc, minlength=n_vic)
    raw = loss[vic_of] * esc / esc_sum[vic_of]
    amount = np.where(raw >= 100_000, np.round(raw, -4), np.round(raw, -2)).astype(np.int64)
    amount = np.clip(amount, 100, 500_000_000)
    keep = pay_ts < cutoff
    vic_of, pay_ts, amount = vic_of[keep], pay_ts[keep], amount[keep]
    n_payments = vic_of.size

    # --- reports (before the cards: a gang drops a reported card) -----------------------------------------------------------------------------
    last_pay = np.zeros(n_vic, np.int64)
    np.maximum.at(last_pay, vic_of, pay_ts)
    paid = np.bincount(vic_of, minlength=n_vic) > 0
    delay = per("report_delay_hours", vtyp) * np.exp(rng.normal(0, 1.0, n_vic))
    report_us = last_pay + np.maximum(delay * _HOUR_US, 600 * US_PER_S).astype(np.int64)
    reports = paid & (rng.random(n_vic) < per("report_share", vtyp)) & (report_us < t0 + window_us)
    first_by_victim = np.full(n_vic, np.iinfo(np.int64).max)
    np.minimum.at(first_by_victim, vic_of, pay_ts)
    groom = per("groom_hours", vtyp) * np.exp(rng.normal(0, 0.7, n_vic))
    contact = first_by_victim - np.maximum(groom * _HOUR_US, 300 * US_PER_S).astype(np.int64)
    # --- mule pools per campaign and tier ------------------------------------------------------
    tiers = (2 + rng.choice(3, n_camp, p=cfg.MULE_TIERS_P)).astype(np.int8)
    first_use = np.full(n_camp, np.iinfo(np.int64).max)
    np.minimum.at(first_use, vcamp[vic_of], pay_ts)
    first_use = np.where(first_use == np.iinfo(np.int64).max, camp_start, first_use)
    first_day = epoch_day(prm) + (first_use - t0) // (86_400 * US_PER_S)

    pool_shapes = []
    for tier in range(1, 5):
        lo_c, hi_c = cfg.MULE_POOL[tier - 1]
        start, count = _csr(rng, n_camp, np.full(n_camp, lo_c), np.full(n_camp, hi_c))
        count = np.where(tiers >= tier, count, 0)
        start = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
        pool_shapes.append((start, count))
    pf_start, pf_count = _csr(rng, n_camp, np.ones(n_camp, np.int64), np.full(n_camp, 3))
    otc_start, otc_count = _csr(rng, n_camp, np.ones(n_camp, np.int64), np.full(n_camp, 2))

    # Tier-1 cards: rented from local holders (卡农, aged 18-35, not victims) or held by outsiders.
    t1_count = int(pool_shapes[0][1].sum())
    rented = rng.random(t1_count) < cfg.RENTED_T1_SHARE
    res = world.n_residents
    age = world.persons.age[:res]
    candidates = np.flatnonzero((age >= 18) & (age <= 35) & ~taken[:res] & (world.debit[:res] >= 0))
    # Each renter rents out one card to one gang; a district too small for that rents fewer.
    rented &= np.cumsum(rented) <= candidates.size
    n_rented = int(rented.sum())
    renters = rng.choice(candidates, n_rented, replace=False)
    other_cards = (t1_count - n_rented) + sum(int(c.sum()) for _, c in pool_shapes[1:]) + int(pf_count.sum())
    other_cards += int(otc_count.sum())
    outsiders = append_outsiders(rng, world.persons, max(1, other_cards // 2), prm.start)
    outsider_holder = outsiders[rng.permutation(other_cards) % outsiders.size]

    at = 0
    pools: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for tier in range(1, 5):
        start, count = pool_shapes[tier - 1]
        camp = np.repeat(np.arange(n_camp), count)
        role = np.full(camp.size, Role.MULE_T1 + tier - 1)
        if tier == 1:
            ids = np.empty(camp.size, dtype=np.int64)
            ids[rented] = _rented_cards(world, renters, Role.MULE_T1, camp[rented])
            bought = int((~rented).sum())
            ids[~rented] = _new_mule_accounts(rng, world, outsider_holder[at : at + bought], role[~rented],
                                              camp[~rented], first_day[camp[~rented]])  # fmt: skip
            at += bought
        else:
            holders = outsider_holder[at : at + camp.size]
            at += camp.size
            ids = _new_mule_accounts(rng, world, holders, role, camp, first_day[camp])
        pools.append((ids, start, count))
    cashout_pools = []
    for start, count in ((pf_start, pf_count), (otc_start, otc_count)):
        camp = np.repeat(np.arange(n_camp), count)
        holders = outsider_holder[at : at + camp.size]
        at += camp.size
        ids = _new_mule_accounts(rng, world, holders, np.full(camp.size, Role.CASHOUT), camp, first_day[camp])
        cashout_pools.append((ids, start, count))

    # --- victims' accounts, payments ---------------------------------------------------------
    wallet = (vtyp == names.index("刷单返利")) & (rng.random(n_vic) < 0.5)
    vacct = np.where(wallet, world.ewallet[person], world.debit[person])
    world.accounts.role[vacct] = Role.VICTIM
    pcamp = vcamp[vic_of]
    mule1 = _pick(rng, pools[0], pcamp)
    mule1 = _drop_reported_cards(rng, world, mule1, pcamp, vic_of, pay_ts, reports, report_us, first_day)
    typ_channel = np.array([_CHANNEL_CODE[t.channel] for t in typs])[vtyp[vic_of]]
    channel = np.where(rng.random(n_payments) < 0.7, typ_channel, MOBILE)
    channel = np.where(world.accounts.kind[vacct[vic_of]] == 2, THIRD_PARTY, channel)
    # Some gangs collect through a personal collection QR code (个人收款码) on a tier-1 card.
    channel = np.where(rng.random(n_payments) < cfg.QR_COLLECTION_SHARE, QR, channel).astype(np.int8)
    payments = Payments(victim=vic_of, ts=pay_ts, amount=amount, mule=mule1, channel=channel)
    topups = _topups(rng, world, person[vic_of], vacct[vic_of], pay_ts, amount)
    _list_cashout_merchants(rng, world, cashout_pools)

    rows: list[Rows] = [
        Rows(pay_ts, vacct[vic_of], mule1, amount, channel, np.full(n_payments, K_FRAUD, np.int8), pcamp)
    ]
    flows = [np.arange(n_payments)]
    hops = [np.zeros(n_payments, np.int8)]
    methods = [np.full(n_payments, -1, np.int8)]

    # --- layering: parcels move tier by tier -------------------------------------------------
    p_flow, p_acct, p_amount, p_arrive = np.arange(n_payments), mule1, amount, pay_ts
    final: list[tuple[np.ndarray, ...]] = []
    for tier in range(1, 5):
        p_camp = pcamp[p_flow]
        last = tiers[p_camp] == tier
        final.append(
            (p_flow[last], p_acct[last], p_amount[last], p_arrive[last], np.full(int(last.sum()), tier))
        )
        go = ~last
        if not go.any():
            break
        f, a, amt, arr = p_flow[go], p_acct[go], p_amount[go], p_arrive[go]
        k = np.minimum(1 + rng.choice(3, f.size, p=cfg.FAN_OUT_P), amt)
        parent, part = _split(rng, amt, k)
        ts = _stagger(rng, parent, k, arr, cfg.HOP_DELAY_MEDIAN_S)
        nxt = _pick(rng, pools[tier], pcamp[f[parent]])
        n = parent.size
        rows.append(Rows(ts, a[parent], nxt, part, np.where(rng.random(n) < 0.8, MOBILE, ONLINE).astype(np.int8),
                         np.full(n, K_LAYERING, np.int8), pcamp[f[parent]]))  # fmt: skip
        flows.append(f[parent])
        hops.append(np.full(n, tier, np.int8))
        methods.append(np.full(n, -1, np.int8))
        # Fan-in: the parts of one flow that reach the same card move on together, after the last arrived.
        key = f[parent] * world.accounts.size + nxt
        uniq, inv = np.unique(key, return_inverse=True)
        p_flow, p_acct = uniq // world.accounts.size, uniq % world.accounts.size
        p_amount = np.bincount(inv, weights=part, minlength=uniq.size).astype(np.int64)
        p_arrive = np.zeros(uniq.size, np.int64)
        np.maximum.at(p_arrive, inv, ts)

    # --- cash-out ----------------------------------------------------------------------------
    f, a, amt, arr, tier_of = (np.concatenate(c) for c in zip(*final, strict=True))
    method = rng.choice(3, f.size, p=cfg.CASHOUT_P)
    method = np.where(
        (method == ATM_METHOD) & ((amt > cfg.ATM_MAX_PARCEL_FEN) | (amt < 10_000)), PAOFEN_METHOD, method
    )
    # ATM: 5,000-yuan withdrawals and one for the rest in whole hundreds; change under 100 yuan stays on the card.
    atm = method == ATM_METHOD
    full, rest = amt[atm] // cfg.ATM_PIECE_FEN, amt[atm] % cfg.ATM_PIECE_FEN // 10_000 * 10_000
    k_atm = full + (rest > 0)
    parent = np.repeat(np.arange(k_atm.size), k_atm)
    piece = np.full(parent.size, cfg.ATM_PIECE_FEN, np.int64)
    last_piece = np.cumsum(k_atm) - 1
    piece[last_piece[rest > 0]] = rest[rest > 0]
    ts = _stagger(rng, parent, k_atm, arr[atm], 120.0)
    idx = np.flatnonzero(atm)[parent]
    rows.append(Rows(ts, a[idx], np.full(idx.size, NO_ACCOUNT, np.int64), piece, np.full(idx.size, ATM, np.int8),
                     np.full(idx.size, K_CASHOUT, np.int8), pcamp[f[idx]]))  # fmt: skip
    flows.append(f[idx])
    hops.append(tier_of[idx].astype(np.int8))
    methods.append(np.full(idx.size, ATM_METHOD, np.int8))
    for m, pool, kmax in ((PAOFEN_METHOD, cashout_pools[0], 6), (OTC_METHOD, cashout_pools[1], 1)):
        sel = np.flatnonzero(method == m)
        k = np.minimum(1 + rng.integers(0, kmax, sel.size), amt[sel])
        parent, part = _split(rng, amt[sel], k)
        ts = _stagger(rng, parent, k, arr[sel], 90.0)
        idx = sel[parent]
        payee = _pick(rng, pool, pcamp[f[idx]])
        ch = QR if m == PAOFEN_METHOD else MOBILE
        rows.append(Rows(ts, a[idx], payee, part, np.full(idx.size, ch, np.int8),
                         np.full(idx.size, K_CASHOUT, np.int8), pcamp[f[idx]]))  # fmt: skip
        flows.append(f[idx])
        hops.append(tier_of[idx].astype(np.int8))
        methods.append(np.full(idx.size, m, np.int8))

    all_rows = Rows.concat(rows)
    order = np.argsort(all_rows.ts, kind="stable")

    victims = Victims(person=person, account=vacct, campaign=vcamp, typology=vtyp.astype(np.int8),
                      contact_us=contact, reports=reports, report_us=report_us)  # fmt: skip
    campaigns = Campaigns(typology=ctyp, tiers=tiers, first_us=first_use, pools=pools,
                          paofen=cashout_pools[0], otc=cashout_pools[1])  # fmt: skip
    return FraudPlan(
        rows=all_rows.take(order),
        flow=np.concatenate(flows)[order],
        hop=np.concatenate(hops)[order],
        method=np.concatenate(methods)[order],
        campaigns=campaigns,
        victims=victims,
        payments=payments,
        topups=topups.take(np.argsort(topups.ts, kind="stable")),
    )
