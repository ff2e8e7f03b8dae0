"""The only wastewater code that writes: imports of sites, lab results and the two published tables.

Each `do_import_*` writes the good rows and the quarantined ones in the caller's transaction, with
one audit entry. A re-import replaces the rows it carries (same site, day and residue; same table
key) rather than duplicating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.errors import Forbidden
from pingan.core.roles import Actor, Role
from pingan.narcotics import imports
from pingan.narcotics.model import WwEudaLoad, WwQuarantine, WwResult, WwSite, WwStatcanLoad

# Wastewater figures are district-wide aggregates: the analysts and supervisors read them.
READERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.SUPERVISOR, Role.ADMIN})
IMPORTERS = frozenset({Role.ANTIFRAUD_ANALYST, Role.ADMIN, Role.SYSTEM})


@dataclass(frozen=True)
class ImportResult:
    """How many lines were read, written and quarantined (with the quarantined rows themselves)."""

    kind: str
    lines: int
    written: int
    quarantined: list[imports.Bad]


def check_import(actor: Actor) -> None:
    """Only the analysts, administrators and the platform's own import may load wastewater data."""
    if actor.role not in IMPORTERS:
        raise Forbidden("wastewater data is imported by an analyst or an administrator")


def _quarantine(session: Session, kind: str, path: Path, bad: list[imports.Bad]) -> None:
    now = clock.now()
    session.add_all(
        WwQuarantine(
            kind=kind,
            source_file=path.name,
            line=b.line,
            field=b.field,
            reason=b.reason,
            message=b.message[:255],
            raw=b.raw,
            at=now,
        )
        for b in bad
    )


def _audit(session: Session, actor: Actor, kind: str, path: Path, result: ImportResult) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"wastewater.import_{kind}",
        object_type="ww_file",
        object_id=path.name,
        detail={"lines": result.lines, "written": result.written, "quarantined": len(result.quarantined)},
    )


def do_import_sites(session: Session, actor: Actor, path: Path) -> ImportResult:
    """Sites (sewersheds) in the EUDA site-info layout; a known code is updated in place."""
    check_import(actor)
    parsed = imports.read_sites(path)
    for s in parsed.rows:
        session.merge(
            WwSite(
                code=s.code,
                country=s.country,
                city=s.city,
                location=s.location,
                lat=s.lat,
                lon=s.lon,
                population=s.population,
            )
        )
    _quarantine(session, "sites", path, parsed.bad)
    result = ImportResult("sites", parsed.lines, len(parsed.rows), parsed.bad)
    _audit(session, actor, "sites", path, result)
    session.flush()
    return result


def do_import_lab(session: Session, actor: Actor, path: Path, *, today: date | None = None) -> ImportResult:
    """Lab results; a result for an unknown site, a negative concentration, a zero flow or a future
    date is quarantined with its line, field and reason. `today` is the clock's date unless given."""
    check_import(actor)
    day = today or clock.now().date()
    known = set(session.execute(select(WwSite.code)).scalars())
    parsed = imports.read_lab(path, known_sites=known, today=day)
    now = clock.now()
    for r in parsed.rows:
        session.execute(
            delete(WwResult).where(
                WwResult.site_code == r.site,
                WwResult.sample_date == r.sample_date,
                WwResult.metabolite == r.metabolite,
            )
        )
    session.add_all(
        WwResult(
            site_code=r.site,
            sample_date=r.sample_date,
            metabolite=r.metabolite,
            concentration_ng_l=r.concentration_ng_l,
            flow_m3_day=r.flow_m3_day,
            source_file=path.name,
            imported_at=now,
        )
        for r in parsed.rows
    )
    _quarantine(session, "lab", path, parsed.bad)
    result = ImportResult("lab", parsed.lines, len(parsed.rows), parsed.bad)
    _audit(session, actor, "lab", path, result)
    session.flush()
    return result


def _f(v: object) -> float | None:
    return None if v is None else float(str(v))


def do_import_euda(session: Session, actor: Actor, path: Path) -> ImportResult:
    """The EUDA/SCORE city table, as published; it replaces the table held."""
    check_import(actor)
    parsed = imports.read_euda(path)
    session.execute(delete(WwEudaLoad))
    session.add_all(
        WwEudaLoad(
            year=r.year,
            metabolite=r.metabolite,
            site_code=r.site,
            country=r.country,
            city=r.city,
            monday=_f(r.days["Monday"]),
            tuesday=_f(r.days["Tuesday"]),
            wednesday=_f(r.days["Wednesday"]),
            thursday=_f(r.days["Thursday"]),
            friday=_f(r.days["Friday"]),
            saturday=_f(r.days["Saturday"]),
            sunday=_f(r.days["Sunday"]),
            weekday_mean=_f(r.weekday_mean),
            weekend_mean=_f(r.weekend_mean),
            daily_mean=_f(r.daily_mean),
        )
        for r in parsed.rows
    )
    _quarantine(session, "euda", path, parsed.bad)
    result = ImportResult("euda", parsed.lines, len(parsed.rows), parsed.bad)
    _audit(session, actor, "euda", path, result)
    session.flush()
    return result


def do_import_statcan(session: Session, actor: Actor, path: Path) -> ImportResult:
    """Statistics Canada table 13-10-0871-01, as published; it replaces the table held."""
    check_import(actor)
    parsed = imports.read_statcan(path)
    session.execute(delete(WwStatcanLoad))
    session.add_all(
        WwStatcanLoad(
            month=r.month,
            geo=r.geo,
            measure=r.measure,
            load=r.load,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            se=r.se,
            imputation_rate=r.imputation_rate,
            status=r.status,
        )
        for r in parsed.rows
    )
    _quarantine(session, "statcan", path, parsed.bad)
    result = ImportResult("statcan", parsed.lines, len(parsed.rows), parsed.bad)
    _audit(session, actor, "statcan", path, result)
    session.flush()
    return result
