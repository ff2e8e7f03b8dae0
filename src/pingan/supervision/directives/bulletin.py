"""The monthly directives bulletin (指令通报): directives per station in the month against the same
month a year before, the answers on time and the minutes spent, and the year's directives month by
month against the year before. As a page with ECharts charts, an XLSX and a PDF (`core.pdf`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pingan.core.i18n import _
from pingan.core.org import all_stations
from pingan.core.pages import beijing_time
from pingan.core.pdf import FAMILY, draw_table, paragraph, titled_document
from pingan.supervision.directives import queries, rules


@dataclass(frozen=True)
class Bulletin:
    """One month's directives bulletin."""

    year: int
    month: int
    stations: list[queries.StationMonth]
    names: dict[str, str]
    this_year: list[int]
    last_year: list[int]
    made_at: datetime

    @property
    def month_text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def month_yoy(self) -> rules.YearOverYear:
        """The month's directives against the same month a year before (counted once per directive)."""
        return rules.YearOverYear(self.this_year[self.month - 1], self.last_year[self.month - 1])

    @property
    def year_to_date(self) -> rules.YearOverYear:
        """January to the bulletin month, against the same months a year before."""
        return rules.YearOverYear(sum(self.this_year[: self.month]), sum(self.last_year[: self.month]))

    def station_name(self, code: str) -> str:
        return self.names.get(code, code)

    def charts(self) -> dict[str, Any]:
        """The ECharts options of the page: directives per station (this month and a year before) and
        directives per month, this year against last."""
        names = [self.station_name(s.station_code) for s in self.stations]
        return {
            "per_station": {
                "animation": False,
                "title": {"text": _("Directives per station"), "textStyle": {"fontSize": 13}},
                "tooltip": {"trigger": "axis"},
                "legend": {"top": 24},
                "grid": {"left": 40, "right": 10, "top": 60, "bottom": 60, "containLabel": True},
                "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30}},
                "yAxis": {"type": "value", "minInterval": 1},
                "series": [
                    {
                        "name": str(self.year - 1),
                        "type": "bar",
                        "data": [s.previous_year for s in self.stations],
                    },
                    {"name": str(self.year), "type": "bar", "data": [s.directives for s in self.stations]},
                ],
            },
            "year_over_year": {
                "animation": False,
                "title": {"text": _("Directives by month, year over year"), "textStyle": {"fontSize": 13}},
                "tooltip": {"trigger": "axis"},
                "legend": {"top": 24},
                "grid": {"left": 40, "right": 10, "top": 60, "bottom": 30},
                "xAxis": {"type": "category", "data": [str(m) for m in range(1, 13)]},
                "yAxis": {"type": "value", "minInterval": 1},
                "series": [
                    {
                        "name": str(self.year - 1),
                        "type": "line",
                        "data": self.last_year,
                        "lineStyle": {"type": "dashed"},
                    },
                    {"name": str(self.year), "type": "line", "data": self.this_year[: self.month]},
                ],
            },
        }


def build(session: Session, year: int, month: int, *, now: datetime) -> Bulletin:
    """The bulletin of the Beijing month `year-month`, read at `now`."""
    return Bulletin(
        year,
        month,
        queries.station_month(session, year, month),
        {s.code: s.name for s in all_stations(session)},
        queries.monthly_counts(session, year),
        queries.monthly_counts(session, year - 1),
        now,
    )


def _change(y: rules.YearOverYear) -> str:
    return "—" if y.change_percent is None else f"{y.change_percent:+.1f}%"


def headings() -> list[str]:
    """The station table's headings, in the reader's language."""
    return [
        _("Station"),
        _("Directives"),
        _("A year before"),
        _("Answered"),
        _("On time"),
        _("Minutes spent"),
    ]


def station_rows(b: Bulletin) -> list[list[object]]:
    return [
        [
            b.station_name(s.station_code),
            s.directives,
            s.previous_year,
            s.answered,
            s.on_time,
            s.minutes_spent,
        ]
        for s in b.stations
    ]


def to_xlsx(b: Bulletin) -> bytes:
    """The bulletin as one sheet: the month and year to date against a year before, then the stations."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = _("Directives bulletin")[:31]
    sheet.append([_("Monthly directives bulletin"), b.month_text])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Period"), _("Directives"), _("A year before"), _("Change in percent")])
    for label_text, y in ((_("This month"), b.month_yoy), (_("Year to date"), b.year_to_date)):
        sheet.append([label_text, y.this, y.last, y.change_percent])
    sheet.append([])
    sheet.append(headings())
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in station_rows(b):
        sheet.append(row)
    sheet.append([])
    sheet.append([_("Made at"), beijing_time(b.made_at, "%Y-%m-%d %H:%M:%S")])
    sheet.column_dimensions["A"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(b: Bulletin) -> bytes:
    """The bulletin as A4 pages in the system's CJK font (`core.pdf`; 503 when none is installed)."""
    pdf = titled_document(f"{_('Monthly directives bulletin')} {b.month_text}")
    pdf.set_font(FAMILY, size=10)
    draw_table(
        pdf,
        [_("Period"), _("Directives"), _("A year before"), _("Change in percent")],
        [
            [label_text, str(y.this), str(y.last), _change(y)]
            for label_text, y in ((_("This month"), b.month_yoy), (_("Year to date"), b.year_to_date))
        ],
    )
    pdf.ln(3)
    draw_table(pdf, headings(), [[str(v) for v in row] for row in station_rows(b)])
    pdf.ln(2)
    paragraph(pdf, f"{_('Made at')}: {beijing_time(b.made_at, '%Y-%m-%d %H:%M:%S')}", size=9, height=5)
    return bytes(pdf.output())
