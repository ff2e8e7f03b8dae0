"""Persons of the synthetic district: pseudonymous residents (aged 16 and over) and outside card holders.

Names are drawn from common surnames and given-name characters, so they look real and belong to nobody.
ID numbers carry a valid ISO 7064 check character and a unique sequence per region and birth date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pingan.sim import params as cfg
from pingan.sim.geography import Station, home_points
from pingan.sim.idnumbers import digit_matrix, national_id_matrix, strings_from_matrix

OCCUPATIONS = ("student", "employed", "self_employed", "retired", "not_working")
STUDENT, EMPLOYED, SELF_EMPLOYED, RETIRED, NOT_WORKING = range(5)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖"
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红婷梅鑫琳晨宇浩然子轩欣怡雨涵思博文俊佳慧嘉瑶健斌宁凯"
    "鹏飞丹雪燕颖倩晶建国志坤海波蓉川蜀"
)
# Region codes in resident IDs: most residents were registered in Chengdu, some came from elsewhere in
# Sichuan and Chongqing; outside card holders come from provinces named in mule-card prosecutions.
_RESIDENT_REGIONS = np.array(
    [510107, 510104, 510105, 510106, 510108, 510112, 510122, 511002, 511102, 511303, 513401, 500101]
)
_RESIDENT_REGION_P = np.array([0.52, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04])
_OUTSIDE_REGIONS = np.array([450102, 530102, 350524, 441481, 522401, 360730, 430521])
_PHONE_PREFIXES = np.array(
    [
        138,
        139,
        135,
        136,
        137,
        150,
        151,
        152,
        157,
        158,
        159,
        182,
        183,
        187,
        188,
        130,
        131,
        132,
        155,
        156,
        185,
        186,
        133,
        153,
        180,
        181,
        189,
        177,
        199,
        198,
    ]
)


def _age_weights() -> np.ndarray:
    """Relative number of residents at each age 16..95: a young working-age city with an ageing tail."""
    ages = np.arange(16, 96)
    w = np.where(ages < 22, 0.8, 1.0)
    w = np.where((ages >= 24) & (ages <= 40), 1.35, w)
    w = np.where(ages >= 60, np.exp(-(ages - 60) / 14.0), w)
    return np.asarray(w / w.sum(), dtype=np.float64)


@dataclass
class Persons:
    """Column arrays of every person, residents first, then outside card holders."""

    age: np.ndarray  # int16
    male: np.ndarray  # bool
    birth: np.ndarray  # int32 yyyymmdd
    region: np.ndarray  # int32
    station: np.ndarray  # int16, -1 outside the district
    lat: np.ndarray
    lon: np.ndarray
    household: np.ndarray  # int32
    occupation: np.ndarray  # int8
    wage_fen: np.ndarray  # int64, monthly, 0 without a job
    activity: np.ndarray  # float64 relative spending activity, 0 for outsiders
    n_residents: int

    @property
    def size(self) -> int:
        """Number of persons."""
        return int(self.age.size)


def _birthdays(rng: np.random.Generator, age: np.ndarray, start: date) -> np.ndarray:
    """A birth date (yyyymmdd) giving each person `age` full years on the start date."""
    base = np.datetime64(start.isoformat(), "D")
    days_back = (age.astype(np.int64) * 365.25 + rng.uniform(1, 364, age.size)).astype(np.int64)
    born = base - days_back.astype("timedelta64[D]")
    ymd = born.astype(str)
    return np.asarray(np.char.replace(ymd, "-", "").astype(np.int32))


def generate_residents(
    rng: np.random.Generator, scale: cfg.Scale, stations: tuple[Station, ...], start: date
) -> Persons:
    """Residents sorted by home station, grouped in households of 1-4 neighbours."""
    n = scale.persons
    age = (16 + rng.choice(80, size=n, p=_age_weights())).astype(np.int16)
    male = rng.random(n) < 0.505
    station_w = rng.uniform(0.6, 1.4, len(stations))
    station = np.sort(rng.choice(len(stations), size=n, p=station_w / station_w.sum())).astype(np.int16)
    lat, lon = home_points(rng, station, stations)
    hh_size = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.3, 0.25, 0.15])
    household = np.cumsum(hh_size) - hh_size  # candidate first member of each household
    household_id = np.zeros(n, dtype=np.int32)
    starts = household[household < n]
    household_id[starts] = 1
    household_id = (np.cumsum(household_id) - 1).astype(np.int32)

    occupation = np.full(n, NOT_WORKING, dtype=np.int8)
    u = rng.random(n)
    occupation[(age < 23) & (u < 0.8)] = STUDENT
    working_age = (age >= 18) & (age < 60)
    occupation[working_age & (occupation != STUDENT) & (u < cfg.EMPLOYED_SHARE + 0.1)] = EMPLOYED
    occupation[working_age & (u >= cfg.EMPLOYED_SHARE + 0.1) & (u < cfg.EMPLOYED_SHARE + 0.25)] = (
        SELF_EMPLOYED
    )
    occupation[age >= 60] = RETIRED
    wage = np.where(
        occupation == EMPLOYED,
        np.round(cfg.MONTHLY_WAGE_MEDIAN_FEN * np.exp(rng.normal(0, cfg.MONTHLY_WAGE_SIGMA, n)), -2),
        0,
    ).astype(np.int64)
    activity = rng.gamma(2.0, 0.5, n) * np.where(age >= 65, 0.6, 1.0) * np.where(age < 20, 0.8, 1.0)
    birth = _birthdays(rng, age, start)
    region = rng.choice(_RESIDENT_REGIONS, size=n, p=_RESIDENT_REGION_P).astype(np.int32)
    return Persons(
        age=age,
        male=male,
        birth=birth,
        region=region,
        station=station,
        lat=lat,
        lon=lon,
        household=household_id,
        occupation=occupation,
        wage_fen=wage,
        activity=activity,
        n_residents=n,
    )


def append_outsiders(rng: np.random.Generator, persons: Persons, count: int, start: date) -> np.ndarray:
    """Add `count` card holders from outside the district (mule-card sellers); returns their person ids."""
    age = rng.integers(19, 45, count).astype(np.int16)
    ids = np.arange(persons.size, persons.size + count, dtype=np.int64)
    persons.age = np.concatenate([persons.age, age])
    persons.male = np.concatenate([persons.male, rng.random(count) < 0.7])
    persons.birth = np.concatenate([persons.birth, _birthdays(rng, age, start)])
    persons.region = np.concatenate([persons.region, rng.choice(_OUTSIDE_REGIONS, count).astype(np.int32)])
    persons.station = np.concatenate([persons.station, np.full(count, -1, dtype=np.int16)])
    persons.lat = np.concatenate([persons.lat, np.full(count, np.nan)])
    persons.lon = np.concatenate([persons.lon, np.full(count, np.nan)])
    persons.household = np.concatenate([persons.household, np.full(count, -1, dtype=np.int32)])
    persons.occupation = np.concatenate([persons.occupation, np.full(count, NOT_WORKING, dtype=np.int8)])
    persons.wage_fen = np.concatenate([persons.wage_fen, np.zeros(count, dtype=np.int64)])
    persons.activity = np.concatenate([persons.activity, np.zeros(count)])
    return ids


def id_sequence(region: np.ndarray, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """The 3-digit sequence of each ID (002-999): unique per region and birth date, odd for men, even for women."""
    key = region.astype(np.int64) * 100_000_000 + birth.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.r_[True, sk[1:] != sk[:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(sk.size), 0))
    rank = np.empty(sk.size, dtype=np.int64)
    rank[order] = np.arange(sk.size) - run_start
    if rank.max(initial=0) >= 499:
        raise ValueError("more than 499 persons share a region and birth date; ID sequences would repeat")
    return 2 + rank * 2 + male.astype(np.int64)


def national_ids(persons: Persons) -> pa.Array:
    """Resident ID numbers of every person, as an Arrow string array."""
    seq = id_sequence(persons.region, persons.birth, persons.male)
    return strings_from_matrix(national_id_matrix(persons.region, persons.birth, seq))


def phone_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """Distinct 11-digit mobile numbers: a carrier prefix and 8 digits that are a bijection of the person id."""
    prefix = rng.choice(_PHONE_PREFIXES, n)
    suffix = (np.arange(n, dtype=np.int64) * 48_271 + 9_173_513) % 100_000_000
    return strings_from_matrix(np.concatenate([digit_matrix(prefix, 3), digit_matrix(suffix, 8)], axis=1))


def names(rng: np.random.Generator, n: int) -> pa.Array:
    """Pseudonymous Chinese names: a common surname and one or two given-name characters."""
    surnames = pa.array(list(_SURNAMES))
    given = pa.array(list(_GIVEN))
    s_w = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    s = surnames.take(pa.array(rng.choice(len(_SURNAMES), n, p=s_w / s_w.sum())))
    g1 = given.take(pa.array(rng.integers(0, len(_GIVEN), n)))
    g2 = given.take(pa.array(rng.integers(0, len(_GIVEN), n)))
    two = pa.array(rng.random(n) < 0.7)
    g2 = pc.if_else(two, g2, pa.scalar(""))
    return pc.binary_join_element_wise(s, g1, g2, "")


def birth_dates(birth: np.ndarray) -> pa.Array:
    """yyyymmdd integers as an Arrow date32 array."""
    y, m, d = birth // 10000, birth // 100 % 100, birth % 100
    ds = (
        (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1).astype("timedelta64[M]")
    ).astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
    return pa.array(ds.astype("datetime64[D]"), type=pa.date32())


def persons_table(rng: np.random.Generator, persons: Persons, stations: tuple[Station, ...]) -> pa.Table:
    """The persons.parquet table."""
    codes = pa.array([s.code for s in stations] + [None])
    st = np.where(persons.station < 0, len(stations), persons.station)
    n = persons.size
    return pa.table(
        {
            "person_id": pa.array(np.arange(n, dtype=np.int64)),
            "name": names(rng, n),
            "sex": pa.array(np.where(persons.male, "M", "F")),
            "birth_date": birth_dates(persons.birth),
            "age": pa.array(persons.age.astype(np.int16)),
            "national_id": national_ids(persons),
            "phone": phone_numbers(rng, n),
            "resident": pa.array(persons.station >= 0),
            "home_station": codes.take(pa.array(st)),
            "home_lat": pa.array(persons.lat, mask=np.isnan(persons.lat)),
            "home_lon": pa.array(persons.lon, mask=np.isnan(persons.lon)),
            "household_id": pa.array(persons.household.astype(np.int64), mask=persons.household < 0),
            "occupation": pa.array(np.array(OCCUPATIONS)[persons.occupation]),
            "monthly_wage_fen": pa.array(persons.wage_fen),
        }
    )
