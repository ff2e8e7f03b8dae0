"""The world a generation run builds before any transaction: stations, persons, accounts, merchants.

It is built once, in the parent process, from sub-seeds of the run's seed; worker processes inherit it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pingan.sim import params as cfg
from pingan.sim.accounts import (
    EMPLOYER_CAT,
    LENDER_CAT,
    UTILITY_CAT,
    Accounts,
    Merchants,
    generate_accounts,
    generate_merchants,
    person_accounts,
    second_debits,
)
from pingan.sim.geography import Station, district_stations
from pingan.sim.people import EMPLOYED, Persons, generate_residents

# Sub-seed streams: each part of a run draws from its own stream, so changing one part's draws
# (or the number of worker processes) never shifts another part's numbers.
STREAM_WORLD, STREAM_FRAUD, STREAM_DAY, STREAM_TABLES, STREAM_REPORTS, STREAM_BALANCES, STREAM_COLLECTORS = (
    range(7)
)
STREAM_LOANS = 7
# Residents' spending activity is quantised into levels: picking a level from a short table and then a
# member uniformly is exact for the quantised weights and much faster than a binary search per payment
# over a million-entry cumulative table (measured: the search was the largest cost of a day).
ACTIVITY_LEVELS = 64


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random generator for one (seed, stream, ...) key."""
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def epoch_day(params: cfg.Params) -> int:
    """Days from 1970-01-01 to the first simulated day."""
    return int(
        (np.datetime64(params.start.isoformat(), "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    )


@dataclass
class World:
    """Stations, persons, accounts and merchants, with the lookup arrays everyday payments need."""

    params: cfg.Params
    stations: tuple[Station, ...]
    persons: Persons
    accounts: Accounts
    merchants: Merchants
    debit: np.ndarray  # per person
    ewallet: np.ndarray
    credit: np.ndarray
    other_debit: np.ndarray  # per person: a second debit card at another bank, -1 if none
    employer: np.ndarray  # per person: merchant index of the employer, -1 without a job
    shops: np.ndarray  # merchant indices of shops, sorted by station then popularity
    shop_station_start: np.ndarray  # CSR offsets into `shops` per station
    shop_popularity_cdf: np.ndarray  # over `shops`, for purchases outside the home station
    utilities: np.ndarray  # account ids
    lenders: np.ndarray  # account ids of consumer lenders
    activity_level_cdf: np.ndarray  # over ACTIVITY_LEVELS levels of spending activity
    activity_members: np.ndarray  # residents sorted by activity level
    activity_level_start: np.ndarray  # CSR offsets into `activity_members`, per level

    @property
    def n_residents(self) -> int:
        """Number of residents (persons who live and spend in the district)."""
        return self.persons.n_residents


def _activity_levels(activity: np.ndarray) -> dict[str, np.ndarray]:
    edges = np.quantile(activity, np.linspace(0, 1, ACTIVITY_LEVELS + 1)[1:-1])
    level = np.searchsorted(edges, activity, side="right")
    members = np.argsort(level, kind="stable")
    counts = np.bincount(level, minlength=ACTIVITY_LEVELS)
    weight = np.bincount(level, weights=activity, minlength=ACTIVITY_LEVELS)  # members x their mean activity
    return {
        "activity_level_cdf": np.cumsum(weight) / weight.sum(),
        "activity_members": members.astype(np.int64),
        "activity_level_start": np.r_[0, np.cumsum(counts)].astype(np.int64),
    }


def build_world(params: cfg.Params) -> World:
    """Persons, ordinary accounts and merchants of the district; fraud adds its accounts later."""
    rng = stream(params.seed, STREAM_WORLD)
    stations = district_stations()
    start_day = epoch_day(params)
    persons = generate_residents(rng, params.scale, stations, params.start)
    accounts = generate_accounts(rng, persons, start_day)
    merchants = generate_merchants(rng, params.scale, persons, accounts, len(stations), start_day)
    debit, ewallet, credit = person_accounts(accounts, persons.size)

    res = persons.n_residents
    employers = np.flatnonzero(merchants.category == EMPLOYER_CAT)
    employer = np.full(res, -1, dtype=np.int64)
    employed = persons.occupation[:res] == EMPLOYED
    employer[employed] = rng.choice(employers, int(employed.sum()))

    shops = np.flatnonzero(merchants.category < EMPLOYER_CAT)
    popularity = rng.pareto(1.2, shops.size) + 1.0
    order = np.lexsort((-popularity, merchants.station[shops]))
    shops = shops[order]
    popularity = popularity[order]
    counts = np.bincount(merchants.station[shops], minlength=len(stations))
    shop_station_start = np.r_[0, np.cumsum(counts)].astype(np.int64)
    activity = persons.activity[:res]
    return World(
        params=params,
        stations=stations,
        persons=persons,
        accounts=accounts,
        merchants=merchants,
        debit=debit,
        ewallet=ewallet,
        credit=credit,
        other_debit=second_debits(accounts, debit),
        employer=employer,
        shops=shops,
        shop_station_start=shop_station_start,
        shop_popularity_cdf=np.cumsum(popularity) / popularity.sum(),
        utilities=merchants.account[merchants.category == UTILITY_CAT],
        lenders=merchants.account[merchants.category == LENDER_CAT],
        **_activity_levels(activity),
    )
