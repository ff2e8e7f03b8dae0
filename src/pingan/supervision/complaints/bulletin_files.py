"""The monthly complaints bulletin (信访投诉月度通报) as files: a PDF to print (`core.pdf`, in the
system's CJK font) and an XLSX to compute with. Both hold what the bulletin page shows, from the same
`queries.bulletin`: complaints against a year before, the substantiated, repeat and satisfaction
shares each with its sample and 95% interval, the breaches, the root causes and channels, the
satisfaction per station, and the month's 110 call-backs (`callbacks.queries.month_figures`: call-back,
reach and satisfaction rates, and the satisfaction per station, each with its sample and interval).
Percentages are written as numbers with one decimal."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from pingan.core.i18n import N_, _, label
from pingan.core.pages import beijing_time
from pingan.core.pdf import FAMILY, draw_table, paragraph, titled_document
from pingan.supervision.callbacks.queries import MonthFigures
from pingan.supervision.complaints import queries, rules
from pingan.supervision.complaints.choices import Channel, RootCause

# The share rows, in the page's order and with the page's headings.
SHARES = (
    ("substantiated", N_("Substantiated, in whole or in part")),
    ("repeats", N_("Repeats of a matter")),
    ("satisfaction", N_("Satisfied at call-back")),
)


# The 110 call-back rows (`callbacks.rules.Figures`), with the page's headings.
CALLBACK_SHARES = (
    ("callback_rate", N_("110 call-backs made among closed incidents")),
    ("reach_rate", N_("Callers reached among call-backs made")),
    ("satisfaction", N_("Satisfied among callers reached")),
)


@dataclass(frozen=True)
class BulletinFile:
    """One month's complaints bulletin with what its files name: the station names and when it was made."""

    bulletin: queries.Bulletin
    station_names: dict[str, str]
    made_at: datetime
    callbacks: MonthFigures

    def title(self) -> str:
        return _("Monthly complaints bulletin") + " " + self.bulletin.month

    def filename(self, ext: str) -> str:
        """`complaints-bulletin-2026-03.pdf`."""
        return f"complaints-bulletin-{self.bulletin.month}.{ext}"

    def change_percent(self) -> float | None:
        change = self.bulletin.change
        return None if change is None else round(100 * change, 1)

    def shares(self) -> list[tuple[str, rules.Share]]:
        return [(_(heading), getattr(self.bulletin, name)) for name, heading in SHARES]

    def causes(self) -> list[tuple[str, int]]:
        """Complaints by root cause, in the code's order, each cause shown even when none."""
        return [(label(r), self.bulletin.by_root_cause.get(r.value, 0)) for r in RootCause]

    def channels(self) -> list[tuple[str, int]]:
        return [(label(c), self.bulletin.by_channel.get(c.value, 0)) for c in Channel]

    def stations(self) -> list[tuple[str, rules.Share]]:
        return [
            (self.station_names.get(s.station_code, s.station_code), s.share)
            for s in self.bulletin.by_station
        ]

    def callback_shares(self) -> list[tuple[str, rules.Share]]:
        """The month's 110 call-back rate, reach rate and satisfaction, each with its base."""
        f = self.callbacks.figures
        return [(_(heading), getattr(f, name)) for name, heading in CALLBACK_SHARES]

    def callback_stations(self) -> list[tuple[str, int, rules.Share]]:
        """Per station: call-backs made, and the satisfied among the callers reached."""
        return [
            (self.station_names.get(s.station_code, s.station_code), s.figures.called, s.figures.satisfaction)
            for s in self.callbacks.by_station
        ]


def percent(share: rules.Share) -> tuple[float | None, float | None, float | None]:
    """The share, its interval's low and high, in percent with one decimal (None without a sample)."""
    if not share.n or share.point is None:
        return None, None, None
    return round(100 * share.point, 1), round(100 * share.low, 1), round(100 * share.high, 1)


def _text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def share_headings() -> list[str]:
    return [
        _("Figure"),
        _("Count"),
        _("Sample"),
        _("Percent"),
        _("95% interval, low"),
        _("95% interval, high"),
    ]


def callback_station_headings() -> list[str]:
    return [
        _("Station"),
        _("Called back"),
        _("Satisfied"),
        _("Reached"),
        _("Percent"),
        _("95% interval, low"),
        _("95% interval, high"),
    ]


def station_headings() -> list[str]:
    return [
        _("Station"),
        _("Satisfied"),
        _("Reached"),
        _("Percent"),
        _("95% interval, low"),
        _("95% interval, high"),
    ]


def _share_rows(shares: list[tuple[str, rules.Share]]) -> list[list[str]]:
    """Each share as a table row: its name, count, sample, percent and interval, as text."""
    return [[name, str(s.successes), str(s.n), *(_text(v) for v in percent(s))] for name, s in shares]


def to_xlsx(doc: BulletinFile) -> bytes:
    """The bulletin as one sheet; counts and percentages are numbers, a share without a sample has
    empty percentage cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    b = doc.bulletin
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = _("Complaints bulletin")[:31]
    bold = Font(bold=True)

    def heading(cells: list[str]) -> None:
        sheet.append(cells)
        for cell in sheet[sheet.max_row]:
            cell.font = bold

    sheet.append([doc.title()])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Complaints received"), b.received])
    sheet.append([_("A year before"), b.received_last_year])
    sheet.append([_("Change in percent"), doc.change_percent()])
    sheet.append([_("Clocks breached"), b.breaches])
    sheet.append([])
    heading(share_headings())
    for name, share in doc.shares():
        sheet.append([name, share.successes, share.n, *percent(share)])
    sheet.append([])
    heading([_("Root cause"), _("Complaints")])
    for row in doc.causes():
        sheet.append(list(row))
    sheet.append([])
    heading([_("Channel"), _("Complaints")])
    for row in doc.channels():
        sheet.append(list(row))
    sheet.append([])
    heading(station_headings())
    for name, share in doc.stations():
        sheet.append([name, share.successes, share.n, *percent(share)])
    sheet.append([])
    sheet.append([_("110 call-backs")])
    sheet[f"A{sheet.max_row}"].font = bold
    heading(share_headings())
    for name, share in doc.callback_shares():
        sheet.append([name, share.successes, share.n, *percent(share)])
    sheet.append([])
    heading(callback_station_headings())
    for name, called, share in doc.callback_stations():
        sheet.append([name, called, share.successes, share.n, *percent(share)])
    sheet.append([])
    sheet.append([_("Made at"), beijing_time(doc.made_at, "%Y-%m-%d %H:%M:%S")])
    sheet.column_dimensions["A"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(doc: BulletinFile) -> bytes:
    """The bulletin as A4 pages in the system's CJK font (`core.pdf`; 503 when none is installed)."""
    b = doc.bulletin
    pdf = titled_document(doc.title())
    change = doc.change_percent()
    for text in (
        f"{_('Complaints received')}: {b.received}",
        f"{_('A year before')}: {b.received_last_year}",
        f"{_('Change in percent')}: {'—' if change is None else f'{change:+.1f}%'}",
        f"{_('Clocks breached')}: {b.breaches}",
    ):
        paragraph(pdf, text, size=10, height=6)
    pdf.ln(2)
    numbers = ("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
    share_widths = (64, 12, 12, 12, 16, 16)
    draw_table(pdf, share_headings(), _share_rows(doc.shares()), col_widths=share_widths, text_align=numbers)
    pdf.ln(3)
    for heading, rows in ((_("Root cause"), doc.causes()), (_("Channel"), doc.channels())):
        draw_table(
            pdf,
            [heading, _("Complaints")],
            [[name, str(n)] for name, n in rows],
            col_widths=(60, 20),
            text_align=("LEFT", "RIGHT"),
            width=80,
            align="LEFT",
        )
        pdf.ln(3)
    paragraph(pdf, _("Satisfaction per station"), size=12, height=8)
    pdf.set_font(FAMILY, size=10)
    if doc.stations():
        draw_table(
            pdf, station_headings(), _share_rows(doc.stations()), col_widths=share_widths, text_align=numbers
        )
    else:
        paragraph(pdf, _("No call-back this month."), size=10, height=6)
    pdf.ln(3)
    paragraph(pdf, _("110 call-backs"), size=12, height=8)
    pdf.set_font(FAMILY, size=10)
    draw_table(
        pdf, share_headings(), _share_rows(doc.callback_shares()), col_widths=share_widths, text_align=numbers
    )
    pdf.ln(3)
    if doc.callback_stations():
        draw_table(
            pdf,
            callback_station_headings(),
            [
                [name, str(called), str(share.successes), str(share.n), *(_text(v) for v in percent(share))]
                for name, called, share in doc.callback_stations()
            ],
            col_widths=(52, 12, 12, 12, 12, 16, 16),
            text_align=(*numbers, "RIGHT"),
        )
    else:
        paragraph(pdf, _("No 110 call-back this month."), size=10, height=6)
    pdf.ln(2)
    paragraph(
        pdf,
        f"{_('Made at')}: {beijing_time(doc.made_at, '%Y-%m-%d %H:%M:%S')} · "
        + _(
            "Each share with its sample size and its Wilson interval; unreachable call-backs are not counted."
        ),
        size=9,
        height=5,
    )
    return bytes(pdf.output())
