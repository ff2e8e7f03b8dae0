"""An officer's new-report form: the API's validation, each message beside its field with the values
kept, a narrative limit shown and enforced (422, never a cut), and confirmation by another officer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.reports.imports import import_reports
from pingan.antifraud.reports.model import FraudReport
from pingan.antifraud.reports.schemas import NARRATIVE_MAX_LENGTH
from pingan.core import db
from pingan.core.auth import User
from pingan.core.roles import Role
from tests.conftest import bearer, make_user
from tests.factories import MULE_CARD_CCB, VICTIM_WANG, WANG_CARD, report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")


def _en(user: User) -> dict[str, str]:
    """The user's credentials, reading the pages in English (the test reads the English text)."""
    return {**bearer(user), "Accept-Language": "en"}


def _form(**changes: str) -> dict[str, str]:
    """Victim Wang's report as an officer types it: Beijing times, yuan, one transfer row."""
    form = {
        "external_ref": "510107-2026-000001",
        "typology": "刷单返利",
        "station_code": "WH-YL",
        "fraud_started_at": "2026-11-20T09:15",
        "reported_at": "2026-11-20T14:02",
        "victim.name": VICTIM_WANG["name"],
        "victim.national_id": VICTIM_WANG["national_id"],
        "victim.phone": VICTIM_WANG["phone"],
        "transfers.0.occurred_at": "2026-11-20T09:40",
        "transfers.0.amount_yuan": "5,000.00",
        "transfers.0.payer_card": WANG_CARD,
        "transfers.0.payer_bank": "CMB",
        "transfers.0.payee_account": MULE_CARD_CCB,
        "transfers.0.payee_bank": "CCB",
        "transfers.0.channel": "mobile_banking",
        "suspects.0.kind": "phone",
        "suspects.0.value": "17012345678",
        "narrative": "受害人被拉入刷单群，连续垫付任务款。",
    }
    return form | changes


def _reports() -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(func.count()).select_from(FraudReport)).scalar_one())


def test_an_officer_registers_a_report_from_the_form_in_beijing_time_and_yuan(
    client: TestClient, officer_li: User
) -> None:
    r = client.post("/reports/new", data=_form(), headers=_en(officer_li), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?done=registered")
    report_id = int(r.headers["location"].split("/")[2].split("?")[0])
    body = client.get(f"/api/v1/fraud-reports/{report_id}", headers=_en(officer_li)).json()
    assert (body["intake"], body["officer"]) == ("registered", "officer_li")
    assert body["reported_at"] == "2026-11-20T06:02:00Z"  # 14:02 in Beijing
    assert body["transfers"][0]["amount_fen"] == 500_000


def test_a_bad_field_is_named_beside_it_and_the_values_entered_are_kept(
    client: TestClient, officer_li: User
) -> None:
    r = client.post(
        "/reports/new", data=_form(**{"victim.national_id": "510107196503120021"}), headers=_en(officer_li)
    )
    assert r.status_code == 422
    assert 'id="error-victim.national_id"' in r.text
    assert 'value="510107196503120021"' in r.text and f'value="{WANG_CARD}"' in r.text
    assert _reports() == 0


def test_a_transfer_error_names_the_form_row_it_came_from(client: TestClient, officer_li: User) -> None:
    moved = {k.replace("transfers.0.", "transfers.2."): v for k, v in _form().items()}
    r = client.post(
        "/reports/new", data=moved | {"transfers.2.amount_yuan": "12.345"}, headers=_en(officer_li)
    )
    assert r.status_code == 422 and 'id="error-transfers.2.amount_fen"' in r.text


def test_the_form_shows_the_narrative_limit(client: TestClient, officer_li: User) -> None:
    page = client.get("/reports/new", headers=_en(officer_li)).text
    assert f'maxlength="{NARRATIVE_MAX_LENGTH}"' in page and 'id="narrative-counter"' in page
    assert f"{NARRATIVE_MAX_LENGTH}" in page.split('id="narrative-limit"')[1].split("</p>")[0]


def test_an_over_long_narrative_gets_422_naming_the_field_and_nothing_is_cut_or_saved(
    client: TestClient, officer_li: User
) -> None:
    too_long = "垫" * (NARRATIVE_MAX_LENGTH + 1)
    page = client.post("/reports/new", data=_form(narrative=too_long), headers=_en(officer_li))
    assert page.status_code == 422 and 'id="error-narrative"' in page.text
    assert too_long in page.text  # handed back whole, for the officer to shorten
    api = client.post(
        "/api/v1/fraud-reports", json=report_payload(narrative=too_long), headers=_en(officer_li)
    )
    assert api.status_code == 422 and api.json()["field"] == "narrative"
    assert _reports() == 0


def test_a_form_posted_twice_registers_one_report(client: TestClient, officer_li: User) -> None:
    form = _form(idempotency_key="f" * 32)
    first = client.post("/reports/new", data=form, headers=_en(officer_li), follow_redirects=False)
    second = client.post("/reports/new", data=form, headers=_en(officer_li), follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert _reports() == 1


def _imported_by(officer: User, tmp_path: Path) -> int:
    src = tmp_path / "reports.jsonl"
    src.write_text(json.dumps(report_payload(), ensure_ascii=False) + "\n")
    [report_id] = import_reports(src, actor=officer.actor()).report_ids
    return int(report_id)


def test_confirmation_by_the_entering_officer_is_refused(
    client: TestClient, officer_li: User, tmp_path: Path
) -> None:
    report_id = _imported_by(officer_li, tmp_path)
    r = client.post(f"/api/v1/fraud-reports/{report_id}/confirm", headers=_en(officer_li))
    assert r.status_code == 403 and r.json()["field"] == "confirmed_by"
    page = client.get(f"/reports/{report_id}", headers=_en(officer_li)).text
    assert 'id="confirm-form"' not in page and 'id="confirm-by-another"' in page
    refused = client.post(f"/reports/{report_id}/confirm", headers=_en(officer_li), follow_redirects=False)
    assert "another+officer" in refused.headers["location"]


def test_another_officer_confirms_the_report_and_is_told_so(
    client: TestClient, officer_li: User, tmp_path: Path
) -> None:
    report_id = _imported_by(officer_li, tmp_path)
    officer_wu = make_user("officer_wu", Role.OFFICER, station_code="WH-YL")
    r = client.post(f"/reports/{report_id}/confirm", headers=_en(officer_wu), follow_redirects=False)
    assert r.headers["location"].endswith("?done=confirmed")
    page = client.get(r.headers["location"], headers=_en(officer_wu)).text
    assert 'id="done"' in page and "confirmed by officer_wu" in page


def test_the_list_offers_the_confirm_button_only_to_another_officer(
    client: TestClient, officer_li: User, tmp_path: Path
) -> None:
    report_id = _imported_by(officer_li, tmp_path)
    button = f'action="/reports/{report_id}/confirm"'
    assert button not in client.get("/reports", headers=_en(officer_li)).text
    officer_wu = make_user("officer_wu", Role.OFFICER, station_code="WH-YL")
    assert button in client.get("/reports", headers=_en(officer_wu)).text
