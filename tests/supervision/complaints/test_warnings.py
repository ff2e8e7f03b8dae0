"""Complaint clocks on the legal-supervision office's warnings page: a clock due soon or breached shows
as a case deadline does, with a link to its complaint; a clock not yet in its warning time, a met
clock and an officer's view show none. The clock stands at 2026-03-20 10:00 Beijing time."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer
from tests.supervision.complaints.conftest import register, step


def complaint_rows(page: str) -> dict[int, str]:
    """The complaint-clock rows of the warnings page: complaint id to the row's class."""
    section = page.split('id="complaint-warnings"', 1)[1].split("</table>", 1)[0]
    return {
        int(cid): cls
        for cls, cid in re.findall(r'<tr class="deadline-(\w+)">\s*<td><a href="/complaints/(\d+)">', section)
    }


def test_an_acceptance_clock_due_soon_shows_as_a_warning_with_a_link_to_its_complaint(
    client: TestClient, handlers: dict[str, User]
) -> None:
    # Received 2026-03-07 09:00: 15 days end 2026-03-23 00:00 Beijing, warned 3 days before.
    c = register(client, handlers["liu"], received_at="2026-03-07T01:00:00Z")
    page = client.get("/supervision/warnings", headers=bearer(handlers["sun"])).text
    assert complaint_rows(page) == {c["id"]: "warning"}
    assert 'data-due="2026-03-22T16:00:00+00:00"' in page


def test_an_acceptance_clock_passed_shows_as_breached(client: TestClient, handlers: dict[str, User]) -> None:
    c = register(client, handlers["liu"], received_at="2026-03-01T01:00:00Z")
    page = client.get("/supervision/warnings", headers=bearer(handlers["sun"])).text
    assert complaint_rows(page) == {c["id"]: "breached"}


def test_a_clock_not_yet_in_its_warning_time_or_met_is_not_listed(
    client: TestClient, handlers: dict[str, User]
) -> None:
    calm = register(client, handlers["liu"])  # due 2026-03-26 00:00: warned from 03-23
    met = register(
        client, handlers["liu"], received_at="2026-03-01T01:00:00Z", complainant_phone="13900139000"
    )
    r = step(client, handlers["liu"], met["id"], "accept", accept=True, at="2026-03-05T02:00:00Z")
    assert r.status_code == 200, r.text
    page = client.get("/supervision/warnings", headers=bearer(handlers["sun"])).text
    assert calm["id"] not in complaint_rows(page) and met["id"] not in complaint_rows(page)
    assert "No complaint clock needs attention." in page


def test_an_officer_sees_no_complaint_clock_on_the_warnings_page(
    client: TestClient, handlers: dict[str, User]
) -> None:
    c = register(client, handlers["liu"], received_at="2026-03-01T01:00:00Z")
    page = client.get("/supervision/warnings", headers=bearer(handlers["li"]))
    assert page.status_code == 200
    assert 'id="complaint-warnings"' not in page.text and f'href="/complaints/{c["id"]}"' not in page.text
