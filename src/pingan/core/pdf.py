"""PDF documents with Chinese text: fpdf2, in the system's CJK font.

No font is shipped with pingan or downloaded: a PDF needs a CJK font installed on the machine
(Debian `fonts-noto-cjk`, which the browser tests need too). The font is looked for at run time:

1. at the known paths of Debian's packages (Noto Sans CJK's Simplified Chinese face first);
2. then through fontconfig (`fc-list :lang=zh-cn`), which finds any other Chinese font installed.

When none is found, making a PDF is refused with 503 naming the package to install. fpdf2 embeds only
the glyphs a document uses, so a bulletin stays a few kilobytes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from pingan.core.errors import Unavailable

FAMILY = "cjk"
NOTO = Path("/usr/share/fonts/opentype/noto")
# (file, face index): Noto Sans CJK is a collection whose third face (index 2) is the Simplified
# Chinese one (SC); WenQuanYi's collections hold Chinese faces first.
KNOWN_FONTS: tuple[tuple[Path, int], ...] = (
    (NOTO / "NotoSansCJK-Regular.ttc", 2),
    (NOTO / "NotoSerifCJK-Regular.ttc", 2),
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"), 0),
)
MISSING = "no Chinese (CJK) font is installed for PDFs: install Debian's fonts-noto-cjk"


@dataclass(frozen=True)
class CjkFont:
    """A font file that draws Chinese, and its face's index when the file is a collection (.ttc)."""

    path: Path
    index: int = 0


def _fontconfig_fonts() -> list[CjkFont]:
    """The Chinese fonts fontconfig knows, Simplified Chinese regular faces first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(  # noqa: S603 - fontconfig's fc-list, fixed arguments
            [fc_list, "-f", "%{file}|%{index}|%{family}|%{style}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found: list[tuple[int, str, CjkFont]] = []
    for line in listed.splitlines():
        parts = line.split("|")
        if len(parts) != 4 or not parts[0].lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            continue
        path, index, family, style = parts
        # A Simplified Chinese face reads best in a Chinese document; a bold or monospaced one does not.
        rank = (0 if ("SC" in family or "CN" in family) else 1) + (0 if "Regular" in style else 2)
        rank += 4 if "Mono" in family else 0
        found.append((rank, line, CjkFont(Path(path), int(index) if index.isdigit() else 0)))
    return [f for _rank, _line, f in sorted(found, key=lambda x: (x[0], x[1]))]


def find_cjk_font(known: Sequence[tuple[Path, int]] = KNOWN_FONTS, *, use_fontconfig: bool = True) -> CjkFont:
    """The CJK font a PDF is written in: a known path, else one fontconfig finds; Unavailable (503)
    naming the package to install when there is none."""
    for path, index in known:
        if path.is_file():
            return CjkFont(path, index)
    if use_fontconfig:
        for font in _fontconfig_fonts():
            if font.path.is_file():
                return font
    raise Unavailable(MISSING)


def cjk_document(font: CjkFont | None = None) -> FPDF:
    """An A4 portrait fpdf2 document whose font family `FAMILY` draws Chinese."""
    chosen = font or find_cjk_font()
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FAMILY, "", str(chosen.path), collection_font_number=chosen.index)
    # Table headings are bold: the collection's bold file where the font has one (Noto's
    # NotoSansCJK-Bold.ttc holds the same faces in the same order), else the regular face again.
    bold = chosen.path.with_name(chosen.path.name.replace("Regular", "Bold"))
    bold = bold if bold != chosen.path and bold.is_file() else chosen.path
    pdf.add_font(FAMILY, "B", str(bold), collection_font_number=chosen.index)
    pdf.set_font(FAMILY, size=11)
    return pdf


def titled_document(title: str, font: CjkFont | None = None) -> FPDF:
    """A CJK document on its first page, `title` in its metadata and as its first line at 16 pt."""
    pdf = cjk_document(font)
    pdf.set_title(title)
    pdf.set_creator("pingan")
    pdf.add_page()
    paragraph(pdf, title, size=16, height=9)
    return pdf


def paragraph(pdf: FPDF, text: str, *, size: float, height: float) -> None:
    """`text` across the page's width at `size` points, lines `height` mm apart; the next text below it."""
    pdf.set_font(FAMILY, size=size)
    pdf.multi_cell(pdf.epw, height, text, new_x="LMARGIN", new_y="NEXT")


def draw_table(
    pdf: FPDF,
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    col_widths: Sequence[float] | None = None,
    text_align: Sequence[str] | None = None,
    line_height: float = 6,
    width: float | None = None,
    align: str = "CENTER",
) -> None:
    """A table: its bold headings row, then `rows`; columns in proportion to `col_widths` (equal when
    none), each cell aligned by `text_align` (left when none), the table `width` mm wide (the page's
    when none) and placed by `align`."""
    layout: dict[str, object] = {"line_height": line_height, "align": align}
    if col_widths is not None:
        layout["col_widths"] = tuple(col_widths)
    if text_align is not None:
        layout["text_align"] = tuple(text_align)
    if width is not None:
        layout["width"] = width
    with pdf.table(**layout) as table:
        table.row(list(headings))
        for row in rows:
            table.row(list(row))
