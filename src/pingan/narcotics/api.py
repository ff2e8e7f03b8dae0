"""Wastewater JSON under /api/v1: sites, a site's loads with trends and flags, the monthly rises."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import DbSession
from pingan.core.errors import NotFound
from pingan.core.roles import Actor
from pingan.narcotics import actions, queries
from pingan.narcotics.schemas import (
    FlagOut,
    LoadOut,
    MonthlyRiseOut,
    MonthlyRisesOut,
    RiseOut,
    SiteOut,
    SiteTrendsOut,
)

router = APIRouter(prefix="/api/v1/narcotics", tags=["narcotics"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
RISES_METHOD = (
    "each month against the same month a year earlier; one-sided z from the published standard errors "
    "(from the 95% CI where absent); Benjamini-Hochberg at FDR 0.05 over all tests"
)


def _site_out(s: queries.SiteSummary) -> SiteOut:
    return SiteOut(
        code=s.code,
        city=s.city,
        country=s.country,
        lat=s.lat,
        lon=s.lon,
        population=s.population,
        samples=s.samples,
        last_sample=s.last_sample,
    )


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


@router.get("/sites")
def list_sites(session: DbSession, actor: Reader) -> list[SiteOut]:
    """Every sewershed with its population served and how many samples it has."""
    with session.begin():
        return [_site_out(s) for s in queries.sites(session)]


@router.get("/sites/{code}/trends")
def site_trends(
    code: str,
    session: DbSession,
    actor: Reader,
    factors: Annotated[str, Query(pattern="^(residue|consumption)$")] = "residue",
) -> SiteTrendsOut:
    """A site's loads (mg/day/1000 inhabitants, with the band where known), rises and dumping flags."""
    with session.begin():
        summary = next((s for s in queries.sites(session) if s.code == code), None)
        if summary is None:
            raise NotFound("no such site", field="code")
        points = queries.site_loads(session, code, factor_set=factors)
    a = queries.analyse(points, until=clock.now().date())
    return SiteTrendsOut(
        site=_site_out(summary),
        factor_set=factors,
        loads=[
            LoadOut(
                day=p.day,
                metabolite=p.metabolite.value,
                load_mg_per_day_per_1000=p.load.value,
                ci95_low=p.load.ci95[0] if p.load.ci95 else None,
                ci95_high=p.load.ci95[1] if p.load.ci95 else None,
            )
            for p in points
        ],
        rises=[
            RiseOut(
                metabolite=r.metabolite,
                recent_median=_num(r.recent_median),
                baseline_median=_num(r.baseline_median),
                n_recent=r.n_recent,
                n_baseline=r.n_baseline,
                p=r.p,
                rising=r.rising,
                reasons=list(r.reasons),
            )
            for r in a.rises
        ],
        flags=[FlagOut(day=f.day, metabolite=f.metabolite, reasons=list(f.reasons)) for f in a.flags],
    )


@router.get("/statcan/rises")
def statcan_rises(session: DbSession, actor: Reader) -> MonthlyRisesOut:
    """The Statistics Canada months flagged as significant rises, with the method."""
    with session.begin():
        tests, n = queries.statcan_rises(session)
    return MonthlyRisesOut(
        method=RISES_METHOD,
        tests=n,
        rises=[
            MonthlyRiseOut(
                geo=t.geo,
                measure=t.measure,
                month=t.rise.month,
                baseline_month=t.rise.baseline_month,
                load=t.rise.load,
                baseline=t.rise.baseline,
                z=t.rise.z,
                p=t.rise.p,
            )
            for t in tests
            if t.rise.significant
        ],
    )
