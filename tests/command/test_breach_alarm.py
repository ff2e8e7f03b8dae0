"""The live breach alarm: the sweep raises an alarm once per incident and measure, and the
dispatcher's queue page listens for it on the live stream."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.command import jobs
from pingan.command.live import TOPIC
from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, issue_token
from pingan.core.live import Change
from tests.command.conftest import T0, YULIN, actor_of, take_call


def _alarms() -> list[tuple[str, str]]:
    with db.read_transaction() as s:
        rows = s.execute(
            select(AuditEntry).where(AuditEntry.action == jobs.BREACH_ACTION).order_by(AuditEntry.id)
        )
        return [(e.object_id, json.loads(e.detail)["measure"]) for e in rows.scalars()]


def test_a_breach_is_raised_once_and_not_on_every_sweep(district: None) -> None:
    incident = take_call(
        text="有人持刀抢劫", category_code="010201", lat=YULIN[0], lon=YULIN[1], received_at=T0
    )
    assert jobs.raise_breaches(now=T0 + timedelta(seconds=20)) == []
    [first] = jobs.raise_breaches(now=T0 + timedelta(seconds=45))
    assert first.incident_id == incident
    assert [r.split(":")[0] for r in first.reasons] == ["sign_off"]
    assert jobs.raise_breaches(now=T0 + timedelta(seconds=60)) == []
    assert jobs.raise_breaches(now=T0 + timedelta(seconds=90)) == []
    # The on-scene target (urgent, urban: 300 s) is a second measure, raised once when it breaches.
    [second] = jobs.raise_breaches(now=T0 + timedelta(seconds=301))
    assert [r.split(":")[0] for r in second.reasons] == ["on_scene"]
    assert jobs.raise_breaches(now=T0 + timedelta(seconds=400)) == []
    assert _alarms() == [(str(incident), "sign_off"), (str(incident), "on_scene")]


def test_the_alarm_is_rendered_for_a_dispatcher_and_the_queue_page_listens_for_it(
    client: TestClient, dispatcher: User
) -> None:
    incident = take_call(
        text="两车相撞有人受伤", category_code="030101", lat=YULIN[0], lon=YULIN[1], received_at=T0
    )
    jobs.raise_breaches(now=T0 + timedelta(seconds=45))
    assert TOPIC.watches(jobs.BREACH_ACTION)
    with db.read_transaction() as s:
        [message] = TOPIC.render(
            s, actor_of(dispatcher), [Change(1, "command", jobs.BREACH_ACTION, (incident,))]
        )
    assert message.event == "breach" and f"/command/incidents/{incident}" in message.html
    client.cookies.set("pingan_token", issue_token(dispatcher))
    page = client.get("/command", headers={"Accept": "text/html", "HX-Request": "true"}).text
    assert 'sse-swap="breach"' in page


def test_the_alarm_command_raises_a_breach_once_across_runs(district: None) -> None:
    from typer.testing import CliRunner

    from pingan.cli import app

    take_call(text="有人持刀抢劫", category_code="010201", lat=YULIN[0], lon=YULIN[1], received_at=T0)
    first = CliRunner().invoke(app, ["command", "breaches", "--alarm"])
    again = CliRunner().invoke(app, ["command", "breaches", "--alarm"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output
    assert "sign_off:" in first.output and "1 open incidents newly past a target" in first.output
    assert "0 open incidents newly past a target" in again.output
