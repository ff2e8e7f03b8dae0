"""The wastewater bulletin: one row per site and residue (lab data) and per place and measure
(Statistics Canada), with the last value, its uncertainty, the test and the flags. Aggregates only."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from sqlalchemy.orm import Session

from pingan.core.i18n import N_
from pingan.narcotics import queries

COLUMNS = (
    ("scope", N_("Scope")),
    ("place", N_("Sewershed or place")),
    ("residue", N_("Residue or measure")),
    ("period", N_("Latest period")),
    ("load", N_("Load (mg/day/1000 inhabitants)")),
    ("ci_low", N_("95% CI low")),
    ("ci_high", N_("95% CI high")),
    ("baseline", N_("Baseline")),
    ("test", N_("Test")),
    ("p", N_("p-value")),
    ("rise", N_("Significant rise")),
    ("flags", N_("Dumping flags")),
)


@dataclass(frozen=True)
class Row:
    scope: str
    place: str
    residue: str
    period: str
    load: float | None
    ci_low: float | None
    ci_high: float | None
    baseline: float | None
    test: str
    p: float | None
    rise: bool
    flags: str

    def values(self) -> list[object]:
        return [getattr(self, k) for k, _ in COLUMNS]


def rows(session: Session, *, today: date) -> list[Row]:
    """The bulletin's rows from the stored lab results and the stored Statistics Canada table."""
    out: list[Row] = []
    for s in queries.sites(session):
        if not s.samples:
            continue
        points = queries.site_loads(session, s.code)
        a = queries.analyse(points, until=today)
        for r in a.rises:
            last = max((p for p in points if p.metabolite.value == r.metabolite), key=lambda p: p.day)
            flags = [f for f in a.flags if f.metabolite == r.metabolite]
            out.append(
                Row(
                    "site",
                    f"{s.city} ({s.code})",
                    r.metabolite,
                    last.day.isoformat(),
                    round(last.load.value, 2),
                    None,
                    None,
                    round(r.baseline_median, 2) if r.baseline_median == r.baseline_median else None,
                    "Mann-Whitney U, last 28 days vs earlier",
                    r.p,
                    r.rising,
                    "; ".join(f"{f.day}: {', '.join(f.reasons)}" for f in flags),
                )
            )
    tests, _ = queries.statcan_rises(session)
    latest: dict[tuple[str, str], object] = {}
    for t in tests:
        latest[(t.geo, t.measure)] = t
    stored = {(r.geo, r.measure, r.month): r for r in queries.statcan_rows(session)}
    for t in tests:
        if latest[(t.geo, t.measure)] is not t:
            continue
        src = stored.get((t.geo, t.measure, t.rise.month))
        out.append(
            Row(
                "statcan",
                t.geo,
                t.measure,
                t.rise.month,
                t.rise.load,
                src.ci_low if src else None,
                src.ci_high if src else None,
                t.rise.baseline,
                f"z vs {t.rise.baseline_month}, Benjamini-Hochberg q=0.05",
                t.rise.p,
                t.rise.significant,
                "",
            )
        )
    return out


def to_csv(rows: list[Row]) -> bytes:
    """UTF-8 CSV with a BOM (Excel reads the Chinese headings), headings as msgids."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([k for k, _ in COLUMNS])
    for r in rows:
        w.writerow(["" if v is None else v for v in r.values()])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[Row]) -> bytes:
    """The same rows as one XLSX sheet."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("bulletin")
    ws.append([k for k, _ in COLUMNS])
    for r in rows:
        ws.append(r.values())
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
