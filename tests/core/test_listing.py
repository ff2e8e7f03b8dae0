"""The list helper: whitelisted sorting, signed cursors, paging that returns each row once in both
directions, search that keys typed numbers to pseudonyms, and exports of the same query."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.antifraud.mules.review.queries import CANDIDATE_LIST, CandidateFilter, candidate_list_query
from pingan.core import clock, db, listing
from pingan.core.errors import Invalid
from pingan.core.pii import PiiKind, lookup_key
from tests.factories import card, national_id


def test_a_sort_outside_the_whitelist_is_invalid_naming_sort() -> None:
    with pytest.raises(Invalid) as err:
        listing.parse_sort(CANDIDATE_LIST, "account_pseudonym")
    assert err.value.field == "sort" and "score" in err.value.message


def test_a_leading_dash_sorts_descending_and_no_sort_is_the_default() -> None:
    assert listing.parse_sort(CANDIDATE_LIST, "queued_at") == listing.Sort("queued_at", False)
    assert listing.parse_sort(CANDIDATE_LIST, "-queued_at") == listing.Sort("queued_at", True)
    assert listing.parse_sort(CANDIDATE_LIST, "") == listing.Sort("score", True)


def test_a_cursor_round_trips_its_position_and_time() -> None:
    sort = listing.Sort("queued_at", True)
    at = clock.now()
    raw = listing.encode_cursor(listing.Cursor(sort.param, at, 42, before=True))
    assert listing.decode_cursor(raw, sort) == listing.Cursor("-queued_at", at, 42, True)


def test_an_altered_cursor_is_refused_naming_cursor() -> None:
    sort = listing.Sort("score", True)
    raw = listing.encode_cursor(listing.Cursor(sort.param, 0.5, 7))
    blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).replace(b",7,", b",8,")
    forged = base64.urlsafe_b64encode(blob).decode().rstrip("=")
    for bad in (forged, "not-a-cursor", ""):
        with pytest.raises(Invalid) as err:
            listing.decode_cursor(bad or "@@", sort)
        assert err.value.field == "cursor"


def test_a_cursor_of_another_sort_order_is_refused() -> None:
    raw = listing.encode_cursor(listing.Cursor("-score", 0.5, 7))
    with pytest.raises(Invalid) as err:
        listing.decode_cursor(raw, listing.Sort("score", False))
    assert err.value.field == "cursor"


def test_a_typed_phone_is_searched_by_its_pseudonym_only() -> None:
    term = listing.parse_search("138 1234 5678")
    assert term is not None
    assert term.phone == lookup_key(PiiKind.PHONE, "13812345678")
    assert (term.text, term.card, term.national_id) == ("", None, None)
    assert "13812345678" not in term.audited()


def test_a_typed_card_and_id_number_are_searched_by_their_pseudonyms() -> None:
    number = card("622202", 5)
    term = listing.parse_search(number)
    assert term is not None and term.card == lookup_key(PiiKind.CARD, number) and term.text == ""
    pid = listing.parse_search(national_id())
    assert pid is not None and pid.national_id == lookup_key(PiiKind.NATIONAL_ID, national_id())


def test_a_case_number_is_searched_as_typed() -> None:
    term = listing.parse_search(" 510107-2026-000006 ")
    assert term is not None and term.text == "510107-2026-000006"


def test_bad_filter_values_are_invalid_naming_the_filter() -> None:
    with pytest.raises(Invalid) as err:
        listing.date_filter("2026-13-01", "date_from")
    assert err.value.field == "date_from"
    with pytest.raises(Invalid) as err:
        listing.int_filter("99999999999", "report")
    assert err.value.field == "report"
    with pytest.raises(Invalid) as err:
        listing.export_format("pdf")
    assert err.value.field == "format"


def test_a_beijing_day_starts_at_sixteen_hundred_utc_the_day_before() -> None:
    from datetime import date

    assert listing.day_start(date(2026, 11, 21)).isoformat() == "2026-11-20T16:00:00+00:00"


def test_a_formula_in_an_exported_text_cell_is_kept_as_text() -> None:
    column = listing.ExportColumn("Note", "note")
    row: Any = type("R", (), {"_mapping": {"note": "=HYPERLINK(1)"}})()
    assert column.value(row) == "'=HYPERLINK(1)"


def _page_through(session: Session, sort: listing.Sort, limit: int) -> tuple[list[int], list[int]]:
    """Every id, page by page forwards; then back from the last page by the previous links."""
    query = candidate_list_query(CandidateFilter(status=None))
    forwards: list[int] = []
    pages: list[listing.Page] = []
    cursor = ""
    while True:
        page = listing.fetch_page(session, CANDIDATE_LIST, query, sort, cursor=cursor, limit=limit)
        pages.append(page)
        forwards += [r.id for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    backwards: list[int] = []
    page = pages[-1]
    backwards = [r.id for r in page.rows]
    while page.prev_cursor is not None:
        page = listing.fetch_page(session, CANDIDATE_LIST, query, sort, cursor=page.prev_cursor, limit=limit)
        backwards = [r.id for r in page.rows] + backwards
    return forwards, backwards


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scores=st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9]), min_size=0, max_size=12),
    limit=st.integers(1, 5),
    descending=st.booleans(),
)
def test_paging_returns_every_row_once_in_either_direction_whatever_the_ties(
    database: str, scores: list[float], limit: int, descending: bool
) -> None:
    with db.transaction() as s:
        s.execute(delete(MuleCandidate))
        s.add_all(
            MuleCandidate(account_pseudonym=f"p{i}", score=score, queued_at=clock.now())
            for i, score in enumerate(scores)
        )
    with db.transaction() as s:
        sort = listing.Sort("score", descending)
        forwards, backwards = _page_through(s, sort, limit)
        expected = sorted(((c.score, c.id) for c in s.query(MuleCandidate)), reverse=descending)
    assert forwards == [i for _, i in expected]
    assert backwards == forwards
