"""Reading the wastewater files: lab results, sites, and the EUDA and Statistics Canada tables.

Each reader returns the good rows and, for every bad one, its line, field and reason (quarantine).
Nothing here writes to the database: `actions.do_import_*` does, in one transaction.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Generic, TypeVar

from pingan.core.migrate import REPO_ROOT
from pingan.narcotics.choices import Metabolite, QuarantineReason

LAB_COLUMNS = ("sample_date", "site", "metabolite", "concentration_ng_l", "flow_m3_day")
SITE_COLUMNS = ("SiteID", "Country", "City", "Location", "Latitude", "Longitude", "Population")
EUDA_COLUMNS = (
    "Year",
    "Metabolite",
    "Site ID",
    "Country",
    "City",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Weekday mean",
    "Weekend mean",
    "Daily mean",
)
STATCAN_COLUMNS = ("REF_DATE", "GEO", "Measure", "Characteristics", "VALUE", "STATUS")
WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The names the published tables use for a residue, read as our metabolite codes.
METABOLITE_NAMES = {
    "benzoylecgonine": Metabolite.BENZOYLECGONINE,
    "be": Metabolite.BENZOYLECGONINE,
    "cocaine": Metabolite.COCAINE,
    "amphetamine": Metabolite.AMPHETAMINE,
    "methamphetamine": Metabolite.METHAMPHETAMINE,
    "mdma": Metabolite.MDMA,
    "thc-cooh": Metabolite.THC_COOH,
    "thc_cooh": Metabolite.THC_COOH,
    "cannabis": Metabolite.THC_COOH,
    "ketamine": Metabolite.KETAMINE,
}


class FileError(ValueError):
    """The file cannot be read at all (wrong header, not CSV): nothing is imported."""


@dataclass(frozen=True)
class Bad:
    """One quarantined row: where, which field, why, and the raw line."""

    line: int
    field: str
    reason: QuarantineReason
    message: str
    raw: str


@dataclass(frozen=True)
class SiteRow:
    code: str
    country: str
    city: str
    location: str
    lat: float | None
    lon: float | None
    population: int


@dataclass(frozen=True)
class LabRow:
    line: int
    sample_date: date
    site: str
    metabolite: Metabolite
    concentration_ng_l: float
    flow_m3_day: float


@dataclass(frozen=True)
class EudaRow:
    line: int
    year: int
    metabolite: str  # as published ("cocaine" is benzoylecgonine there; kept verbatim)
    site: str
    country: str
    city: str
    days: dict[str, Decimal | None]
    weekday_mean: Decimal | None
    weekend_mean: Decimal | None
    daily_mean: Decimal | None


@dataclass(frozen=True)
class StatcanRow:
    month: str
    geo: str
    measure: str
    load: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    imputation_rate: float | None
    status: str


T = TypeVar("T")


@dataclass
class Parsed(Generic[T]):
    rows: list[T] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)
    lines: int = 0


def _records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], str]]:
    """(line number, row, raw line) of a CSV whose header holds `required` (UTF-8, BOM allowed)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise FileError(f"{path.name}: line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            raw = ",".join(str(v) for v in row.values())
            yield reader.line_num, row, raw


def _clean(text: str | None) -> str:
    return (text or "").replace("\xa0", " ").strip()


def read_sites(path: Path) -> Parsed[SiteRow]:
    """Sites in the EUDA site-info layout (SiteID, Country, City, Location, Latitude, Longitude,
    Population). A population written as `3e+05` is read as 300000; one of zero or less is bad."""
    out: Parsed[SiteRow] = Parsed()
    for line, r, raw in _records(path, SITE_COLUMNS):
        out.lines += 1
        code = _clean(r["SiteID"])
        try:
            population = round(float(_clean(r["Population"])))
        except ValueError:
            out.bad.append(Bad(line, "Population", QuarantineReason.MALFORMED, "not a number", raw))
            continue
        if population <= 0 or not code:
            field_ = "Population" if code else "SiteID"
            out.bad.append(Bad(line, field_, QuarantineReason.MALFORMED, "missing or not positive", raw))
            continue
        try:
            lat = float(_clean(r["Latitude"])) if _clean(r["Latitude"]) else None
            lon = float(_clean(r["Longitude"])) if _clean(r["Longitude"]) else None
        except ValueError:
            out.bad.append(Bad(line, "Latitude", QuarantineReason.MALFORMED, "not a coordinate", raw))
            continue
        if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
            out.bad.append(Bad(line, "Latitude", QuarantineReason.MALFORMED, "outside WGS-84", raw))
            continue
        out.rows.append(
            SiteRow(
                code, _clean(r["Country"]), _clean(r["City"]), _clean(r["Location"]), lat, lon, population
            )
        )
    return out


def read_lab(path: Path, *, known_sites: set[str], today: date) -> Parsed[LabRow]:
    """Lab results: sample_date (YYYY-MM-DD), site, metabolite, concentration_ng_l, flow_m3_day.

    Quarantined, with the field and reason: an unknown site, a negative concentration, a flow of zero
    (or less), a date after `today`, an unreadable value, and a second result for the same site,
    day and metabolite.
    """
    out: Parsed[LabRow] = Parsed()
    seen: set[tuple[str, date, Metabolite]] = set()
    for line, r, raw in _records(path, LAB_COLUMNS):
        out.lines += 1

        def bad(field_: str, reason: QuarantineReason, message: str) -> None:
            out.bad.append(Bad(line, field_, reason, message, raw))  # noqa: B023 - used at once

        try:
            day = date.fromisoformat(_clean(r["sample_date"]))
        except ValueError:
            bad("sample_date", QuarantineReason.MALFORMED, "not a date (YYYY-MM-DD)")
            continue
        site = _clean(r["site"])
        met = METABOLITE_NAMES.get(_clean(r["metabolite"]).lower())
        if met is None:
            bad("metabolite", QuarantineReason.MALFORMED, f"unknown metabolite {_clean(r['metabolite'])!r}")
            continue
        try:
            conc = float(_clean(r["concentration_ng_l"]))
            flow = float(_clean(r["flow_m3_day"]))
        except ValueError:
            bad("concentration_ng_l/flow_m3_day", QuarantineReason.MALFORMED, "not a number")
            continue
        if not (math.isfinite(conc) and math.isfinite(flow)):
            bad("concentration_ng_l/flow_m3_day", QuarantineReason.MALFORMED, "not a finite number")
        elif site not in known_sites:
            bad("site", QuarantineReason.UNKNOWN_SITE, f"no site {site!r}: import the sites first")
        elif conc < 0:
            bad("concentration_ng_l", QuarantineReason.NEGATIVE_CONCENTRATION, f"{conc} < 0")
        elif flow <= 0:
            bad("flow_m3_day", QuarantineReason.ZERO_FLOW, f"{flow} m³/day")
        elif day > today:
            bad("sample_date", QuarantineReason.FUTURE_DATE, f"{day} is after {today}")
        elif (site, day, met) in seen:
            bad("sample_date", QuarantineReason.DUPLICATE, "same site, day and metabolite as an earlier line")
        else:
            seen.add((site, day, met))
            out.rows.append(LabRow(line, day, site, met, conc, flow))
    return out


def _dec(text: str) -> Decimal | None:
    t = _clean(text)
    if t in ("", "NA", "N/A"):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        raise ValueError(t) from None


def read_euda(path: Path) -> Parsed[EudaRow]:
    """The EUDA/SCORE city table as published (mg of residue/day/1000 inhabitants), values kept as
    decimals so that the means can be checked to the cent."""
    out: Parsed[EudaRow] = Parsed()
    for line, r, raw in _records(path, EUDA_COLUMNS):
        out.lines += 1
        try:
            year = int(_clean(r["Year"]))
        except ValueError:
            out.bad.append(Bad(line, "Year", QuarantineReason.MALFORMED, "not a year", raw))
            continue
        try:
            days = {d: _dec(r[d]) for d in WEEK}
            means = [_dec(r[c]) for c in ("Weekday mean", "Weekend mean", "Daily mean")]
        except ValueError as exc:
            out.bad.append(Bad(line, "day value", QuarantineReason.MALFORMED, f"not a number: {exc}", raw))
            continue
        if any(v is not None and v < 0 for v in [*days.values(), *means]):
            out.bad.append(
                Bad(line, "day value", QuarantineReason.NEGATIVE_CONCENTRATION, "negative load", raw)
            )
            continue
        out.rows.append(
            EudaRow(
                line,
                year,
                _clean(r["Metabolite"]),
                _clean(r["Site ID"]),
                _clean(r["Country"]),
                _clean(r["City"]),
                days,
                means[0],
                means[1],
                means[2],
            )
        )
    return out


_CHARACTERISTICS = {
    "Load per capita (milligrams per one thousand people per day)": "load",
    "Low 95% confidence interval, load per capita": "ci_low",
    "High 95% confidence interval, load per capita": "ci_high",
    "Standard error, load per capita": "se",
    "Imputation rate, load per capita": "imputation_rate",
}


def read_statcan(path: Path) -> Parsed[StatcanRow]:
    """Statistics Canada table 13-10-0871-01 (long format): one row per month, place and measure, its
    five published characteristics side by side. STATUS `E` (use with caution) is kept."""
    out: Parsed[StatcanRow] = Parsed()
    cells: dict[tuple[str, str, str], dict[str, float | None]] = {}
    status: dict[tuple[str, str, str], str] = {}
    for line, r, raw in _records(path, STATCAN_COLUMNS):
        out.lines += 1
        kind = _CHARACTERISTICS.get(_clean(r["Characteristics"]))
        if kind is None:
            out.bad.append(
                Bad(line, "Characteristics", QuarantineReason.MALFORMED, "unknown characteristic", raw)
            )
            continue
        month = _clean(r["REF_DATE"])
        try:
            date.fromisoformat(month + "-01")
            value = float(_clean(r["VALUE"])) if _clean(r["VALUE"]) else None
        except ValueError:
            out.bad.append(
                Bad(line, "REF_DATE/VALUE", QuarantineReason.MALFORMED, "not a month or a number", raw)
            )
            continue
        if value is not None and value < 0:
            out.bad.append(Bad(line, "VALUE", QuarantineReason.NEGATIVE_CONCENTRATION, "negative load", raw))
            continue
        key = (month, _clean(r["GEO"]), _clean(r["Measure"]))
        cells.setdefault(key, {})[kind] = value
        if kind == "load":
            status[key] = _clean(r["STATUS"])
    for (month, geo, measure), c in sorted(cells.items()):
        out.rows.append(
            StatcanRow(
                month,
                geo,
                measure,
                c.get("load"),
                c.get("ci_low"),
                c.get("ci_high"),
                c.get("se"),
                c.get("imputation_rate"),
                status.get((month, geo, measure), ""),
            )
        )
    return out


EUDA_FILE = "ww2025-all-data.csv"
SITES_FILE = "ww2025-site-info-table.csv"
STATCAN_FILE = "statcan_13-10-0871-01_wastewater.csv"


def default_data_dir() -> Path:
    """The reference tables' folder: `PINGAN_WASTEWATER_DATA` if set, else `../shared/data/wastewater`
    beside the repository (they are read in place, never copied into the repository)."""
    env = os.environ.get("PINGAN_WASTEWATER_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "wastewater"
