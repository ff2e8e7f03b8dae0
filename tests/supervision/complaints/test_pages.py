"""The complaint pages: the queue with its clocks, the intake form, a complaint's page with its
timeline and links, and a handling form's refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from pingan.core import clock
from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.complaints.conftest import register, step


def login(client: TestClient, user: User) -> None:
    client.headers.update(bearer(user))


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    marker = 'name="csrf_token" value="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


def test_the_queue_lists_a_complaint_with_its_clock_counting_down(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"])
    login(client, handlers["sun"])
    page = client.get("/complaints")
    assert page.status_code == 200
    assert f'href="/complaints/{c["id"]}"' in page.text
    assert 'class="countdown" data-due="2026-03-25T16:00:00+00:00"' in page.text


def test_a_complainants_closed_review_window_is_nobodys_overdue_work(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    # Answered on 11 March: the complainant could ask for a review for 30 days. Months later that
    # window is closed; the queue shows no clock for it, not a red "overdue".
    step(client, handlers["liu"], accepted["id"], "finding", finding="not_substantiated",
         root_cause="attitude", at="2026-03-11T02:00:00Z")  # fmt: skip
    answered = step(
        client,
        handlers["liu"],
        accepted["id"],
        "answer",
        at="2026-03-11T02:00:00Z",
        text="经调查，答复如下。",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    login(client, handlers["sun"])

    def row() -> str:
        page = client.get("/complaints").text
        return page.split(f'href="/complaints/{accepted["id"]}"', 1)[1].split("</tr>", 1)[0]

    open_window = row()  # the tests' clock: days after the answer
    assert 'class="countdown" data-due="2026-04-10T16:00:00+00:00"' in open_window  # counting down
    with clock.frozen(datetime(2026, 6, 1, tzinfo=UTC)):
        login(client, handlers["sun"])  # a token of June
        closed = row()
    assert "countdown" not in closed and "none running" in closed


def test_the_intake_form_registers_and_shows_the_complaint(
    client: TestClient, handlers: dict[str, User]
) -> None:
    login(client, handlers["liu"])
    token = csrf(client, "/complaints/new")
    r = client.post(
        "/complaints/new",
        data={
            "csrf_token": token,
            "channel": "letter",
            "received_at": "2026-03-10T09:00",
            "complainant_name": "张秀英",
            "complainant_phone": "13800138000",
            "subject_kind": "unit",
            "subject_ref": "WH-YL",
            "text": "扣押的手机一直不退还，案件结束了还不发还。",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "letter" in page.text and "13800138000" not in page.text and "received" in page.text


def test_the_intake_form_refuses_a_subject_that_does_not_exist_and_keeps_the_text(
    client: TestClient, handlers: dict[str, User]
) -> None:
    login(client, handlers["liu"])
    token = csrf(client, "/complaints/new")
    r = client.post(
        "/complaints/new",
        data={
            "csrf_token": token,
            "channel": "web",
            "received_at": "2026-03-10T09:00",
            "complainant_name": "张秀英",
            "complainant_phone": "13800138000",
            "subject_kind": "incident",
            "subject_ref": "987654",
            "text": "出警太慢，等了一个小时。",
        },
    )
    assert r.status_code == 422 and "subject_ref" in r.text and "出警太慢，等了一个小时。" in r.text


def test_the_complaint_page_shows_the_timeline_and_the_link_with_its_reason(
    client: TestClient, handlers: dict[str, User]
) -> None:
    first = register(client, handlers["liu"])
    again = register(
        client,
        handlers["liu"],
        received_at="2026-03-15T01:00:00Z",
        text="再次反映：出警民警态度恶劣，我在玉林北路报警说电动车被邻居拿走，请给个说法。",
    )
    login(client, handlers["sun"])
    page = client.get(f"/complaints/{again['id']}")
    assert page.status_code == 200
    assert f'href="/complaints/{first["id"]}"' in page.text
    assert (
        "same complainant" in page.text
        and "same matter" in page.text
        and "repeat of the same matter" in page.text
    )
    assert 'id="timeline"' in page.text and "received" in page.text


def test_an_answer_form_dated_before_acceptance_shows_the_page_again_with_why(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    login(client, handlers["liu"])
    token = csrf(client, f"/complaints/{accepted['id']}")
    client.post(
        f"/complaints/{accepted['id']}/finding",
        data={"csrf_token": token, "finding": "partly", "root_cause": "delay", "at": "2026-03-12T10:00"},
    )
    r = client.post(
        f"/complaints/{accepted['id']}/answer",
        data={"csrf_token": token, "at": "2026-03-11T09:59", "text": "经调查，现答复如下。"},
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "at" in r.text


def test_the_extension_form_without_an_approver_is_forbidden(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    login(client, handlers["liu"])
    token = csrf(client, f"/complaints/{accepted['id']}")
    r = client.post(
        f"/complaints/{accepted['id']}/extension", data={"csrf_token": token, "reason": "情况复杂"}
    )
    assert r.status_code == 403 and 'role="alert"' in r.text


def test_the_extension_form_sends_the_request_to_the_approvers_queue(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    login(client, handlers["liu"])
    token = csrf(client, f"/complaints/{accepted['id']}")
    r = client.post(
        f"/complaints/{accepted['id']}/extension",
        data={"csrf_token": token, "approver": "supervisor_zhao", "reason": "情况复杂"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/complaints/{accepted['id']}")
    assert 'id="extension-requests"' in page.text and "supervisor_zhao" in page.text
    login(client, handlers["zhao"])
    queue = client.get("/supervision/approvals")
    assert f'href="/complaints/{accepted["id"]}"' in queue.text


def test_the_bulletin_page_shows_each_share_with_its_sample_and_interval(
    client: TestClient, handlers: dict[str, User], accepted: dict[str, Any]
) -> None:
    login(client, handlers["sun"])
    page = client.get("/complaints/bulletin?month=2026-03")
    assert page.status_code == 200
    assert "95% interval" in page.text and 'data-chart="yoy"' in page.text


def test_an_officer_does_not_see_the_complaints_queue(client: TestClient, handlers: dict[str, User]) -> None:
    login(client, handlers["li"])
    assert client.get("/complaints").status_code == 403
