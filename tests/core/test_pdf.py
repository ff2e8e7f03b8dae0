"""PDFs with Chinese text find the system's CJK font at run time, and say what to install without one."""

from __future__ import annotations

import io
import re
import shutil

import pypdf
import pytest

from pingan.core.errors import Unavailable
from pingan.core.pdf import cjk_document, find_cjk_font


def test_without_a_cjk_font_a_pdf_is_refused_naming_the_package_to_install() -> None:
    with pytest.raises(Unavailable, match="fonts-noto-cjk"):
        find_cjk_font((), use_fontconfig=False)


def test_fontconfig_finds_a_chinese_face_when_no_known_path_holds_one() -> None:
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig is not installed")
    try:
        font = find_cjk_font(())
    except Unavailable:
        pytest.skip("no Chinese font installed (Debian fonts-noto-cjk)")
    pdf = cjk_document(font)
    pdf.add_page()
    pdf.cell(text="玉林派出所")
    text = pypdf.PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0].extract_text()
    assert re.sub(r"[\s\x00]+", "", text) == "玉林派出所"
