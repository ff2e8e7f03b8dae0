"""The weekly 110 bulletin (周通报) as files: a PDF to print and send to the station, and an XLSX to
compute with. Both hold what the bulletin page shows: the week's bounds in Beijing time, the number of
incidents, the three shares within target and the slowest units. Headings are in the reader's
language (Chinese first); the figures are `queries.station_bulletin`'s, written as numbers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from pingan.command import queries, rules
from pingan.core.i18n import N_, _
from pingan.core.pages import beijing_time, zone_name
from pingan.core.pdf import FAMILY, draw_table, paragraph, titled_document

# The share rows, in the page's order and with the page's headings.
SHARES = (
    ("sign_off", N_("Signed off within 30 s")),
    ("on_scene", N_("On scene within 5 min (urban) / 10 min (suburban)")),
    ("feedback", N_("Feedback within 30 min")),
)
MEAN_MINUTES = N_("Mean minutes, assigned to on scene")


@dataclass(frozen=True)
class BulletinFile:
    """A station's bulletin for one week, with what its files name: the station and the week's bounds."""

    station_code: str
    station_name: str
    week_start: date
    bulletin: rules.Bulletin
    made_at: datetime

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The week's UTC instants: Monday 00:00 to the next Monday 00:00, Beijing time."""
        return queries.week_bounds(self.week_start)

    def title(self) -> str:
        """The document's title: the station's name and the bulletin's."""
        return f"{self.station_name} · {_('Weekly 110 bulletin')}"

    def week_text(self) -> str:
        """The week as the files print it: `2026-11-30 00:00 – 2026-12-07 00:00 北京时间`."""
        start, end = self.bounds
        return f"{beijing_time(start, zone=False)} – {beijing_time(end, zone=False)} {zone_name(start)}"

    def shares(self) -> list[tuple[str, rules.Share]]:
        """The three shares with their headings, in the page's order."""
        return [(_(heading), getattr(self.bulletin, name)) for name, heading in SHARES]

    def filename(self, ext: str) -> str:
        """`bulletin-WH-YL-2026-11-30.pdf`."""
        return f"bulletin-{self.station_code}-{self.week_start.isoformat()}.{ext}"


def _percent_text(share: rules.Share) -> str:
    return f"{share.percent:.1f}" if share.percent is not None else "—"


def bulletin_xlsx(doc: BulletinFile) -> bytes:
    """The bulletin as one sheet: the title and week, the share table, the slowest units. Counts and
    percentages are numbers; a share with nothing counted has an empty percentage cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = _("Weekly 110 bulletin")[:31]
    bold = Font(bold=True)
    sheet.append([doc.title()])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Station"), doc.station_code, doc.station_name])
    sheet.append([_("Week"), doc.week_text()])
    sheet.append([_("Incidents received"), doc.bulletin.incidents])
    sheet.append([])
    sheet.append([_("Target"), _("Within"), _("Counted"), _("Percent")])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for heading, share in doc.shares():
        sheet.append([heading, share.within, share.total, share.percent])
        sheet.cell(row=sheet.max_row, column=4).number_format = "0.0"
    sheet.append([])
    sheet.append([_("Slowest units (assigned to on scene)")])
    sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.append([_("Rank"), _("Unit"), _(MEAN_MINUTES), _("Responses")])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for rank, unit in enumerate(doc.bulletin.slowest_units, start=1):
        sheet.append([rank, unit.call_sign, round(unit.mean_s / 60, 1), unit.responses])
    if not doc.bulletin.slowest_units:
        sheet.append([_("none")])
    sheet.append([])
    sheet.append([_("Made at"), beijing_time(doc.made_at, "%Y-%m-%d %H:%M:%S")])
    sheet.column_dimensions["A"].width = 46
    for column in "BCD":
        sheet.column_dimensions[column].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bulletin_pdf(doc: BulletinFile) -> bytes:
    """The bulletin as an A4 page in the system's CJK font (`core.pdf`); 503 when none is installed."""
    pdf = titled_document(doc.title())
    paragraph(pdf, f"{_('Week')}: {doc.week_text()}", size=11, height=7)
    paragraph(pdf, f"{_('Incidents received')}: {doc.bulletin.incidents}", size=11, height=7)
    pdf.ln(3)
    draw_table(
        pdf,
        [_("Target"), _("Within"), _("Counted"), _("Percent")],
        [
            [heading, str(share.within), str(share.total), _percent_text(share)]
            for heading, share in doc.shares()
        ],
        col_widths=(52, 16, 16, 16),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=7,
    )
    pdf.ln(4)
    paragraph(pdf, _("Slowest units (assigned to on scene)"), size=13, height=8)
    pdf.set_font(FAMILY, size=11)
    if doc.bulletin.slowest_units:
        draw_table(
            pdf,
            [_("Rank"), _("Unit"), _(MEAN_MINUTES), _("Responses")],
            [
                [str(rank), unit.call_sign, f"{unit.mean_s / 60:.1f}", str(unit.responses)]
                for rank, unit in enumerate(doc.bulletin.slowest_units, start=1)
            ],
            col_widths=(10, 30, 40, 20),
            text_align=("RIGHT", "LEFT", "RIGHT", "RIGHT"),
            line_height=7,
        )
    else:
        paragraph(pdf, _("none"), size=11, height=7)
    pdf.ln(4)
    paragraph(
        pdf,
        f"{_('Made at')}: {beijing_time(doc.made_at, '%Y-%m-%d %H:%M:%S')} · "
        + _("Targets come from the settings (PINGAN_COMMAND_*); the times from each incident's event log."),
        size=9,
        height=5,
    )
    return bytes(pdf.output())
