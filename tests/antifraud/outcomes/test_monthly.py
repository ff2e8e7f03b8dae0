"""The monthly 资金预警 report: honest reach, the month it opens on, a latency that means what it says,
"—" for a rate without a denominator, and XLSX and PDF exports that carry the page's figures.

Words are compared through `_()` and `label`, so the tests hold in whichever language is spoken."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.antifraud.outcomes import exports
from pingan.antifraud.outcomes.actions import do_note_report, do_record_outcomes
from pingan.antifraud.outcomes.choices import PersonReach
from pingan.antifraud.outcomes.exports import chromium_path
from pingan.antifraud.outcomes.model import WarningOutcome
from pingan.antifraud.outcomes.report import build_monthly, rate_text
from pingan.antifraud.outcomes.rules import latency_figures, plan_reach
from pingan.antifraud.risk.actions import FlagIn, do_mark_plan_step, do_record_flags
from pingan.antifraud.risk.choices import StepChannel, StepState
from pingan.antifraud.warnings.jobs import WarningSender, drain_risk_outbox
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.cli import app
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.i18n import _, label
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from tests.conftest import IN_CI, bearer

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 Beijing time, 10 March
SCREENING = Actor.system("screening")
CHANNELS = Actor.system("channels")


def flag(tx_id: int, person: str, *, at: datetime = T0, phone: str = "13800000000") -> FlagIn:
    return FlagIn(
        tx_id=tx_id, occurred_at=at, person_key=person, payer_account=f"card-{person}",
        payee_account="card-mule-1", payer_bank="ICBC", payee_bank="CCB", amount_fen=800_000,
        amount_at_risk_fen=800_000, reasons=["WL-PAYEE:reported_payee"], typology_guess="冒充公检法",
        elderly=False, phone=protect(PiiKind.PHONE, phone), home_station="WH-YL",
    )  # fmt: skip


def screened(*flags: FlagIn, engine: str = "stream", detected: datetime | None = None) -> list[int]:
    """Record flags as screening does (detected at `detected`); returns the new plans' ids."""
    with db.transaction() as s:
        result = do_record_flags(
            s, list(flags), engine=engine, rules_version="t", actor=SCREENING, now=detected or T0
        )
        return [p.id for p in result.plans_created]


def mark(plan_id: int, channel: StepChannel, state: StepState) -> None:
    with db.transaction() as s:
        do_mark_plan_step(s, plan_id=plan_id, channel=channel, state=state, actor=CHANNELS, now=T0)


def wang_reached_and_li_recorded_then_reporting() -> None:
    """March: Wang's text got a delivery report; Li's warnings the outbox only recorded, and Li later
    reported a fraud (victimised)."""
    wang, li = screened(flag(1, "victim-wang"), flag(2, "victim-li", phone="13900000000"))
    mark(wang, StepChannel.SMS, StepState.DELIVERED)
    mark(li, StepChannel.SMS, StepState.RECORDED)
    mark(li, StepChannel.VOICE, StepState.RECORDED)
    with db.transaction() as s:
        do_note_report(
            s, person_key="victim-li", reported_at=T0 + timedelta(days=3), report_id=7, actor=SCREENING
        )
        do_record_outcomes(s, actor=SCREENING, now=T0 + timedelta(days=31))


# Reach


def test_a_plan_whose_steps_the_outbox_only_recorded_is_not_reached() -> None:
    reach = plan_reach([(StepChannel.SMS, StepState.RECORDED), (StepChannel.VOICE, StepState.RECORDED)])
    assert not reach.reached and reach.recorded_only
    assert reach.reasons == ("sms:recorded", "voice:recorded")


def test_a_plan_is_reached_on_a_delivery_report() -> None:
    reach = plan_reach([(StepChannel.SMS, StepState.DELIVERED), (StepChannel.VOICE, StepState.RECORDED)])
    assert reach.reached and reach.reasons == ("sms:delivery_report",)


def test_an_outbox_only_warning_counts_as_not_reached_in_the_monthly_report(database: str) -> None:
    screened(flag(1, "victim-wang", at=datetime.now(UTC) - timedelta(seconds=5)))
    drain_risk_outbox()
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())
    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.place_calls_batch())
    now = datetime.now(UTC)
    with db.transaction() as s:
        do_record_outcomes(s, actor=SCREENING, now=now)
        assert s.execute(select(WarningOutcome.reached)).scalar_one() is False
        month = f"{(now + timedelta(hours=8)).year}-{(now + timedelta(hours=8)).month:02d}"
        [person] = build_monthly(s, month).predicted
    assert person["reach"] is PersonReach.RECORDED_NOT_SENT
    assert person["reach_reasons"] == ["sms:recorded", "voice:recorded"]


def test_last_months_outcomes_count_the_recorded_only_person_among_the_not_reached(database: str) -> None:
    wang_reached_and_li_recorded_then_reporting()
    with db.transaction() as s:
        o = build_monthly(s, "2026-04").previous_outcomes
    assert (o.warned, o.warned_victimised, o.unreached, o.unreached_victimised) == (1, 0, 1, 1)
    assert (o.victimisation_rate_warned, o.victimisation_rate_unreached) == (0.0, 1.0)


# The month it opens on


def test_the_report_opens_on_the_latest_month_with_data(client: TestClient, analyst_zhang: User) -> None:
    screened(flag(1, "victim-wang"))  # March 2026; the clock is months later
    page = client.get("/risk/monthly", headers=bearer(analyst_zhang))
    assert page.status_code == 200, page.text
    assert 'name="month" value="2026-03"' in page.text


def test_the_report_opens_on_this_month_when_there_is_no_data(
    client: TestClient, analyst_zhang: User
) -> None:
    page = client.get("/risk/monthly", headers=bearer(analyst_zhang))
    here = datetime.now(UTC) + timedelta(hours=8)
    assert f'name="month" value="{here.year}-{here.month:02d}"' in page.text


def test_a_month_is_the_districts_month_in_beijing_time(database: str) -> None:
    # 31 March 20:00 UTC is 1 April 04:00 in Chengdu: an April event.
    screened(flag(1, "victim-wang", at=datetime(2026, 3, 31, 20, 0, tzinfo=UTC)))
    with db.transaction() as s:
        assert len(build_monthly(s, "2026-04").predicted) == 1
        assert build_monthly(s, "2026-03").predicted == []


def test_a_malformed_month_is_refused_naming_the_field(client: TestClient, analyst_zhang: User) -> None:
    answer = client.get("/risk/monthly/2026-13.xlsx", headers=bearer(analyst_zhang))
    assert answer.status_code == 422 and "month" in answer.text


# Latency


def test_latency_counts_live_screening_only_and_matches_a_hand_computed_fixture() -> None:
    # Gaps 1, 2, 3, 4 and 10 s. Linear percentiles over the 5 sorted values: p50 is the 3rd (3 s);
    # p95 sits at rank 0.95 × 4 = 3.8, between 4 s and 10 s: 4 + 0.8 × 6 = 8.8 s; p99 at 3.96: 9.76 s.
    live = [("stream", T0, T0 + timedelta(seconds=g)) for g in (1, 2, 3, 4, 10)]
    batch = [("batch", T0, T0 + timedelta(days=269))]  # a batch run over old data, 269 days later
    lat = latency_figures(live + batch)
    assert (lat.count, lat.p50_s, lat.p95_s, lat.p99_s) == (5, 3.0, 8.8, 9.76)
    assert lat.not_counted == 1 and lat.reasons == ("engine_batch_not_live:1",)


def test_the_monthly_latency_is_transfer_to_detection_of_live_events(database: str) -> None:
    for n, gap in enumerate((1, 2, 3, 4, 10), start=1):
        at = T0 + timedelta(minutes=n)
        screened(flag(n, f"victim-{n}", at=at), detected=at + timedelta(seconds=gap))
    screened(flag(9, "victim-9"), engine="batch", detected=T0 + timedelta(days=269))
    with db.transaction() as s:
        lat = build_monthly(s, "2026-03").latency
    assert (lat.count, lat.p50_s, lat.p95_s, lat.not_counted) == (5, 3.0, 8.8, 1)


# "—" for a rate without a denominator


def test_a_rate_without_a_denominator_is_a_dash_never_none(client: TestClient, analyst_zhang: User) -> None:
    screened(flag(1, "victim-wang"), engine="batch")  # March has data; February has no outcomes
    page = client.get("/risk/monthly?month=2026-03", headers=bearer(analyst_zhang)).text
    assert figure(page, "rate_warned") == "—" and figure(page, "rate_unreached") == "—"
    assert figure(page, "latency_p50") == "—"
    assert "None" not in page
    assert rate_text(None) == "—" and rate_text(0.125) == "12.5%"


def test_the_command_prints_a_dash_for_a_rate_without_a_denominator(database: str, tmp_path: Path) -> None:
    screened(flag(1, "victim-wang"))
    out = CliRunner().invoke(
        app,
        [
            "outcomes",
            "monthly",
            "--month",
            "2026-03",
            "--out",
            str(tmp_path),
            "--xlsx",
            str(tmp_path / "m.xlsx"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "—" in out.stdout and "None" not in out.stdout
    document = (tmp_path / "2026-03" / "report.html").read_text(encoding="utf-8")
    assert "None" not in re.sub(r"<script>.*?</script>", "", document, flags=re.S)  # ECharts' own code aside
    assert (tmp_path / "2026-03" / "events_per_day.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = sheet_figures(openpyxl.load_workbook(tmp_path / "m.xlsx"))
    assert figures[_("Victimisation rate, warned")] == "—"


# Charts


def test_the_page_draws_its_charts_with_echarts_from_embedded_json(
    client: TestClient, analyst_zhang: User
) -> None:
    screened(flag(1, "victim-wang"))
    page = client.get("/risk/monthly?month=2026-03", headers=bearer(analyst_zhang)).text
    assert '<script src="/static/vendor/echarts.min.js"></script>' in page
    assert 'id="monthly-charts"' in page and f'"{_("Risk events per day")} · 2026-03"' in page
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' type="application/json" id="monthly-charts"']  # the CSP forbids inline scripts
    assert "<img" not in page and "http" not in re.sub(r'href="[^"]*"', "", page.split("<main>")[1])
    js = client.get("/static/vendor/echarts.min.js")
    assert js.status_code == 200 and "echarts" in js.text[:2000].lower()


# Exports


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found is not None, name
    return found.group(1)


def sheet_figures(book: openpyxl.Workbook) -> dict[str, object]:
    sheet = book[_("Figures")]
    return {str(row[0]): row[1] for row in sheet.iter_rows(min_row=3, max_col=2, values_only=True) if row[0]}


def test_the_xlsx_reads_back_with_the_same_figures_as_the_page(
    client: TestClient, analyst_zhang: User
) -> None:
    wang_reached_and_li_recorded_then_reporting()
    h = bearer(analyst_zhang)
    page = client.get("/risk/monthly?month=2026-04", headers=h).text
    answer = client.get("/risk/monthly/2026-04.xlsx", headers=h)
    assert answer.status_code == 200, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    figures = sheet_figures(book)
    assert (figures[_("Warned (reached)")], figures[_("Flagged, not reached")]) == (1, 1)
    for row, name in (
        (_("Victimisation rate, warned"), "rate_warned"),
        (_("Victimisation rate, not reached"), "rate_unreached"),
    ):
        value = figures[row]
        assert rate_text(value if isinstance(value, float | int) else None) == figure(page, name)
    assert (figure(page, "rate_warned"), figure(page, "rate_unreached")) == ("0.0%", "100.0%")
    march = openpyxl.load_workbook(io.BytesIO(client.get("/risk/monthly/2026-03.xlsx", headers=h).content))
    reach = {row[0]: row[6] for row in march["Persons"].iter_rows(min_row=2, values_only=True)}
    assert reach == {
        "victim-wang": label(PersonReach.REACHED),
        "victim-li": label(PersonReach.RECORDED_NOT_SENT),
    }


def test_an_export_is_audited(client: TestClient, analyst_zhang: User) -> None:
    client.get("/risk/monthly/2026-03.xlsx", headers=bearer(analyst_zhang))
    with db.transaction() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "outcomes.monthly_export")
        ).scalar_one()
        assert (entry.actor, entry.object_id) == ("analyst_zhang", "2026-03") and "xlsx" in entry.detail


def needs_chromium() -> None:
    """Without Chromium the PDF test is skipped on a workstation; under CI the browser must be there."""
    if chromium_path() is None:
        if IN_CI or os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and no /usr/bin/chromium: the PDF export cannot be tested")
        pytest.skip("no /usr/bin/chromium")


def pdf_mentions(pdf: bytes, text: str) -> bool:
    """Whether the PDF's document title (plain or UTF-16 hex, as Chromium writes it) holds `text`."""
    return text.encode() in pdf or text.encode("utf-16-be").hex().upper().encode() in pdf.upper()


def test_the_pdf_is_printed_by_chromium_and_names_the_month(client: TestClient, analyst_zhang: User) -> None:
    needs_chromium()
    screened(flag(1, "victim-wang"))
    answer = client.get("/risk/monthly/2026-03.pdf", headers=bearer(analyst_zhang))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and pdf_mentions(answer.content, "2026-03")


def test_the_command_prints_the_pdf_too(database: str, tmp_path: Path) -> None:
    needs_chromium()
    screened(flag(1, "victim-wang"))
    pdf = tmp_path / "m.pdf"
    out = CliRunner().invoke(
        app, ["outcomes", "monthly", "--month", "2026-03", "--out", str(tmp_path), "--pdf", str(pdf)]
    )
    assert out.exit_code == 0, out.output
    assert pdf.read_bytes().startswith(b"%PDF") and pdf_mentions(pdf.read_bytes(), "2026-03")


def test_the_charts_are_drawn_in_the_document_chromium_prints(database: str, tmp_path: Path) -> None:
    needs_chromium()
    screened(flag(1, "victim-wang"))
    with db.transaction() as s:
        report = build_monthly(s, "2026-03")
    doc = tmp_path / "report.html"
    doc.write_text(exports.document_html(report), encoding="utf-8")
    browser = chromium_path()
    assert browser is not None
    dom = subprocess.run(
        [str(browser), *exports.CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}/profile", "--dump-dom", doc.as_uri()],
        capture_output=True, text=True, timeout=120, check=True, env={**os.environ, "HOME": str(tmp_path)},
    ).stdout  # fmt: skip
    assert 'data-charts-ready="1"' in dom
    drawn = re.findall(r'data-chart="(\w+)".*?<svg', dom, flags=re.S)
    assert {"events_per_day", "victimisation", "per_rule"} <= set(drawn)
