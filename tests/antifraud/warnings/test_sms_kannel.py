"""SMS through a real Kannel (bearerbox, smsbox, fake SMSC): submitted, delivered by DLR, faults survived."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pingan.antifraud.warnings.channels import ChannelLimits, OutgoingSms
from pingan.antifraud.warnings.choices import AlertKind, MessageState
from pingan.antifraud.warnings.jobs import WarningSender
from pingan.antifraud.warnings.model import WarningAlert, WarningMessage, WarningReceipt
from pingan.antifraud.warnings.outbox import OutboxVoiceChannel
from pingan.antifraud.warnings.sms_kannel import CONNECTS_AT_ONCE, KannelSmsChannel
from pingan.core import clock, db
from pingan.core.settings import get_settings
from tests.antifraud.warnings.conftest import accept, load_delivery, signed_dlr, wait_until, wang_request
from tests.peers import KannelStack

REPO = Path(__file__).resolve().parents[3]


def kannel_channel(kannel: KannelStack, callback: str) -> KannelSmsChannel:
    return KannelSmsChannel(
        sendsms_url=kannel.sendsms_url,
        username=kannel.username,
        password=kannel.password,
        callback_base_url=callback,
        dlr_key=get_settings().warnings.dlr_key(),
    )


def sms_state(plan_id: str) -> MessageState:
    return next(m.state for m in load_delivery(plan_id).messages if m.kind.value == "sms")


def test_a_warning_text_reaches_the_fake_smsc_in_chinese_and_its_dlr_marks_it_delivered(
    kannel: KannelStack, dlr_endpoint: str
) -> None:
    accept(wang_request(voice=False), sms="kannel")
    sender = WarningSender(kannel_channel(kannel, dlr_endpoint), OutboxVoiceChannel())

    summary = asyncio.run(sender.send_sms_batch())

    assert summary.by_state == {"submitted": 1}
    assert wait_until(lambda: sms_state("plan-wang-1") is MessageState.DELIVERED)
    assert wait_until(lambda: len(kannel.delivered()) == 1)
    [(sender_id, receiver, text)] = kannel.delivered()
    assert (sender_id, receiver) == ("96110", "13812345678")
    assert "冒充公检法" in text and "96110" in text
    delivery = load_delivery("plan-wang-1")
    assert delivery.first_contact_at is not None and delivery.first_contact_channel == "sms"
    with db.transaction() as s:
        codes = sorted(s.execute(select(WarningReceipt.code)).scalars())
    assert codes == ["1", "8"]


def test_kannel_down_queues_texts_with_backoff_and_raises_an_alert(
    kannel: KannelStack, dlr_endpoint: str
) -> None:
    accept(wang_request(voice=False), sms="kannel")
    kannel.stop_smsbox()
    sender = WarningSender(kannel_channel(kannel, dlr_endpoint), OutboxVoiceChannel())

    summary = asyncio.run(sender.send_sms_batch())

    assert summary.transient == 1
    with db.transaction() as s:
        m = s.execute(select(WarningMessage)).scalar_one()
        assert m.state is MessageState.QUEUED and m.transport_tries == 1 and m.due_at > clock.now()
        alert = s.execute(select(WarningAlert)).scalar_one()
        assert alert.kind is AlertKind.GATEWAY_DOWN and alert.closed_at is None


def test_after_kannel_recovers_every_queued_text_is_sent_once_and_the_alert_closes(
    kannel: KannelStack, dlr_endpoint: str
) -> None:
    for i in range(5):
        accept(wang_request(f"plan-{i}", phone=f"1381234560{i}", voice=False), sms="kannel")
    kannel.stop_smsbox()
    sender = WarningSender(kannel_channel(kannel, dlr_endpoint), OutboxVoiceChannel())
    asyncio.run(sender.send_sms_batch())
    asyncio.run(sender.send_sms_batch())  # still backing off: nothing is due, nothing is sent
    kannel.start_smsbox()

    with clock.frozen(clock.now() + timedelta(seconds=5)):
        summary = asyncio.run(sender.send_sms_batch())

    assert summary.by_state == {"submitted": 5}
    assert wait_until(lambda: len(kannel.delivered()) >= 5)
    receivers = collections.Counter(r for _, r, _ in kannel.delivered())
    assert receivers == {f"1381234560{i}": 1 for i in range(5)}
    with db.transaction() as s:
        assert s.execute(select(WarningAlert.closed_at)).scalar_one() is not None


def receipt_count() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(WarningReceipt)).scalar_one()


def receipts_settled(quiet_s: float = 1.0) -> bool:
    before = receipt_count()
    time.sleep(quiet_s)
    return receipt_count() == before


def test_killing_the_sender_mid_batch_sends_no_text_twice(kannel: KannelStack, dlr_endpoint: str) -> None:
    n = 120
    for i in range(n):
        accept(wang_request(f"plan-{i}", phone=f"139{i:08d}", voice=False), sms="kannel")
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": db.get_engine().url.render_as_string(hide_password=False),
        "PINGAN_WARNINGS_SMS_CHANNEL": "kannel",
        "PINGAN_WARNINGS_KANNEL_SENDSMS_URL": kannel.sendsms_url,
        "PINGAN_WARNINGS_KANNEL_PASSWORD": kannel.password,
        "PINGAN_WARNINGS_CALLBACK_BASE_URL": dlr_endpoint,
        # Slow enough that the kill lands in the middle of the run.
        "PINGAN_WARNINGS_SMS_RATE_PER_S": "100",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingan.cli", "warnings", "send", "--batch-size", "40", "--sms-only"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_until(lambda: len(kannel.delivered()) >= 30, 30), "the sender never got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    sent_before = len(kannel.delivered())
    assert sent_before < n, "the kill came after the batch had finished"

    # The in-doubt grace period: reports of texts Kannel took before the kill come in meanwhile.
    assert wait_until(receipts_settled, 30)
    sender = WarningSender(kannel_channel(kannel, dlr_endpoint), OutboxVoiceChannel())
    with clock.frozen(clock.now() + timedelta(minutes=2)):  # past the in-doubt grace
        sender.maintain()
        while asyncio.run(sender.send_sms_batch()).claimed:
            pass

    assert wait_until(lambda: len(kannel.delivered()) >= n, 30)
    receivers = collections.Counter(r for _, r, _ in kannel.delivered())
    assert len(receivers) == n and set(receivers.values()) == {1}
    with db.transaction() as s:
        left = s.execute(
            select(func.count()).where(WarningMessage.state.in_([MessageState.QUEUED, MessageState.SENDING]))
        ).scalar_one()
    assert left == 0


def test_a_dlr_for_another_message_id_cannot_reuse_a_valid_token(dlr_endpoint: str, database: str) -> None:
    import httpx

    accept(wang_request(voice=False), sms="kannel")
    params = {**signed_dlr("plan-wang-1:sms:1"), "mid": "plan-other:sms:1"}
    r = httpx.get(f"{dlr_endpoint}/sms-gateway/kannel/dlr", params=params)
    assert r.status_code == 401
    assert sms_state("plan-wang-1") is MessageState.QUEUED


def test_a_burst_of_texts_opens_no_more_connections_at_once_than_kannels_accept_queue_holds() -> None:
    """Kannel listens with a backlog of 10: connections beyond it wait a second for the kernel's retry."""
    unanswered, most_unanswered, open_connections = 0, 0, 0

    async def smsbox(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Stands in for the smsbox's sendsms: counts connections that have had no answer yet.
        nonlocal unanswered, most_unanswered, open_connections
        unanswered += 1
        open_connections += 1
        most_unanswered = max(most_unanswered, unanswered)
        first = True
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 4\r\n\r\nSent")
                await writer.drain()
                if first:
                    unanswered, first = unanswered - 1, False
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        finally:
            open_connections -= 1

    async def burst() -> list[MessageState]:
        server = await asyncio.start_server(smsbox, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        channel = KannelSmsChannel(
            sendsms_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
            username="pingan",
            password="secret",
            callback_base_url="http://127.0.0.1:1",
            dlr_key=b"k" * 32,
            limits=ChannelLimits(rate_per_s=10_000.0, burst=64, concurrency=64),
        )
        results = await asyncio.gather(
            *(channel.send(OutgoingSms(f"burst:{i}", "13800000000", "请勿转账")) for i in range(64))
        )
        await channel.aclose()
        deadline = time.monotonic() + 5
        while open_connections and time.monotonic() < deadline:  # let the stand-in see each close
            await asyncio.sleep(0.01)
        server.close()
        return [r.state for r in results]

    states = asyncio.run(burst())
    assert states == [MessageState.SUBMITTED] * 64
    assert most_unanswered <= CONNECTS_AT_ONCE < 10


pytestmark = pytest.mark.services
