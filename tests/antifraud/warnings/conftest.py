"""Fixtures of warning delivery: people at risk, real Kannel and SIPp peers, a live DLR endpoint.

Kannel (bearerbox, smsbox, fakesmsc) and SIPp run as real processes on free loopback ports, with
their configuration generated into the test's tmp folder, and are stopped after the test. Without
them the tests that need them skip with how to install them; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pingan.antifraud.warnings import actions, outbox, voice_prompts
from pingan.antifraud.warnings.actions import DeliveryRequest
from pingan.antifraud.warnings.choices import Urgency
from pingan.antifraud.warnings.gateway_api import create_gateway_app
from pingan.antifraud.warnings.model import WarningDelivery
from pingan.antifraud.warnings.sms_kannel import dlr_params
from pingan.core import clock, db
from pingan.core.org import Station
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor
from pingan.core.settings import get_settings
from tests.peers import (
    KANNEL_HINT,
    SIPP_HINT,
    KannelStack,
    SippUas,
    free_port,
    kannel_available,
    sipp_available,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
ANALYST = Actor.system("test-risk")


def need(available: bool, what: str, hint: str) -> None:
    """Skip (or, under CI, fail) when a peer binary is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {what} is not installed: {hint}")
    pytest.skip(f"{what} is not installed: {hint}")


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompts and outbox audio go to the test's folder, not to var/."""
    monkeypatch.setattr(voice_prompts, "prompt_cache_dir", lambda: tmp_path / "prompts")
    monkeypatch.setattr(outbox, "outbox_dir", lambda: tmp_path / "outbox")


def wang_request(plan_id: str = "plan-wang-1", **overrides: object) -> DeliveryRequest:
    """Wang, 72, mid-payment to a fake 'safe account' (冒充公检法), 50,000 yuan at risk."""
    phone = protect(PiiKind.PHONE, str(overrides.pop("phone", "13812345678")))
    fields: dict[str, object] = {
        "plan_id": plan_id,
        "person_pseudonym": "person:wang",
        "phone_cipher": phone.cipher,
        "phone_masked": phone.masked,
        "typology": "冒充公检法",
        "amount_fen": 5_000_000,
        "elderly": True,
        "home_station_code": "WH-YL",
        "urgency": Urgency.URGENT,
        "risk_event_at": datetime.now(UTC),
        "reasons": ("payee_watchlisted:report",),
    }
    fields.update(overrides)
    return DeliveryRequest(**fields)  # type: ignore[arg-type]


def accept(req: DeliveryRequest, *, sms: str = "outbox", voice: str = "outbox") -> WarningDelivery:
    with db.transaction() as s:
        actions.check_request(req)
        delivery, _ = actions.do_accept_plan(s, req, sms_channel=sms, voice_channel=voice, actor=ANALYST)
        return delivery


def load_delivery(plan_id: str) -> WarningDelivery:
    with db.transaction() as s:
        d = actions.get_delivery(s, plan_id)
        _ = [m.state for m in d.messages]
        return d


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def wang_station(station_yulin: Station) -> Station:
    return station_yulin


@pytest.fixture
def dlr_endpoint(database: str) -> Iterator[str]:
    """pingan's gateway sub-app served on a free port, as Kannel would reach it. Yields its base URL."""
    port = free_port()
    app = FastAPI()
    app.mount("/sms-gateway", create_gateway_app())  # as pingan.web.app mounts it
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[KannelStack]:
    """bearerbox + smsbox + fakesmsc on free ports."""
    need(kannel_available(), "Kannel (bearerbox, smsbox, fakesmsc)", KANNEL_HINT)
    stack = KannelStack(tmp_path / "kannel").start()
    yield stack
    stack.stop()


@pytest.fixture
def sipp_factory(tmp_path: Path) -> Iterator[Callable[..., SippUas]]:
    """Start SIPp user agent servers; all are stopped after the test."""
    need(sipp_available(), "SIPp (sip-tester)", SIPP_HINT)
    started: list[SippUas] = []

    def start(mode: str = "answer", digits: str = "1") -> SippUas:
        uas = SippUas(tmp_path / f"sipp-{len(started)}", mode=mode, digits=digits).start()
        started.append(uas)
        return uas

    yield start
    for uas in started:
        uas.stop()


def signed_dlr(message_key: str, dlr_type: str = "1", **extra: str) -> dict[str, str]:
    """The query of a DLR as Kannel would post it from the dlr-url pingan signed now."""
    return {
        **dlr_params(get_settings().warnings.dlr_key(), message_key, now=clock.now()),
        "type": dlr_type,
        **extra,
    }


@pytest.fixture
def client(database: str, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The web app as Kannel on this host reaches it: from loopback, the default gateway address."""
    from pingan.web.app import create_app

    # Like the shared `client`: English, or Chinese in a module marked `browser_language(None)`.
    marker = request.node.get_closest_marker("browser_language")
    language = marker.args[0] if marker else "en"
    headers = {"Accept-Language": language} if language else {}
    with TestClient(create_app(), client=("127.0.0.1", 50000), headers=headers) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
