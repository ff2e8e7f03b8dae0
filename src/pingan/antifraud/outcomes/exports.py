"""The monthly report as documents: a self-contained HTML page, XLSX and PDF (headless Chromium).

The page, the XLSX and the PDF show the same figures: all three read one `MonthlyReport`, and the
rates go through the same `rate_text` ("—" when there is no denominator).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from markupsafe import Markup

from pingan.antifraud.outcomes.report import (
    MonthlyReport,
    chart_options,
    rate_text,
    seconds_text,
)
from pingan.core.errors import DomainError
from pingan.core.i18n import _, label
from pingan.core.pages import ECHARTS_JS, PACKAGE_ROOT, TEMPLATES

CHROMIUM = Path("/usr/bin/chromium")
# The script that draws the charts: the page loads it from /static, the document inlines it.
CHARTS_JS = PACKAGE_ROOT / "web" / "static" / "monthly-charts.js"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    # ECharts draws synchronously (SVG, no animation); the budget only bounds a slow machine's load.
    "--virtual-time-budget=10000",
)
PDF_TIMEOUT_S = 120


class PdfUnavailable(DomainError):
    """No headless Chromium to print the PDF with (503)."""

    status: ClassVar[int] = 503
    code: ClassVar[str] = "unavailable"


def page_context(report: MonthlyReport) -> dict[str, Any]:
    """What the page and the document templates read: the report, its charts, and the formatters."""
    return {
        "r": report,
        "o": report.previous_outcomes,
        # JSON inside <script>: every "<" escaped, so no value can close the element.
        "charts_json": Markup(  # noqa: S704 - JSON with "<" escaped, not markup
            json.dumps(chart_options(report), ensure_ascii=False).replace("<", "\\u003c")
        ),
        "rate_text": rate_text,
        "seconds_text": seconds_text,
    }


def document_html(report: MonthlyReport) -> str:
    """The report as one self-contained HTML file (ECharts inlined), for the command's folder and the PDF."""
    script = ECHARTS_JS.read_text(encoding="utf-8") if ECHARTS_JS.exists() else ""
    template = TEMPLATES.env.get_template("risk_monthly_document.html")
    drawing = CHARTS_JS.read_text(encoding="utf-8")
    return template.render(
        echarts_inline=Markup(script.replace("</script", "<\\/script")),  # noqa: S704 - vendored ECharts
        charts_inline=Markup(drawing),  # noqa: S704 - our own static file
        **page_context(report),
    )


def chromium_path() -> Path | None:
    """Debian's Chromium, or None where it is not installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def pdf_from_html(html: str) -> bytes:
    """Print an HTML document to PDF with headless Chromium (the print stylesheet applies)."""
    browser = chromium_path()
    if browser is None:
        raise PdfUnavailable("no headless Chromium (/usr/bin/chromium) to print the PDF with", field="format")
    with tempfile.TemporaryDirectory(prefix="pingan-pdf-") as tmp:
        doc, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        doc.write_text(html, encoding="utf-8")
        env = {**os.environ, "HOME": tmp}  # Chromium writes its profile under HOME: keep it in the temp dir
        try:
            subprocess.run(  # noqa: S603 - a fixed browser path and fixed flags; the only input is a temp file
                [str(browser), *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
                 f"--print-to-pdf={pdf}", doc.as_uri()],
                check=True, capture_output=True, timeout=PDF_TIMEOUT_S, env=env,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(f"Chromium could not print the PDF: {exc}", field="format") from None
        if not pdf.exists():
            raise PdfUnavailable("Chromium wrote no PDF", field="format")
        return pdf.read_bytes()


def report_pdf(report: MonthlyReport) -> bytes:
    """The monthly report as PDF."""
    return pdf_from_html(document_html(report))


def report_xlsx(report: MonthlyReport) -> bytes:
    """The monthly report as an XLSX workbook: the figures, the persons, and the per-rule table.

    Counts and amounts are numbers; a rate is a number formatted as a percentage, or "—" without a
    denominator, as on the page.
    """
    import xlsxwriter  # type: ignore[import-untyped]  # no stubs; used only here

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = book.add_format({"bold": True})
    pct = book.add_format({"num_format": "0.0%"})
    money = book.add_format({"num_format": "¥#,##0.00"})
    o, lat = report.previous_outcomes, report.latency

    def rate(sheet: Any, row: int, col: int, value: float | None) -> None:
        if value is None:
            sheet.write_string(row, col, rate_text(None))
        else:
            sheet.write_number(row, col, value, pct)

    fig = book.add_worksheet(_("Figures"))
    fig.set_column(0, 0, 46)
    fig.set_column(1, 1, 18)
    fig.write_row(0, 0, [_("Monthly fund-flow warning report"), report.month], bold)
    rows: list[tuple[str, Any, str]] = [
        (_("Predicted at-risk persons"), len(report.predicted), "n"),
        (_("of them reached"), report.reached_count, "n"),
        (_("of them recorded, not sent"), report.recorded_only_count, "n"),
        (_("Outcome of the list of"), report.previous_month, "s"),
        (_("Warned (reached)"), o.warned, "n"),
        (_("Warned and victimised"), o.warned_victimised, "n"),
        (_("Victimisation rate, warned"), o.victimisation_rate_warned, "rate"),
        (_("Flagged, not reached"), o.unreached, "n"),
        (_("Not reached and victimised"), o.unreached_victimised, "n"),
        (_("Victimisation rate, not reached"), o.victimisation_rate_unreached, "rate"),
        (_("Loss prevented (estimate), yuan"), o.loss_prevented_estimate_fen, "money"),
        (_("Transfer to risk event p50 (s), live screening"), lat.p50_s, "sec"),
        (_("Transfer to risk event p95 (s), live screening"), lat.p95_s, "sec"),
        (_("Risk events counted for latency"), lat.count, "n"),
        (_("Risk events not counted for latency"), lat.not_counted, "n"),
    ]
    for i, (name, value, kind) in enumerate(rows, start=2):
        fig.write_string(i, 0, name)
        if kind == "rate":
            rate(fig, i, 1, value)
        elif value is None:
            fig.write_string(i, 1, rate_text(None))
        elif kind == "money":
            fig.write_number(i, 1, value / 100, money)
        elif kind == "s":
            fig.write_string(i, 1, str(value))
        else:
            fig.write_number(i, 1, value)
    fig.write_string(len(rows) + 3, 0, _(o.caveat))
    fig.write_string(len(rows) + 4, 0, _(o.loss_caveat))

    people = book.add_worksheet(_("Persons"))
    people.write_row(
        0, 0,
        [_("Person"), _("Plans"), _("Amount at risk, yuan"), _("Reasons"), _("Typology guess"),
         _("Elderly"), _("Reach"), _("Why")],
        bold,
    )  # fmt: skip
    for i, p in enumerate(report.predicted, start=1):
        people.write_string(i, 0, p["person"])
        people.write_number(i, 1, p["plans"])
        people.write_number(i, 2, p["amount_at_risk_fen"] / 100, money)
        people.write_string(i, 3, ", ".join(p["reasons"]))
        people.write_string(i, 4, p["typology_guess"] or "")
        people.write_string(i, 5, _("yes") if p["elderly"] else "")
        people.write_string(i, 6, label(p["reach"]))
        people.write_string(i, 7, ", ".join(p["reach_reasons"]))

    per_rule = book.add_worksheet(_("Per rule"))
    per_rule.write_row(0, 0, [_("Rule"), _("Events"), _("Confirmed"), _("Precision")], bold)
    for i, (rule, v) in enumerate(report.per_rule.items(), start=1):
        per_rule.write_string(i, 0, rule)
        per_rule.write_number(i, 1, v["events"])
        per_rule.write_number(i, 2, v["confirmed"])
        per_rule.write_number(i, 3, v["precision"], pct)

    days = book.add_worksheet(_("Per day"))
    days.write_row(0, 0, [_("Day"), _("Risk events")], bold)
    for i, (day, n) in enumerate(report.events_per_day, start=1):
        days.write_string(i, 0, day)
        days.write_number(i, 1, n)
    book.close()
    return buf.getvalue()
