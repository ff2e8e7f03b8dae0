"""Home-visit tasks through the API, overdue alerts, the figures page, the timeline and /metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.warnings.choices import AlertKind
from pingan.antifraud.warnings.figures import compute_figures
from pingan.antifraud.warnings.jobs import WarningSender
from pingan.antifraud.warnings.model import WarningAlert
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.antifraud.warnings.visits.actions import check_accept, do_open_visit
from pingan.antifraud.warnings.visits.choices import VisitKind
from pingan.antifraud.warnings.visits.model import HomeVisitTask
from pingan.core import clock, db
from pingan.core.auth import User
from pingan.core.errors import DomainError
from tests.antifraud.warnings.conftest import ANALYST, accept, signed_dlr, wang_request
from tests.conftest import bearer


def open_visit() -> int:
    delivery = accept(wang_request())
    with db.transaction() as s:
        d = s.merge(delivery)
        return do_open_visit(s, d, kind=VisitKind.DISSUASION, reasons=("elderly_payer",), actor=ANALYST).id


def test_an_officer_accepts_a_visit_and_records_that_the_person_was_dissuaded(
    client: TestClient, officer_li: User, station_yulin: object
) -> None:
    task_id = open_visit()
    r = client.post(f"/api/v1/warnings/visits/{task_id}/accept", headers=bearer(officer_li))
    assert r.status_code == 200 and r.json()["accepted_by"] == "officer_li"
    r = client.post(
        f"/api/v1/warnings/visits/{task_id}/outcome",
        json={"outcome": "dissuaded"},
        headers=bearer(officer_li),
    )
    assert r.status_code == 200 and r.json()["outcome"] == "dissuaded" and r.json()["state"] == "done"


def test_an_unknown_visit_outcome_is_refused_naming_the_field(
    client: TestClient, officer_li: User, station_yulin: object
) -> None:
    task_id = open_visit()
    client.post(f"/api/v1/warnings/visits/{task_id}/accept", headers=bearer(officer_li))
    r = client.post(
        f"/api/v1/warnings/visits/{task_id}/outcome", json={"outcome": "maybe"}, headers=bearer(officer_li)
    )
    assert r.status_code == 422 and r.json()["field"] == "outcome"


def test_an_overdue_visit_raises_an_alert_for_the_station_supervisor(station_yulin: object) -> None:
    task_id = open_visit()
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())
    with clock.frozen(clock.now() + timedelta(hours=3)):
        counts = sender.maintain()
    assert counts["visits_overdue"] == 1
    with db.transaction() as s:
        alert = s.execute(select(WarningAlert)).scalar_one()
        task = s.get(HomeVisitTask, task_id)
        assert alert.kind is AlertKind.VISIT_OVERDUE and alert.station_code == "WH-YL"
        assert task is not None and task.overdue_alert_id == alert.id


def test_the_outbox_records_the_text_and_the_call_audio_shown_on_the_persons_timeline(
    client: TestClient, analyst_zhang: User, station_yulin: object
) -> None:
    accept(wang_request())
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())
    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.place_calls_batch())

    page = client.get("/warnings/persons/person:wang", headers=bearer(analyst_zhang))
    assert page.status_code == 200
    assert "冒充公检法" in page.text and "96110" in page.text and "recorded" in page.text
    assert "Phone 138****5678" in page.text
    audio_url = page.text.split('src="/warnings/messages/')[1].split('"')[0]
    audio = client.get(f"/warnings/messages/{audio_url}", headers=bearer(analyst_zhang))
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


def test_figures_appear_on_the_page_and_at_metrics(
    client: TestClient, analyst_zhang: User, station_yulin: object
) -> None:
    accept(wang_request())
    page = client.get("/warnings", headers=bearer(analyst_zhang))
    assert page.status_code == 200 and "触达率" in page.text
    metrics = client.get("/metrics").text
    assert "pingan_warning_calls_placed" in metrics and "pingan_warning_open_alerts" in metrics


def test_texts_and_calls_written_to_the_outbox_are_counted_apart_from_reach(
    client: TestClient, analyst_zhang: User, station_yulin: object
) -> None:
    """The demo's outbox channel sends nothing, so its deliveries are shown as recorded, not as 0 / 0 reach."""
    accept(wang_request())
    accept(wang_request("plan-wang-2"))
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())
    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.place_calls_batch())
    with db.transaction() as s:
        f = compute_figures(s)
    assert f.outbox_recorded == {"sms": 2, "voice": 2}
    assert f.attempted == {"sms": 0, "voice": 0}
    page = client.get("/warnings", headers=bearer(analyst_zhang))
    assert "2 recorded, not sent" in page.text
    assert 'pingan_warning_outbox_recorded{channel="sms"} 2.0' in client.get("/metrics").text


def test_a_dlr_with_a_bad_signature_is_refused_logged_and_changes_nothing(
    client: TestClient, station_yulin: object
) -> None:
    from pingan.antifraud.warnings.choices import MessageState
    from pingan.antifraud.warnings.model import WarningCallbackRejection, WarningMessage

    accept(wang_request(voice=False), sms="kannel")
    r = client.get("/sms-gateway/kannel/dlr", params={**signed_dlr("plan-wang-1:sms:1"), "t": "0" * 32})
    assert r.status_code == 401
    with db.transaction() as s:
        assert s.execute(select(WarningMessage.state)).scalar_one() is MessageState.QUEUED
        assert s.execute(select(WarningCallbackRejection.reason)).scalar_one() == "bad signature"


def test_a_dlr_for_an_unknown_message_is_refused_and_logged(client: TestClient, database: str) -> None:
    from pingan.antifraud.warnings.model import WarningCallbackRejection

    r = client.get("/sms-gateway/kannel/dlr", params=signed_dlr("no-such:sms:1"))
    assert r.status_code == 404
    with db.transaction() as s:
        assert s.execute(select(WarningCallbackRejection.reason)).scalar_one() == "unknown message id"


def test_a_dlr_from_an_address_that_is_not_the_gateways_is_refused_and_changes_nothing(
    station_yulin: object,
) -> None:
    """The DLR type is not covered by the token (Kannel fills it in), so only the gateway may post."""
    from pingan.antifraud.warnings.choices import MessageState
    from pingan.antifraud.warnings.model import WarningCallbackRejection, WarningMessage
    from pingan.web.app import create_app

    accept(wang_request(voice=False), sms="kannel")
    with TestClient(create_app(), client=("203.0.113.7", 40000)) as outsider:
        r = outsider.get("/sms-gateway/kannel/dlr", params=signed_dlr("plan-wang-1:sms:1", "1"))
    assert r.status_code == 403
    with db.transaction() as s:
        assert s.execute(select(WarningMessage.state)).scalar_one() is MessageState.QUEUED
        rejection = s.execute(select(WarningCallbackRejection)).scalar_one()
        assert (rejection.reason, rejection.remote) == ("not from a gateway address", "203.0.113.7")


def test_a_dlr_url_is_refused_after_its_expiry(client: TestClient, station_yulin: object) -> None:
    """A URL found in an old log cannot set a state: the expiry is signed, and it runs out."""
    from pingan.antifraud.warnings.choices import MessageState
    from pingan.antifraud.warnings.model import WarningMessage
    from pingan.antifraud.warnings.sms_kannel import DLR_URL_LIFETIME

    accept(wang_request(voice=False), sms="kannel")
    params = signed_dlr("plan-wang-1:sms:1", "1")
    with clock.frozen(clock.now() + DLR_URL_LIFETIME + timedelta(seconds=1)):
        r = client.get("/sms-gateway/kannel/dlr", params=params)
    assert r.status_code == 401 and r.json()["reason"] == "expired dlr-url"
    with db.transaction() as s:
        assert s.execute(select(WarningMessage.state)).scalar_one() is MessageState.QUEUED


def test_a_later_expiry_cannot_be_substituted_into_a_signed_url(
    client: TestClient, station_yulin: object
) -> None:
    accept(wang_request(voice=False), sms="kannel")
    params = signed_dlr("plan-wang-1:sms:1", "1")
    params["exp"] = str(int(params["exp"]) + 86_400)
    r = client.get("/sms-gateway/kannel/dlr", params=params)
    assert r.status_code == 401 and r.json()["reason"] == "bad signature"


def test_a_forged_type_after_the_gateways_final_report_changes_nothing(
    client: TestClient, station_yulin: object
) -> None:
    """Whoever holds the URL can post any type, but a final state is final."""
    from pingan.antifraud.warnings.choices import MessageState
    from pingan.antifraud.warnings.model import WarningMessage

    accept(wang_request(voice=False), sms="kannel")
    url = "/sms-gateway/kannel/dlr"
    assert client.get(url, params=signed_dlr("plan-wang-1:sms:1", "16", answer="REJECTD")).status_code == 200
    assert client.get(url, params=signed_dlr("plan-wang-1:sms:1", "1", answer="DELIVRD")).status_code == 200
    with db.transaction() as s:
        assert s.execute(select(WarningMessage.state)).scalar_one() is MessageState.FAILED


def test_a_refused_visit_form_carries_its_whole_reason_back_to_the_page(
    client: TestClient, officer_li: User, station_yulin: object
) -> None:
    task_id = open_visit()
    client.post(f"/api/v1/warnings/visits/{task_id}/accept", headers=bearer(officer_li))
    r = client.post(f"/warnings/visits/{task_id}/accept", headers=bearer(officer_li), follow_redirects=False)
    assert r.status_code == 303
    [reason] = parse_qs(urlsplit(r.headers["location"]).query)["error"]
    with db.read_transaction() as s:
        task = s.get(HomeVisitTask, task_id)
        assert task is not None
        with pytest.raises(DomainError) as refused:
            check_accept(task, actor=officer_li.actor())
    assert reason == str(refused.value)
