"""The wastewater read side: sites, their loads, trends and flags, and the two published tables.

Every figure is per sewershed (site); nothing here reads or returns a person or a building.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pingan.narcotics import analysis, rules
from pingan.narcotics.choices import Metabolite
from pingan.narcotics.factors import FactorTable, load_factors
from pingan.narcotics.imports import EudaRow, StatcanRow
from pingan.narcotics.model import WwEudaLoad, WwQuarantine, WwResult, WwSite, WwStatcanLoad


@dataclass(frozen=True)
class SiteSummary:
    code: str
    city: str
    country: str
    location: str
    lat: float | None
    lon: float | None
    population: int
    samples: int
    last_sample: date | None


def sites(session: Session) -> list[SiteSummary]:
    """Every site with how many lab results it has and the last sample's date."""
    q = select(WwResult.site_code, func.count(), func.max(WwResult.sample_date)).group_by(WwResult.site_code)
    counts: dict[str, tuple[int, date | None]] = {c: (n, last) for c, n, last in session.execute(q)}
    return [
        SiteSummary(
            s.code,
            s.city,
            s.country,
            s.location,
            s.lat,
            s.lon,
            s.population,
            counts.get(s.code, (0, None))[0],
            counts.get(s.code, (0, None))[1],
        )
        for s in session.execute(select(WwSite).order_by(WwSite.code)).scalars()
    ]


def site(session: Session, code: str) -> WwSite | None:
    """One site, or None."""
    return session.get(WwSite, code)


@dataclass(frozen=True)
class LoadPoint:
    day: date
    metabolite: Metabolite
    concentration_ng_l: float
    load: rules.Load


def site_loads(
    session: Session, code: str, *, factor_set: str = "residue", factors: FactorTable | None = None
) -> list[LoadPoint]:
    """A site's loads per sample, in mg/day/1000 inhabitants, with the chosen factor set; a residue
    the set has no factor for is left out (not converted with a guess)."""
    table = factors or load_factors()
    s = session.get(WwSite, code)
    if s is None:
        return []
    out: list[LoadPoint] = []
    q = select(WwResult).where(WwResult.site_code == code).order_by(WwResult.sample_date, WwResult.metabolite)
    for r in session.execute(q).scalars():
        f = table.get(factor_set, r.metabolite.value)
        if f is None:
            continue
        # The lab gives no uncertainty of concentration, flow or population: the error shown is the
        # factor's alone, said so on the page (rel_se 0 for the measured-residue set).
        load = rules.load_per_1000(
            r.concentration_ng_l,
            r.flow_m3_day,
            s.population,
            f,
            rel_se_concentration=0.0,
            rel_se_flow=0.0,
            rel_se_population=0.0,
        )
        out.append(LoadPoint(r.sample_date, r.metabolite, r.concentration_ng_l, load))
    return out


@dataclass(frozen=True)
class SiteAnalysis:
    rises: list[rules.Rise]
    patterns: dict[str, rules.WeekPattern]
    flags: list[rules.Flag]


def analyse(points: list[LoadPoint], *, until: date) -> SiteAnalysis:
    """Rises against the site's own baseline, weekday/weekend patterns and dumping flags."""
    by_met: dict[str, list[rules.DailyLoad]] = defaultdict(list)
    conc: dict[date, dict[str, float]] = defaultdict(dict)
    for p in points:
        by_met[p.metabolite.value].append(rules.DailyLoad(p.day, p.metabolite.value, p.load.value))
        conc[p.day][p.metabolite.value] = p.concentration_ng_l
    rises = [r for xs in by_met.values() if (r := rules.recent_rise(xs, until=until)) is not None]
    patterns = {m: w for m, xs in by_met.items() if (w := rules.week_pattern(xs)) is not None}
    flags: list[rules.Flag] = []
    for day, c in sorted(conc.items()):
        if "amphetamine" in c and "methamphetamine" in c:
            f = rules.ratio_flag(day, c["amphetamine"], c["methamphetamine"])
            if f is not None:
                flags.append(f)
    flags += rules.spike_flags([x for xs in by_met.values() for x in xs])
    flags.sort(key=lambda f: (f.day, f.metabolite))
    return SiteAnalysis(rises, patterns, flags)


def _dec(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(f"{v:.2f}")


def euda_rows(session: Session) -> list[EudaRow]:
    """The stored EUDA table, as the reader returns it (decimals to the cent)."""
    out = []
    for r in session.execute(select(WwEudaLoad).order_by(WwEudaLoad.id)).scalars():
        days = {
            "Monday": _dec(r.monday),
            "Tuesday": _dec(r.tuesday),
            "Wednesday": _dec(r.wednesday),
            "Thursday": _dec(r.thursday),
            "Friday": _dec(r.friday),
            "Saturday": _dec(r.saturday),
            "Sunday": _dec(r.sunday),
        }
        out.append(
            EudaRow(
                0,
                r.year,
                r.metabolite,
                r.site_code,
                r.country,
                r.city,
                days,
                _dec(r.weekday_mean),
                _dec(r.weekend_mean),
                _dec(r.daily_mean),
            )
        )
    return out


def statcan_rows(session: Session) -> list[StatcanRow]:
    """The stored Statistics Canada table."""
    return [
        StatcanRow(r.month, r.geo, r.measure, r.load, r.ci_low, r.ci_high, r.se, r.imputation_rate, r.status)
        for r in session.execute(
            select(WwStatcanLoad).order_by(WwStatcanLoad.geo, WwStatcanLoad.measure, WwStatcanLoad.month)
        ).scalars()
    ]


def euda_check(session: Session) -> analysis.EudaCheck:
    """The EUDA means check over the stored table."""
    return analysis.check_euda(euda_rows(session))


def statcan_rises(session: Session) -> tuple[list[analysis.SeriesRise], int]:
    """The Statistics Canada year-over-year tests over the stored table."""
    return analysis.statcan_rises(statcan_rows(session))


def quarantine(session: Session, limit: int = 200) -> list[WwQuarantine]:
    """The latest quarantined rows."""
    return list(session.execute(select(WwQuarantine).order_by(WwQuarantine.id.desc()).limit(limit)).scalars())
