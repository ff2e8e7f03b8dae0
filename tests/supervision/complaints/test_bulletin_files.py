"""The complaints bulletin as PDF and XLSX: the figures in the files are those of a small month worked
out by hand, and each download is audited.

March 2026 at the Yulin station (WH-YL), four complaints, and one a year before:
- A, Ms Zhang at the counter about officer Li: accepted, substantiated (attitude), answered, satisfied;
- B, a letter about the station: accepted, not substantiated (outside remit), answered, dissatisfied;
- C, Ms Zhang again about officer Li, on the same matter: a repeat, not accepted;
- D, on the web about the station on 03-01, never accepted: its 15-day acceptance clock breached on 03-17;
- March 2025: one complaint.

By hand: received 4 against 1 (+300.0%); substantiated 1 of 2 with a finding (50.0%, Wilson 95%
interval 9.5-90.5); repeats 1 of 4 (25.0%, 4.6-69.9); satisfied 1 of 2 reached (50.0%, 9.5-90.5);
one clock breached; root causes attitude 1 and outside remit 1; channels counter 2, letter 1, web 1.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.complaints.conftest import register, step

SHARES = [
    ("Substantiated, in whole or in part", 1, 2, 50.0, 9.5, 90.5),
    ("Repeats of a matter", 1, 4, 25.0, 4.6, 69.9),
    ("Satisfied at call-back", 1, 2, 50.0, 9.5, 90.5),
]
STATION = ("玉林派出所", 1, 2, 50.0, 9.5, 90.5)


def _ok(r: Any) -> None:
    assert r.status_code == 200, r.text


@pytest.fixture
def march(client: TestClient, handlers: dict[str, User]) -> None:
    liu = handlers["liu"]
    register(
        client,
        liu,
        received_at="2025-03-05T01:00:00Z",
        complainant_phone="13600136000",
        subject_kind="unit",
        subject_ref="WH-YL",
        text="去年三月反映：夜里报警后等了很久才有人来。",
    )
    d = register(
        client,
        liu,
        channel="web",
        received_at="2026-03-01T01:00:00Z",
        complainant_phone="13700137000",
        subject_kind="unit",
        subject_ref="WH-YL",
        text="网上反映：小区门口夜间有车辆违规停放，堵塞消防通道，请求处理。",
    )
    a = register(client, liu)
    _ok(step(client, liu, a["id"], "accept", accept=True, at="2026-03-11T02:00:00Z"))
    _ok(
        step(
            client,
            liu,
            a["id"],
            "finding",
            finding="substantiated",
            root_cause="attitude",
            at="2026-03-12T02:00:00Z",
            note="执法记录仪显示民警语气生硬",
        )
    )
    _ok(step(client, liu, a["id"], "answer", at="2026-03-13T02:00:00Z", text="经核查属实，已责令民警改正。"))
    _ok(step(client, liu, a["id"], "callback", at="2026-03-14T02:00:00Z", result="satisfied"))
    b = register(
        client,
        liu,
        channel="letter",
        received_at="2026-03-12T01:00:00Z",
        complainant_phone="13900139000",
        subject_kind="unit",
        subject_ref="WH-YL",
        text="来信反映：户籍窗口办理居住证时间过长，多次往返仍未办结。",
    )
    _ok(step(client, liu, b["id"], "accept", accept=True, at="2026-03-12T03:00:00Z"))
    _ok(
        step(
            client,
            liu,
            b["id"],
            "finding",
            finding="not_substantiated",
            root_cause="outside_remit",
            at="2026-03-13T02:00:00Z",
        )
    )
    _ok(
        step(client, liu, b["id"], "answer", at="2026-03-14T02:00:00Z", text="居住证由其他部门审批，已告知。")
    )
    _ok(step(client, liu, b["id"], "callback", at="2026-03-15T02:00:00Z", result="dissatisfied"))
    c = register(
        client,
        liu,
        received_at="2026-03-13T01:00:00Z",
        text="再次反映玉林北路出警民警态度恶劣，对我大声呵斥，至今没有答复。",
    )
    assert c["is_repeat"] is True and d["is_repeat"] is False and b["is_repeat"] is False
    _ok(
        step(client, liu, c["id"], "accept", accept=False, at="2026-03-13T02:00:00Z", note="同一事项已在办理")
    )


def _rows(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [tuple(c for c in row if c is not None) for row in book.active.iter_rows(values_only=True)]


def test_the_bulletin_xlsx_holds_the_hand_computed_month(
    client: TestClient, march: None, handlers: dict[str, User]
) -> None:
    r = client.get("/complaints/bulletin.xlsx?month=2026-03", headers=bearer(handlers["sun"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="complaints-bulletin-2026-03.xlsx"'
    rows = _rows(r.content)
    by_heading = {row[0]: row[1:] for row in rows if row}
    assert rows[0] == ("Monthly complaints bulletin 2026-03",)
    assert by_heading["Complaints received"] == (4,)
    assert by_heading["A year before"] == (1,)
    assert by_heading["Change in percent"] == (300.0,)
    assert by_heading["Clocks breached"] == (1,)
    assert [row for row in rows if row and row[0] in {s[0] for s in SHARES}] == SHARES
    assert STATION in rows
    assert by_heading["attitude"] == (1,) and by_heading["outside police remit"] == (1,)
    assert by_heading["delay"] == (0,)
    assert by_heading["counter visit"] == (2,) and by_heading["letter"] == (1,) and by_heading["web"] == (1,)


def test_the_bulletin_pdf_carries_the_hand_computed_month(
    client: TestClient, march: None, handlers: dict[str, User]
) -> None:
    r = client.get("/complaints/bulletin.pdf?month=2026-03", headers=bearer(handlers["sun"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    # pypdf spaces out (or NUL-pads) the glyphs of a CID font: compare the text without them.
    text = re.sub(
        r"[\s\x00]+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    )
    assert "Complaintsreceived:4" in text and "Ayearbefore:1" in text and "Changeinpercent:+300.0%" in text
    assert "Clocksbreached:1" in text
    for heading, count, n, pct, low, high in [*SHARES, STATION]:
        assert re.sub(r"\s+", "", f"{heading}{count}{n}{pct:.1f}{low:.1f}{high:.1f}") in text


def test_a_bulletin_download_is_audited_with_its_month_format_and_count(
    client: TestClient, march: None, handlers: dict[str, User]
) -> None:
    assert (
        client.get("/complaints/bulletin.xlsx?month=2026-03", headers=bearer(handlers["sun"])).status_code
        == 200
    )
    with db.read_transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.export")).one()
    assert (entry.actor, entry.object_id) == ("legal_sun", "complaints:2026-03")
    assert json.loads(entry.detail) == {
        "filters": {"month": "2026-03"},
        "format": "xlsx",
        "rows": 4,
        "scope": "district",
    }


def test_a_bulletin_download_names_a_malformed_month(client: TestClient, handlers: dict[str, User]) -> None:
    r = client.get("/complaints/bulletin.pdf?month=March", headers=bearer(handlers["sun"]))
    assert (r.status_code, r.json()["field"]) == (422, "month")


def test_an_officer_cannot_download_the_bulletin(client: TestClient, handlers: dict[str, User]) -> None:
    assert (
        client.get("/complaints/bulletin.xlsx?month=2026-03", headers=bearer(handlers["li"])).status_code
        == 403
    )


def test_the_bulletin_page_links_its_pdf_and_xlsx(client: TestClient, handlers: dict[str, User]) -> None:
    page = client.get("/complaints/bulletin?month=2026-03", headers=bearer(handlers["sun"])).text
    assert 'href="/complaints/bulletin.pdf?month=2026-03"' in page
    assert 'href="/complaints/bulletin.xlsx?month=2026-03"' in page
