"""The monthly 资金预警 report: this month's predicted at-risk persons, last month's outcomes, and charts."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.outcomes.model import WarningOutcome
from pingan.antifraud.outcomes.rules import (
    OutcomeFigures,
    OutcomeRow,
    latency_figures,
    outcome_figures,
    rule_precision,
)
from pingan.antifraud.risk import queries as risk_queries
from pingan.core.errors import Invalid


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month given as YYYY-MM, in UTC."""
    try:
        start = datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("a month is written YYYY-MM", field="month") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def previous_month(month: str) -> str:
    """The month before YYYY-MM."""
    start, _ = month_bounds(month)
    return f"{start.year - 1}-12" if start.month == 1 else f"{start.year}-{start.month - 1:02d}"


@dataclass
class MonthlyReport:
    """What the report shows; every figure with its definition."""

    month: str
    predicted: list[dict[str, Any]]
    previous_month: str
    previous_outcomes: OutcomeFigures
    per_rule: dict[str, dict[str, float | int]]
    latency: dict[str, float | int | None]
    events_per_day: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """JSON-able form."""
        d = asdict(self)
        d["previous_outcomes"] = asdict(self.previous_outcomes)
        return d


def build_monthly(session: Session, month: str) -> MonthlyReport:
    """Assemble the report for YYYY-MM from plans, risk events and outcomes. Read-only."""
    start, end = month_bounds(month)
    plans = risk_queries.plans_created_in(session, start, end)
    by_person: dict[str, dict[str, Any]] = {}
    for p in plans:
        row = by_person.setdefault(
            p.person_key,
            {"person": p.person_key[:12], "plans": 0, "amount_at_risk_fen": 0, "reasons": set(), "typology_guess": p.typology_guess,
             "elderly": p.elderly, "reached": False, "home_station": p.home_station},
        )  # fmt: skip
        row["plans"] += 1
        row["amount_at_risk_fen"] = max(row["amount_at_risk_fen"], p.amount_at_risk_fen)
        row["reasons"] |= set(json.loads(p.reasons))
        row["reached"] = row["reached"] or p.first_contact_at is not None
    predicted = sorted(
        ({**r, "reasons": sorted(r["reasons"])} for r in by_person.values()),
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
    per_rule = rule_precision([(json.loads(r), person in reported) for r, person, _, _ in evs])
    latency = latency_figures([(d - o).total_seconds() for _, _, o, d in evs])
    days = Counter(o.date().isoformat() for _, _, o, _ in evs)
    return MonthlyReport(month, predicted, prev, figures, per_rule, latency, sorted(days.items()))


def charts(report: MonthlyReport) -> dict[str, bytes]:
    """The report's charts as PNG bytes, by name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}

    def save(name: str, fig: Any) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()

    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.bar([d[5:] for d, _ in report.events_per_day], [n for _, n in report.events_per_day], color="#b22")
    ax.set_title(f"Risk events per day, {report.month}")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    save("events_per_day", fig)

    f = report.previous_outcomes
    fig, ax = plt.subplots(figsize=(4, 2.6))
    ax.bar(
        ["warned (reached)", "flagged, not reached"],
        [f.victimisation_rate_warned or 0.0, f.victimisation_rate_unreached or 0.0],
        color=["#2a7", "#999"],
    )
    ax.set_title(
        f"Victimisation within 30 days, {report.previous_month}\n(observational, not causal)", fontsize=9
    )
    save("victimisation", fig)

    fig, ax = plt.subplots(figsize=(5, 2.6))
    rules = list(report.per_rule)
    ax.barh(rules, [report.per_rule[r]["events"] for r in rules], color="#36c")
    ax.set_title("Risk events per rule")
    save("per_rule", fig)
    return out


_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>资金预警月报 {{ r.month }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>
</head><body><h1>资金预警月报 Monthly fund-flow warning report — {{ r.month }}</h1>
<h2>Predicted at-risk persons ({{ r.predicted|length }})</h2>
<table><tr><th>person (pseudonym)</th><th>amount at risk (yuan)</th><th>reasons</th><th>typology guess</th><th>elderly</th><th>reached</th></tr>
{% for p in r.predicted %}<tr><td>{{ p.person }}</td><td>{{ '%.2f'|format(p.amount_at_risk_fen/100) }}</td><td>{{ p.reasons|join(', ') }}</td>
<td>{{ p.typology_guess or '' }}</td><td>{{ 'yes' if p.elderly else '' }}</td><td>{{ 'yes' if p.reached else 'no' }}</td></tr>{% endfor %}</table>
<h2>Outcome of {{ r.previous_month }}'s list</h2>
<p>Warned: {{ o.warned }} (victimised {{ o.warned_victimised }}, rate {{ o.victimisation_rate_warned }});
flagged but not reached: {{ o.unreached }} (victimised {{ o.unreached_victimised }}, rate {{ o.victimisation_rate_unreached }}).</p>
<p><em>{{ o.caveat }}</em></p>
<p>Loss prevented (estimate): {{ '%.2f'|format((o.loss_prevented_estimate_fen or 0)/100) }} yuan. <em>{{ o.loss_caveat }}</em></p>
<p>Time from transaction to risk event: p50 {{ r.latency.p50_s }} s, p95 {{ r.latency.p95_s }} s ({{ r.latency.count }} events).</p>
<img src="events_per_day.png" alt="events per day"> <img src="victimisation.png" alt="victimisation"> <img src="per_rule.png" alt="per rule">
<h2>Per-rule statistics</h2><table><tr><th>rule</th><th>events</th><th>confirmed</th><th>precision</th></tr>
{% for k, v in r.per_rule.items() %}<tr><td>{{ k }}</td><td>{{ v.events }}</td><td>{{ v.confirmed }}</td><td>{{ v.precision }}</td></tr>{% endfor %}</table>
</body></html>"""


def write_monthly(report: MonthlyReport, out_dir: Path) -> list[Path]:
    """Write report.html, report.json and the PNG charts under `out_dir`; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, png in charts(report).items():
        p = out_dir / f"{name}.png"
        p.write_bytes(png)
        paths.append(p)
    html = (
        Environment(autoescape=select_autoescape())
        .from_string(_HTML)
        .render(r=report, o=report.previous_outcomes)
    )
    (out_dir / "report.html").write_text(html, encoding="utf-8")
    (out_dir / "report.json").write_text(
        json.dumps(report.as_json(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return [out_dir / "report.html", out_dir / "report.json", *paths]


def current_month(today: date) -> str:
    """YYYY-MM of a date."""
    return f"{today.year}-{today.month:02d}"
