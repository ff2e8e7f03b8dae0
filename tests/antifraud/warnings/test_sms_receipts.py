"""Texts whose fate is uncertain: an answer lost after the request left, a DLR batch that fails to commit,
and a text whose final report never comes (expired after 24 h)."""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.channels import SendResult
from pingan.antifraud.warnings.choices import ChannelKind, MessageState
from pingan.antifraud.warnings.jobs import SENDER, WarningSender
from pingan.antifraud.warnings.model import WarningMessage, WarningReceipt
from pingan.antifraud.warnings.outbox import OutboxSmsChannel, OutboxVoiceChannel
from pingan.antifraud.warnings.rules import IN_DOUBT_GRACE, SMS_VALIDITY
from pingan.antifraud.warnings.sms_kannel import KannelSmsChannel
from pingan.core import clock, db
from pingan.core.settings import get_settings
from tests.antifraud.warnings.conftest import accept, signed_dlr, wang_request
from tests.peers import free_port

KEY = "plan-wang-1:sms:1"


class SwallowingSmsbox:
    """A sendsms port that reads each request in full and hangs up without answering (the answer is lost)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[bytes] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.close()

        async def serve() -> None:
            await asyncio.start_server(handle, "127.0.0.1", self.port)
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    def __enter__(self) -> SwallowingSmsbox:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def smsbox_that_loses_answers() -> Iterator[SwallowingSmsbox]:
    with SwallowingSmsbox() as box:
        yield box


def sender_to(port: int) -> WarningSender:
    sms = KannelSmsChannel(
        sendsms_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
        username="pingan",
        password="secret",
        callback_base_url="http://127.0.0.1:1",
        dlr_key=get_settings().warnings.dlr_key(),
        timeout_s=2.0,
    )
    return WarningSender(sms, OutboxVoiceChannel())


def message() -> WarningMessage:
    with db.transaction() as s:
        return s.execute(select(WarningMessage).where(WarningMessage.message_key == KEY)).scalar_one()


def text_in_doubt(box: SwallowingSmsbox) -> WarningMessage:
    """Wang's text, sent once to a smsbox that took the request and lost the answer."""
    accept(wang_request(voice=False), sms="kannel")
    summary = asyncio.run(sender_to(box.port).send_sms_batch())
    assert summary.claimed == 1 and len(box.requests) == 1
    return message()


def test_a_text_whose_answer_is_lost_after_the_request_left_stays_in_doubt_and_is_not_queued_again(
    database: str, smsbox_that_loses_answers: SwallowingSmsbox
) -> None:
    m = text_in_doubt(smsbox_that_loses_answers)
    assert m.state is MessageState.SENDING
    assert m.transport_tries == 0 and m.submitted_at is None
    assert "answer lost" in (m.last_error or "")
    # The next round does not pick it up: Kannel may have taken it.
    assert asyncio.run(sender_to(smsbox_that_loses_answers.port).send_sms_batch()).claimed == 0
    assert len(smsbox_that_loses_answers.requests) == 1


def test_an_in_doubt_text_with_a_receipt_counts_as_submitted_and_is_never_sent_again(
    database: str, smsbox_that_loses_answers: SwallowingSmsbox
) -> None:
    text_in_doubt(smsbox_that_loses_answers)
    with db.transaction() as s:  # Kannel had taken it: the SMSC's acceptance report arrives
        actions.do_record_dlrs(s, [actions.Dlr(KEY, 8, "ACK")], source="kannel", actor=SENDER)
    assert message().state is MessageState.SUBMITTED  # the receipt settles the doubt at once
    sender = sender_to(smsbox_that_loses_answers.port)
    with clock.frozen(clock.now() + IN_DOUBT_GRACE + timedelta(seconds=1)):
        assert sender.maintain()["resend"] == 0
        assert asyncio.run(sender.send_sms_batch()).claimed == 0
    assert message().state is MessageState.SUBMITTED
    assert len(smsbox_that_loses_answers.requests) == 1


def test_an_in_doubt_text_without_a_receipt_is_sent_again_under_the_same_id_only_after_the_grace(
    database: str, smsbox_that_loses_answers: SwallowingSmsbox
) -> None:
    text_in_doubt(smsbox_that_loses_answers)
    sender = sender_to(smsbox_that_loses_answers.port)
    assert sender.maintain()["resend"] == 0  # within the grace period a receipt may still come
    assert message().state is MessageState.SENDING
    with clock.frozen(clock.now() + IN_DOUBT_GRACE + timedelta(seconds=1)):
        assert sender.maintain()["resend"] == 1
        assert asyncio.run(sender.send_sms_batch()).claimed == 1
    first, second = smsbox_that_loses_answers.requests
    mid = urllib.parse.quote(urllib.parse.urlencode({"mid": KEY}), safe="").encode()
    assert mid in first and mid in second  # the same message id goes to Kannel both times


def test_a_dlr_batch_whose_commit_fails_is_answered_503_and_changes_nothing(
    client: TestClient, station_yulin: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept(wang_request(voice=False), sms="kannel")
    real = actions.do_record_dlrs

    def applied_then_commit_fails(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("disk I/O error")  # the transaction rolls back, as a failed COMMIT would

    monkeypatch.setattr(actions, "do_record_dlrs", applied_then_commit_fails)
    params = signed_dlr(KEY, "1", answer="DELIVRD")
    r = client.get("/sms-gateway/kannel/dlr", params=params)
    assert r.status_code == 503  # Kannel retries the report later
    m = message()
    assert m.state is MessageState.QUEUED and m.final_at is None
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(WarningReceipt)).scalar_one() == 0

    monkeypatch.setattr(actions, "do_record_dlrs", real)
    assert client.get("/sms-gateway/kannel/dlr", params=params).status_code == 200  # Kannel's retry
    assert message().state is MessageState.DELIVERED


def test_a_submitted_text_with_no_final_report_within_24_hours_expires(database: str) -> None:
    accept(wang_request(voice=False), sms="kannel")
    with db.transaction() as s:
        actions.do_claim_due(s, kind=ChannelKind.SMS, limit=1, actor=SENDER)
    with db.transaction() as s:
        actions.do_record_sms_results(
            s, [SendResult(KEY, MessageState.SUBMITTED)], channel="kannel", actor=SENDER
        )
    submitted_at = message().submitted_at
    assert submitted_at is not None
    sender = WarningSender(OutboxSmsChannel(), OutboxVoiceChannel())

    with clock.frozen(submitted_at + SMS_VALIDITY - timedelta(minutes=1)):
        assert sender.maintain()["expired"] == 0
    assert message().state is MessageState.SUBMITTED

    with clock.frozen(submitted_at + SMS_VALIDITY + timedelta(minutes=1)):
        assert sender.maintain()["expired"] == 1
    m = message()
    assert m.state is MessageState.EXPIRED
    assert m.final_at == submitted_at + SMS_VALIDITY + timedelta(minutes=1)


def test_a_text_delivered_before_the_24_hours_are_up_never_expires(database: str) -> None:
    accept(wang_request(voice=False), sms="kannel")
    with db.transaction() as s:
        actions.do_claim_due(s, kind=ChannelKind.SMS, limit=1, actor=SENDER)
        actions.do_record_sms_results(
            s, [SendResult(KEY, MessageState.SUBMITTED)], channel="kannel", actor=SENDER
        )
    with db.transaction() as s:
        actions.do_record_dlrs(s, [actions.Dlr(KEY, 1, "DELIVRD")], source="kannel", actor=SENDER)
    with clock.frozen(clock.now() + SMS_VALIDITY * 2):
        assert WarningSender(OutboxSmsChannel(), OutboxVoiceChannel()).maintain()["expired"] == 0
    assert message().state is MessageState.DELIVERED
