"""The monthly 资金预警 report: this month's predicted at-risk persons, last month's outcomes, and charts.

Months are the district's (`PINGAN_TIMEZONE`, Beijing time by default): March runs from 1 March 00:00 +08:00 to 1 April 00:00 +08:00.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.outcomes.choices import PersonReach
from pingan.antifraud.outcomes.model import WarningOutcome
from pingan.antifraud.outcomes.rules import (
    LatencyFigures,
    OutcomeFigures,
    OutcomeRow,
    latency_figures,
    outcome_figures,
    plan_reach,
    rule_precision,
)
from pingan.antifraud.risk import queries as risk_queries
from pingan.core.errors import Invalid
from pingan.core.i18n import _
from pingan.core.pages import district_zone

NO_FIGURE = "—"  # what a figure without a denominator (or without data) shows, never "None"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month given as YYYY-MM, in the district's time, returned in UTC."""
    try:
        start = datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=district_zone())
    except ValueError:
        raise Invalid("a month is written YYYY-MM", field="month") from None
    if not 2000 <= start.year <= 2100:
        raise Invalid("a month lies in 2000-2100", field="month")
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_month(month: str) -> str:
    """The month before YYYY-MM."""
    start, _end = month_bounds(month)
    start = start.astimezone(district_zone())
    return f"{start.year - 1}-12" if start.month == 1 else f"{start.year}-{start.month - 1:02d}"


def month_of(at: datetime) -> str:
    """YYYY-MM of a UTC-aware time, in the district's calendar."""
    local = at.astimezone(district_zone())
    return f"{local.year}-{local.month:02d}"


def latest_month_with_data(session: Session, *, now: datetime) -> str:
    """The month of the latest risk event or plan; this month when there is none yet."""
    latest = risk_queries.latest_activity_at(session)
    return month_of(latest if latest is not None else now)


def rate_text(rate: float | None) -> str:
    """A rate as a percentage with one decimal; "—" when it has no denominator."""
    return NO_FIGURE if rate is None else f"{rate * 100:.1f}%"


def seconds_text(seconds: float | None) -> str:
    """A duration in seconds as the report shows it; "—" when there is none."""
    return NO_FIGURE if seconds is None else f"{seconds:,.3f}"


def yuan_text(fen: int | None) -> str:
    """An amount in fen as yuan (¥1,234.56); "—" when there is none."""
    if fen is None:
        return NO_FIGURE
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{'-' if fen < 0 else ''}¥{whole:,}.{cents:02d}"


@dataclass
class MonthlyReport:
    """What the report shows; every figure with its definition."""

    month: str
    predicted: list[dict[str, Any]]
    previous_month: str
    previous_outcomes: OutcomeFigures
    per_rule: dict[str, dict[str, float | int]]
    latency: LatencyFigures
    events_per_day: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """JSON-able form (a figure without a denominator is null)."""
        d = asdict(self)
        d["previous_outcomes"] = asdict(self.previous_outcomes)
        d["latency"] = asdict(self.latency)
        d["predicted"] = [{**p, "reach": str(p["reach"])} for p in self.predicted]
        return d

    @property
    def reached_count(self) -> int:
        """This month's persons whose warnings reached them."""
        return sum(1 for p in self.predicted if p["reach"] is PersonReach.REACHED)

    @property
    def recorded_only_count(self) -> int:
        """This month's persons whose warnings the outbox only recorded."""
        return sum(1 for p in self.predicted if p["reach"] is PersonReach.RECORDED_NOT_SENT)


def build_monthly(session: Session, month: str) -> MonthlyReport:
    """Assemble the report for YYYY-MM from plans, risk events and outcomes. Read-only."""
    start, end = month_bounds(month)
    plans = risk_queries.plans_created_in(session, start, end)
    steps = risk_queries.step_states(session, (p.id for p in plans))
    by_person: dict[str, dict[str, Any]] = {}
    for p in plans:
        row = by_person.setdefault(
            p.person_key,
            {"person": p.person_key[:12], "plans": 0, "amount_at_risk_fen": 0, "reasons": set(), "typology_guess": p.typology_guess,
             "elderly": p.elderly, "reached": False, "recorded_only": True, "reach_reasons": set(), "home_station": p.home_station},
        )  # fmt: skip
        reach = plan_reach(steps.get(p.id, []))
        row["plans"] += 1
        row["amount_at_risk_fen"] = max(row["amount_at_risk_fen"], p.amount_at_risk_fen)
        row["reasons"] |= set(json.loads(p.reasons))
        row["reached"] = row["reached"] or reach.reached
        row["recorded_only"] = row["recorded_only"] and reach.recorded_only
        row["reach_reasons"] |= set(reach.reasons)
    predicted = sorted(
        (
            {
                **{k: v for k, v in r.items() if k not in ("recorded_only",)},
                "reasons": sorted(r["reasons"]),
                "reach_reasons": sorted(r["reach_reasons"]),
                "reach": PersonReach.REACHED
                if r["reached"]
                else PersonReach.RECORDED_NOT_SENT
                if r["recorded_only"]
                else PersonReach.NOT_REACHED,
            }
            for r in by_person.values()
        ),
        key=lambda r: -int(r["amount_at_risk_fen"]),
    )
    prev = previous_month(month)
    p_start, p_end = month_bounds(prev)
    outcomes = session.execute(
        select(WarningOutcome).where(WarningOutcome.flagged_at >= p_start, WarningOutcome.flagged_at < p_end)
    ).scalars()
    figures = outcome_figures(
        [
            OutcomeRow(o.reached, o.later_report or o.later_listed_transfers > 0, o.amount_at_risk_fen)
            for o in outcomes
        ]
    )
    evs = risk_queries.events_in(session, start, end)
    reported = set(
        session.execute(
            select(WarningOutcome.person_key).where(WarningOutcome.later_report.is_(True))
        ).scalars()
    )
    per_rule = rule_precision([(json.loads(r), person in reported) for r, person, _o, _d, _e in evs])
    latency = latency_figures((engine, o, d) for _r, _p, o, d, engine in evs)
    days = Counter(o.astimezone(district_zone()).date().isoformat() for _r, _p, o, _d, _e in evs)
    return MonthlyReport(month, predicted, prev, figures, per_rule, latency, sorted(days.items()))


def chart_options(report: MonthlyReport) -> dict[str, dict[str, Any]]:
    """The report's charts as Apache ECharts options, by name: the page embeds them as JSON.

    Animation is off and the renderer is SVG (set by the page), so a chart is drawn when the script
    runs: headless Chromium prints it into the PDF without waiting on a timer.
    """
    f = report.previous_outcomes
    rules = list(report.per_rule)
    base: dict[str, Any] = {"animation": False, "grid": {"containLabel": True, "left": 8, "right": 16}}
    return {
        "events_per_day": {
            **base,
            "title": {"text": _("Risk events per day") + f" · {report.month}"},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [d[5:] for d, _n in report.events_per_day]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"type": "bar", "name": _("risk events"), "data": [n for _d, n in report.events_per_day]}
            ],
        },
        "victimisation": {
            **base,
            "title": {
                "text": _("Victimisation within 30 days") + f" · {report.previous_month}",
                "subtext": _("Observational comparison, not a causal effect"),
            },
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [_("warned (reached)"), _("flagged, not reached")]},
            "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
            "series": [
                {
                    "type": "bar",
                    "name": _("victimisation rate"),
                    # No denominator, no bar: a missing rate is not a rate of 0.
                    "data": [
                        None if r is None else round(r * 100, 2)
                        for r in (f.victimisation_rate_warned, f.victimisation_rate_unreached)
                    ],
                }
            ],
        },
        "per_rule": {
            **base,
            "title": {"text": _("Risk events per rule")},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "value", "minInterval": 1},
            "yAxis": {"type": "category", "data": rules},
            "series": [
                {
                    "type": "bar",
                    "name": _("risk events"),
                    "data": [report.per_rule[r]["events"] for r in rules],
                }
            ],
        },
    }


def charts(report: MonthlyReport) -> dict[str, bytes]:
    """The report's charts as PNG bytes, by name, for the command's folder (the page draws ECharts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    # Chinese titles need a CJK font; without one (fonts-noto-cjk missing) matplotlib draws boxes.
    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    plt.rcParams["font.family"] = [*cjk[:1], "sans-serif"]
    out: dict[str, bytes] = {}

    def save(name: str, fig: Any) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()

    options = chart_options(report)
    for name, option in options.items():
        title = option["title"]["text"]
        series = option["series"][0]["data"]
        fig, ax = plt.subplots(figsize=(7, 2.8))
        if name == "per_rule":
            ax.barh(option["yAxis"]["data"], series, color="#36c")
        else:
            values = [v or 0 for v in series]
            ax.bar(option["xAxis"]["data"], values, color="#b22" if name == "events_per_day" else "#2a7")
            ax.tick_params(axis="x", labelrotation=90 if name == "events_per_day" else 0, labelsize=7)
        subtitle = option["title"].get("subtext")
        ax.set_title(f"{title}\n{subtitle}" if subtitle else title, fontsize=9)
        save(name, fig)
    return out


def summary_lines(report: MonthlyReport) -> list[str]:
    """The report's headline figures as lines of text, for the command's output."""
    o, lat = report.previous_outcomes, report.latency
    return [
        f"{_('Month')}: {report.month}",
        f"{_('Predicted at-risk persons')}: {len(report.predicted)} "
        f"({_('reached')} {report.reached_count}, {_('recorded, not sent')} {report.recorded_only_count})",
        f"{_('Outcome of the list of')} {report.previous_month}: "
        f"{_('warned (reached)')} {o.warned}, {_('victimisation rate')} {rate_text(o.victimisation_rate_warned)}; "
        f"{_('flagged, not reached')} {o.unreached}, {_('victimisation rate')} "
        f"{rate_text(o.victimisation_rate_unreached)}",
        f"{_('Loss prevented (estimate)')}: {yuan_text(o.loss_prevented_estimate_fen)}",
        f"{_('Transfer to risk event, live screening')}: p50 {seconds_text(lat.p50_s)} s, "
        f"p95 {seconds_text(lat.p95_s)} s ({lat.count}; {_('not counted')} {lat.not_counted})",
    ]


def write_monthly(report: MonthlyReport, out_dir: Path, *, html: str) -> list[Path]:
    """Write report.html (given, rendered by the caller), report.json and the PNG charts under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, png in charts(report).items():
        p = out_dir / f"{name}.png"
        p.write_bytes(png)
        paths.append(p)
    (out_dir / "report.html").write_text(html, encoding="utf-8")
    (out_dir / "report.json").write_text(
        json.dumps(report.as_json(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return [out_dir / "report.html", out_dir / "report.json", *paths]
