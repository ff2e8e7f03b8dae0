"""The analyses over whole tables, pure: the EUDA means check and the Statistics Canada rises.

They take the rows the readers (`imports`) return, so the benchmark runs them on the files and the
pages on the stored tables alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pingan.narcotics import rules
from pingan.narcotics.imports import EudaRow, StatcanRow

MEANS = ("weekday", "weekend", "daily")


@dataclass
class EudaCheck:
    """Counts per mean of exact matches, differences of one cent (rounding) and mismatches."""

    rows: int = 0
    cities: int = 0
    verdicts: dict[str, Counter[str]] = field(default_factory=dict)
    mismatches: list[dict[str, object]] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(c[verdict] for c in self.verdicts.values())


def check_euda(rows: Sequence[EudaRow], *, naive: bool = False, keep: int = 20) -> EudaCheck:
    """Recompute every row's three means from its day values and compare with the stored ones."""
    out = EudaCheck(
        rows=len(rows), cities=len({r.site for r in rows}), verdicts={m: Counter() for m in MEANS}
    )
    for r in rows:
        stored = {"weekday": r.weekday_mean, "weekend": r.weekend_mean, "daily": r.daily_mean}
        got = rules.check_euda_means(r.year, r.days, stored, naive=naive)
        ours = {"weekday": got.weekday, "weekend": got.weekend, "daily": got.daily}
        for m, v in got.verdicts.items():
            out.verdicts[m][v] += 1
            if v == "mismatch" and len(out.mismatches) < keep:
                out.mismatches.append(
                    {
                        "site": r.site,
                        "year": r.year,
                        "metabolite": r.metabolite,
                        "mean": m,
                        "stored": str(stored[m]),
                        "recomputed": str(ours[m]),
                    }
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
