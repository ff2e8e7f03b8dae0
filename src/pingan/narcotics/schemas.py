"""Wastewater API responses: sewershed aggregates only (no person, no building)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class SiteOut(BaseModel):
    code: str
    city: str
    country: str
    lat: float | None
    lon: float | None
    population: int
    samples: int
    last_sample: date | None


class LoadOut(BaseModel):
    day: date
    metabolite: str
    load_mg_per_day_per_1000: float
    ci95_low: float | None
    ci95_high: float | None


class RiseOut(BaseModel):
    metabolite: str
    recent_median: float | None
    baseline_median: float | None
    n_recent: int
    n_baseline: int
    p: float | None
    rising: bool
    reasons: list[str]


class FlagOut(BaseModel):
    day: date
    metabolite: str
    reasons: list[str]


class SiteTrendsOut(BaseModel):
    site: SiteOut
    factor_set: str
    loads: list[LoadOut]
    rises: list[RiseOut]
    flags: list[FlagOut]


class MonthlyRiseOut(BaseModel):
    geo: str
    measure: str
    month: str
    baseline_month: str
    load: float
    baseline: float
    z: float
    p: float


class MonthlyRisesOut(BaseModel):
    method: str
    tests: int
    rises: list[MonthlyRiseOut]
