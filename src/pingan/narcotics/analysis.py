"""The analyses over whole tables, pure: the EUDA means check and the Statistics Canada rises.

They take the rows the readers (`imports`) return, so the benchmark runs them on the files and the
pages on the stored tables alike.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pingan.narcotics import rules
from pingan.narcotics.choices import EudaVerdict
from pingan.narcotics.imports import EudaRow, StatcanRow

MEANS = rules.MEANS
# The verdicts that say the published table is inconsistent with its own day values.
PUBLISHER_INCONSISTENT = (
    EudaVerdict.DAYS_ONE_COLUMN_OFF,
    EudaVerdict.BLANK_DAY,
    EudaVerdict.NOT_DERIVABLE,
)


@dataclass(frozen=True)
class EudaCell:
    """One stored mean not reproduced exactly, with its row's printed values and the reason."""

    line: int
    site: str
    year: int
    metabolite: str
    mean: str
    days: tuple[Decimal | None, ...]  # in the table's column order, Wednesday to Tuesday
    stored: Decimal
    recomputed: Decimal
    verdict: EudaVerdict
    reason: str


@dataclass
class EudaCheck:
    """Per mean and verdict, how many stored means compare how; every cell not exact, with its reason."""

    rows: int = 0
    sites: int = 0
    verdicts: dict[str, Counter[EudaVerdict]] = field(default_factory=dict)
    cells: list[EudaCell] = field(default_factory=list)

    def count(self, verdict: EudaVerdict) -> int:
        return sum(c[verdict] for c in self.verdicts.values())

    @property
    def compared(self) -> int:
        """Stored means with at least one printed day in their set: the cells that can be recomputed."""
        return sum(self.count(v) for v in EudaVerdict if v is not EudaVerdict.ABSENT)

    @property
    def exact_share(self) -> float | None:
        """Cells reproduced exactly ÷ cells compared."""
        return self.count(EudaVerdict.EXACT) / self.compared if self.compared else None

    def by_verdict(self, verdict: EudaVerdict) -> list[EudaCell]:
        return [c for c in self.cells if c.verdict is verdict]

    @property
    def inconsistent(self) -> list[EudaCell]:
        """The cells the printed day values cannot give: the publisher's table disagrees with itself."""
        return [c for c in self.cells if c.verdict in PUBLISHER_INCONSISTENT]


def check_euda(rows: Sequence[EudaRow], *, naive: bool = False) -> EudaCheck:
    """Recompute every row's three means from its day values and compare with the stored ones."""
    out = EudaCheck(rows=len(rows), sites=len({r.site for r in rows}), verdicts={m: Counter() for m in MEANS})
    for r in rows:
        stored = {"weekday": r.weekday_mean, "weekend": r.weekend_mean, "daily": r.daily_mean}
        got = rules.check_euda_means(r.year, r.days, stored, naive=naive)
        ours = {"weekday": got.weekday, "weekend": got.weekend, "daily": got.daily}
        for m, v in got.verdicts.items():
            out.verdicts[m][v] += 1
            s, o = stored[m], ours[m]
            if v in (EudaVerdict.EXACT, EudaVerdict.ABSENT) or s is None or o is None:
                continue
            out.cells.append(
                EudaCell(
                    line=r.line,
                    site=r.site,
                    year=r.year,
                    metabolite=r.metabolite,
                    mean=m,
                    days=tuple(r.days.get(d) for d in rules.COLUMN_ORDER),
                    stored=s,
                    recomputed=o,
                    verdict=v,
                    reason=got.reasons[m],
                )
            )
    return out


def statcan_series(rows: Sequence[StatcanRow]) -> dict[tuple[str, str], list[rules.MonthlyPoint]]:
    """(place, measure) → its months with a load and a standard error (published, else from the CI)."""
    out: dict[tuple[str, str], list[rules.MonthlyPoint]] = {}
    for r in rows:
        if r.load is None:
            continue
        se = r.se
        if se is None and r.ci_low is not None and r.ci_high is not None:
            se = rules.se_from_ci(r.ci_low, r.ci_high)
        if se is None:
            continue
        out.setdefault((r.geo, r.measure), []).append(rules.MonthlyPoint(r.month, r.load, se))
    return out


@dataclass(frozen=True)
class SeriesRise:
    geo: str
    measure: str
    rise: rules.MonthlyRise


def statcan_rises(rows: Sequence[StatcanRow], q: float = 0.05) -> tuple[list[SeriesRise], int]:
    """Every year-over-year test of every series, Benjamini-Hochberg over all of them together;
    returns the tests (with `significant` set) and how many were run."""
    tests: list[tuple[str, str, rules.MonthlyRise]] = []
    for (geo, measure), pts in sorted(statcan_series(rows).items()):
        tests += [(geo, measure, t) for t in rules.year_over_year(pts)]
    flagged = rules.flag_rises([t for _, _, t in tests], q)
    return [SeriesRise(g, m, f) for (g, m, _), f in zip(tests, flagged, strict=True)], len(tests)


REPORT_COLUMNS = (
    "site",
    "year",
    "metabolite",
    "mean",
    *rules.COLUMN_ORDER,
    "published",
    "recomputed",
    "verdict",
    "reason",
)


def euda_report_csv(check: EudaCheck) -> str:
    """Every stored mean not reproduced exactly, one CSV row each: the row's printed day values (in the
    table's order, blank where the table is), the published and recomputed mean, verdict and reason."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REPORT_COLUMNS)
    for c in check.cells:
        w.writerow(
            [
                c.site,
                c.year,
                c.metabolite,
                c.mean,
                *("" if d is None else str(d) for d in c.days),
                str(c.stored),
                str(c.recomputed),
                c.verdict.value,
                c.reason,
            ]
        )
    return buf.getvalue()
