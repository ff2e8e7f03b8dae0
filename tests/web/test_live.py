"""Live pages: what another process writes reaches open pages as server-sent events, within the
reader's role and station view, and only for a logged-in user.

The app runs under a real uvicorn server on a free port; the streams are read as a browser's
EventSource would, and the writes come from other connections or from another process.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import func, insert, select

from pingan.antifraud.orders import actions as order_actions
from pingan.antifraud.orders.choices import FindingStatus, OrderState
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.core import clock, db, live
from pingan.core.audit import AuditEntry
from pingan.core.auth import User, issue_token
from pingan.core.org import do_upsert_station
from pingan.core.roles import Actor, Role
from tests.antifraud.orders.conftest import free_port, mule_report, register
from tests.antifraud.risk.test_plans import flag, record
from tests.conftest import make_user
from tests.factories import report_payload

SYSTEM = Actor.system("test")
DELIVERY_BOUND_S = 5.0  # the poll is 1 s; the rest is slack for a shared, busy test machine


@dataclass
class Event:
    event: str
    data: str
    id: str | None
    at: float = field(default_factory=time.time)  # when it arrived


@dataclass
class Listener:
    """An open stream read in a thread, as a browser tab's EventSource reads it."""

    response: httpx.Response
    events: list[Event] = field(default_factory=list)
    comments: int = 0
    thread: threading.Thread | None = None

    def read(self) -> None:
        name, data, eid = "message", [], None
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if data:
                        self.events.append(Event(name, "\n".join(data), eid))
                    name, data, eid = "message", [], None
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif line.startswith("id:"):
                    eid = line[3:].strip()
                elif line.startswith(":"):
                    self.comments += 1
        except (httpx.HTTPError, RuntimeError):
            return  # closed by the test

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = DELIVERY_BOUND_S) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if predicate(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(
            f"no such event within {timeout} s; got {[(e.event, e.data) for e in self.events]}"
        )

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.event == name]

    def close(self) -> None:
        """Close the connection as a browser closing the tab does. Closing the socket alone would
        not do: while the reading thread waits in recv() the kernel keeps the connection open, and
        the server would see nothing until its next heartbeat. shutdown() ends it at once."""
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        if self.thread is not None:
            self.thread.join(5)


@dataclass
class LiveServer:
    base_url: str
    client: httpx.Client
    opened: list[Listener] = field(default_factory=list)

    def open(
        self, user: User, topics: str, last_event_id: str | None = None, language: str = "zh-CN"
    ) -> Listener:
        headers = {
            "Authorization": f"Bearer {issue_token(user)}",
            "Accept": "text/event-stream",
            "Accept-Language": language,
        }
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        request = self.client.build_request(
            "GET", f"{self.base_url}/live/stream", params={"topics": topics}, headers=headers
        )
        response = self.client.send(request, stream=True)
        assert response.status_code == 200, response.read()
        listener = Listener(response)
        listener.thread = threading.Thread(target=listener.read, daemon=True)
        listener.thread.start()
        # The first message (the counter, or nothing for a role without one) says the stream is live.
        self.opened.append(listener)
        return listener


@pytest.fixture
def server(database: str) -> Iterator[LiveServer]:
    """pingan's whole app under uvicorn on a free port."""
    from pingan.web.app import create_app

    port = free_port()
    app = create_app()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
    live_server = LiveServer(f"http://127.0.0.1:{port}", client)
    yield live_server
    for listener in live_server.opened:
        listener.close()
    client.close()
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def stations(database: str) -> None:
    with db.transaction() as s:
        do_upsert_station(
            s, code="WH-YL", name="玉林派出所", lat=30.63, lon=104.05, area_geojson=None, actor=SYSTEM
        )
        do_upsert_station(
            s, code="WH-JX", name="锦绣派出所", lat=30.61, lon=104.07, area_geojson=None, actor=SYSTEM
        )


MARK_SENT = textwrap.dedent(
    """
    import sys
    import time
    import pingan.web.models  # noqa: F401 - every table registered
    from pingan.antifraud.orders import actions
    from pingan.core import db
    from pingan.core.roles import Actor

    db.configure(sys.argv[1])
    with db.transaction() as s:
        actions.do_mark_sent(s, actions.get_order(s, int(sys.argv[2])), actor=Actor.system("robot"))
    print(time.time())  # committed
    """
)


def _database_url() -> str:
    return db.get_engine().url.render_as_string(hide_password=False)


def _first_order() -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(func.min(RestrictionOrder.id))).scalar_one())


def test_an_order_sent_by_the_robot_process_redraws_its_badge_on_an_analysts_open_page(
    server: LiveServer, stations: None
) -> None:
    register(mule_report(1))
    order_id = _first_order()
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    stream = server.open(analyst, "orders")

    done = subprocess.run(
        [sys.executable, "-c", MARK_SENT, _database_url(), str(order_id)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    committed = float(done.stdout.split()[-1])
    badge = stream.wait_for(lambda e: e.event == f"order-{order_id}")

    assert badge.at - committed < DELIVERY_BOUND_S
    assert f'id="order-state-{order_id}"' in badge.data and "state-sent" in badge.data
    assert f'sse-swap="order-{order_id}"' in badge.data  # the new badge listens for the next change


def test_an_officer_does_not_receive_a_report_of_another_station(server: LiveServer, stations: None) -> None:
    officer_li = make_user("officer_li", Role.OFFICER, station_code="WH-YL")
    officer_zhao = make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")
    li, zhao = server.open(officer_li, "reports"), server.open(officer_zhao, "reports")

    register(report_payload(external_ref="510107-2026-000101", station_code="WH-YL"))
    register(report_payload(external_ref="510107-2026-000102", station_code="WH-JX"))

    li.wait_for(lambda e: e.event == "report" and "510107-2026-000101" in e.data)
    # Zhao's own station's report came after Li's: by the time it arrives, Li's would have too.
    zhao.wait_for(lambda e: e.event == "report" and "510107-2026-000102" in e.data)
    assert not any("510107-2026-000101" in e.data for e in zhao.events)
    assert not any("510107-2026-000102" in e.data for e in li.events)


def test_a_new_report_row_carries_no_clear_personal_data(server: LiveServer, stations: None) -> None:
    supervisor = make_user("supervisor_liu", Role.SUPERVISOR)
    stream = server.open(supervisor, "reports")
    payload = report_payload(external_ref="510107-2026-000201")
    register(payload)
    row = stream.wait_for(lambda e: e.event == "report").data
    victim = payload["victim"]
    for clear in (
        victim["name"],
        victim["national_id"],
        victim["phone"],
        payload["transfers"][0]["payer_card"],
    ):
        assert clear not in row
    assert "510107-2026-000201" in row


def test_the_stream_requires_login(server: LiveServer) -> None:
    api = server.client.get(f"{server.base_url}/live/stream", headers={"Accept": "text/event-stream"})
    page = server.client.get(
        f"{server.base_url}/live/stream", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert api.status_code == 401
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_an_unknown_topic_is_refused_naming_the_field(server: LiveServer) -> None:
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    answer = server.client.get(
        f"{server.base_url}/live/stream?topics=orders,payroll",
        headers={"Authorization": f"Bearer {issue_token(analyst)}"},
    )
    assert answer.status_code == 422 and answer.json()["field"] == "topics"


def test_a_closed_tab_frees_its_stream(server: LiveServer) -> None:
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    stream = server.open(analyst, "orders,risk")
    deadline = time.monotonic() + DELIVERY_BOUND_S
    while live.HUB.streams != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.HUB.streams == 1
    stream.close()
    deadline = time.monotonic() + DELIVERY_BOUND_S
    while live.HUB.streams != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.HUB.streams == 0


def _draft_findings() -> int:
    with db.read_transaction() as s:
        q = select(func.count()).select_from(PoliceFinding).where(PoliceFinding.status == FindingStatus.DRAFT)
        return int(s.execute(q).scalar_one())


def test_a_supervisors_counter_is_the_number_of_findings_awaiting_decision_and_follows_new_ones(
    server: LiveServer, stations: None
) -> None:
    supervisor = make_user("supervisor_liu", Role.SUPERVISOR)
    page = server.client.get(
        f"{server.base_url}/orders", headers={"Authorization": f"Bearer {issue_token(supervisor)}"}
    )
    assert f'<span class="count">{_draft_findings()}</span>' in page.text  # none yet: 0

    stream = server.open(supervisor, "")
    stream.wait_for(lambda e: e.event == "attention")
    register(mule_report(2))  # the robot drafts a finding for the holder's other accounts
    waiting = _draft_findings()
    assert waiting >= 1
    stream.wait_for(lambda e: e.event == "attention" and f">{waiting}</span>" in e.data)


def test_an_analysts_counter_counts_failed_and_refused_orders(server: LiveServer, stations: None) -> None:
    register(mule_report(3))
    order_id = _first_order()
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    stream = server.open(analyst, "orders")
    first = stream.wait_for(lambda e: e.event == "attention")
    assert ">0</span>" in first.data
    with db.transaction() as s:
        order = order_actions.get_order(s, order_id)
        order_actions.do_mark_sent(s, order, actor=Actor.system("robot"))
    with db.transaction() as s:
        order = order_actions.get_order(s, order_id)
        order_actions.do_record_failure(s, order, reason="bank unreachable", actor=Actor.system("robot"))
    with db.read_transaction() as s:
        failed = s.execute(
            select(func.count())
            .select_from(RestrictionOrder)
            .where(RestrictionOrder.state == OrderState.FAILED)
        ).scalar_one()
    assert failed == 1
    stream.wait_for(lambda e: e.event == "attention" and '"count nonzero">1</span>' in e.data)


def test_a_risk_event_recorded_by_screening_goes_on_top_of_an_officers_queue_of_the_persons_station(
    server: LiveServer, stations: None
) -> None:
    officer_li = make_user("officer_li", Role.OFFICER, station_code="WH-YL")
    officer_zhao = make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")
    li, zhao = server.open(officer_li, "risk"), server.open(officer_zhao, "risk")
    record(flag(1))  # victim Wang lives in Yulin (WH-YL)
    row = li.wait_for(lambda e: e.event == "risk").data
    assert row.startswith('<tr id="risk-event-') and "victim-wang"[:12] in row
    zhao.wait_for(lambda e: e.event == "attention")
    time.sleep(2 * live.POLL_S)  # one more poll than Li needed
    assert zhao.named("risk") == []


def test_logging_out_ends_an_open_stream(
    server: LiveServer, stations: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "TOKEN_CHECK_S", 0.5)
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    token = issue_token(analyst)
    request = server.client.build_request(
        "GET", f"{server.base_url}/live/stream?topics=orders", headers={"Authorization": f"Bearer {token}"}
    )
    stream = Listener(server.client.send(request, stream=True))
    server.opened.append(stream)
    threading.Thread(target=stream.read, daemon=True).start()
    stream.wait_for(lambda e: e.event == "attention")

    out = server.client.post(
        f"{server.base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert out.status_code == 204
    end = stream.wait_for(lambda e: e.event == "end")
    assert "login ended" in end.data


def test_a_change_that_commits_after_a_later_one_is_still_delivered(database: str) -> None:
    """PostgreSQL hands out ids before COMMIT: the poller looks again for an id it skipped over."""
    if database != "postgres":
        pytest.skip("SQLite has one writer: its ids commit in order")
    from pingan.web import live as web_live

    web_live.install()
    hub = live.Hub()
    hub.cursor = live._log_end()
    table = AuditEntry.__table__
    row = {"lane": 1, "at": clock.now(), "actor": "robot", "role": "system", "object_type": "restriction_order",
           "purpose": None, "detail": "{}", "prev_hash": "0" * 64, "hash": "0" * 64}  # fmt: skip
    engine = db.get_engine()

    def orders(changes: list[live.Change]) -> list[tuple[int, ...]]:
        return [c.ids for c in changes if c.topic == "orders"]

    with engine.connect() as slow, engine.connect() as quick:
        slow.execute(insert(table).values(**row, seq=10**9, action="order.sent", object_id="41"))
        quick.execute(insert(table).values(**row, seq=10**9 + 1, action="order.sent", object_id="42"))
        quick.commit()
        assert orders(hub.poll()) == [(42,)]
        slow.commit()
        assert orders(hub.poll()) == [(41,)]
        assert hub.poll() == []  # each change once


def test_a_late_commit_is_delivered_even_after_many_rolled_back_ids(database: str) -> None:
    """Rolled-back inserts leave the id sequence far ahead of the log's end; the ids kept as gaps
    are those just below a new entry, where a late commit is."""
    if database != "postgres":
        pytest.skip("SQLite has one writer: its ids commit in order")
    from sqlalchemy import text

    from pingan.web import live as web_live

    web_live.install()
    hub = live.Hub()
    hub.cursor = live._log_end()
    table = AuditEntry.__table__
    row = {"lane": 1, "at": clock.now(), "actor": "robot", "role": "system", "object_type": "restriction_order",
           "purpose": None, "detail": "{}", "prev_hash": "0" * 64, "hash": "0" * 64}  # fmt: skip
    engine = db.get_engine()
    with engine.connect() as burn:
        burn.execute(
            text("SELECT nextval(pg_get_serial_sequence('audit_entry', 'id')) FROM generate_series(1, :n)"),
            {"n": 3 * live.MAX_GAPS},
        )
        burn.rollback()  # a sequence does not roll back: these ids are never used
    with engine.connect() as slow, engine.connect() as quick:
        slow.execute(insert(table).values(**row, seq=10**9 + 2, action="order.sent", object_id="43"))
        quick.execute(insert(table).values(**row, seq=10**9 + 3, action="order.sent", object_id="44"))
        quick.commit()
        assert [c.ids for c in hub.poll() if c.topic == "orders"] == [(44,)]
        slow.commit()
        assert [c.ids for c in hub.poll() if c.topic == "orders"] == [(43,)]


def test_a_delivery_report_reaches_the_warnings_page_of_the_persons_station_without_the_phone(
    server: LiveServer, stations: None
) -> None:
    from pingan.antifraud.warnings import actions as warning_actions
    from tests.antifraud.warnings.conftest import accept, wang_request

    officer_li = make_user("officer_li", Role.OFFICER, station_code="WH-YL")
    officer_zhao = make_user("officer_zhao", Role.OFFICER, station_code="WH-JX")
    accept(wang_request(phone="13812345678", voice=False), sms="kannel")  # Wang lives in Yulin
    li, zhao = server.open(officer_li, "warnings", language="en"), server.open(officer_zhao, "warnings")
    with db.transaction() as s:
        warning_actions.do_record_dlrs(
            s, [warning_actions.Dlr("plan-wang-1:sms:1", 1, "DELIVRD")], source="kannel", actor=SYSTEM
        )
    row = li.wait_for(lambda e: e.event == "warning").data
    assert "plan-wang-1" in row and "delivered" in row  # in the language the page asked for
    assert "13812345678" not in row and "138****5678" not in row
    zhao.wait_for(lambda e: e.event == "attention")
    time.sleep(2 * live.POLL_S)
    assert zhao.named("warning") == []


def test_an_idle_stream_sends_a_heartbeat(
    server: LiveServer, stations: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "HEARTBEAT_S", 0.3)
    stream = server.open(make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST), "orders")
    deadline = time.monotonic() + DELIVERY_BOUND_S
    while stream.comments < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.comments >= 2


def test_a_reconnecting_page_gets_the_changes_it_missed(server: LiveServer, stations: None) -> None:
    register(mule_report(4))
    order_id = _first_order()
    analyst = make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST)
    first = server.open(analyst, "orders")
    first.wait_for(lambda e: e.event == "attention")
    with db.transaction() as s:
        order_actions.do_mark_sent(s, order_actions.get_order(s, order_id), actor=Actor.system("robot"))
    seen = first.wait_for(lambda e: e.event == f"order-{order_id}")
    assert seen.id is not None and seen.id.isdigit()

    # The tab lost its connection just before that event; its browser reconnects with the last id it had.
    again = server.open(analyst, "orders", last_event_id=str(int(seen.id) - 1))
    replayed = again.wait_for(lambda e: e.event == f"order-{order_id}")
    assert "state-sent" in replayed.data


def test_on_postgresql_a_commit_wakes_the_poller_without_waiting_for_the_next_poll(
    server: LiveServer, stations: None, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    if database != "postgres":
        pytest.skip("SQLite has no LISTEN/NOTIFY: its pages learn of a change at the next poll")
    monkeypatch.setattr(live, "POLL_S", 30.0)
    register(mule_report(5))
    order_id = _first_order()
    stream = server.open(make_user("analyst_zhang", Role.ANTIFRAUD_ANALYST), "orders")
    stream.wait_for(lambda e: e.event == "attention")
    time.sleep(0.5)  # the listener's connection is up
    with db.transaction() as s:
        order_actions.do_mark_sent(s, order_actions.get_order(s, order_id), actor=Actor.system("robot"))
    started = time.monotonic()
    stream.wait_for(lambda e: e.event == f"order-{order_id}", timeout=5.0)
    assert time.monotonic() - started < 5.0  # well under the 30 s poll
