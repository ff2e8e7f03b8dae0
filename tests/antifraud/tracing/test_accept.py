"""Accepting a trace's freeze recommendations: a draft finding, and the accounts watch-listed as `traced`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.orders.choices import FindingStatus
from pingan.antifraud.orders.model import PoliceFinding
from pingan.antifraud.tracing import Limits, trace
from pingan.antifraud.tracing.actions import check_accept_recommendations, do_accept_recommendations
from pingan.antifraud.tracing.engine import TraceResult
from pingan.antifraud.tracing.store import account_cards
from pingan.antifraud.watchlist.choices import WatchSource
from pingan.antifraud.watchlist.model import WatchlistEntry
from pingan.core.errors import Forbidden, Invalid
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import Actor, Role
from tests.antifraud.tracing.conftest import (
    ATM,
    MULE_T1_ZHAO,
    MULE_T2_QIAN,
    MULE_T2_SUN,
    VICTIM_WANG,
    Store,
    at,
    card_of,
)

ANALYST_ZHANG = Actor("zhang", Role.ANTIFRAUD_ANALYST)
OFFICER_LI = Actor("li", Role.OFFICER)


@pytest.fixture
def wang_trace(store: Store) -> tuple[TraceResult, dict[int, tuple[str, str]]]:
    """Wang's 10,000 yuan: Zhao keeps 2,000, sends 5,000 to Qian and 3,000 to Sun; Sun draws it at an ATM."""
    seed = store.tx(at(10, 0), VICTIM_WANG, MULE_T1_ZHAO, 10_000)
    store.tx(at(10, 5), MULE_T1_ZHAO, MULE_T2_QIAN, 5_000)
    store.tx(at(10, 6), MULE_T1_ZHAO, MULE_T2_SUN, 3_000)
    store.tx(at(10, 20), MULE_T2_SUN, ATM, 3_000)
    result = trace(store.index(), [seed], limits=Limits(min_fen=100_00))
    cards = account_cards(store.root, [r.account for r in result.recommendations()])
    return result, cards


def test_accepted_recommendations_put_each_account_on_the_watchlist_as_traced(
    session: Session, wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]]
) -> None:
    result, cards = wang_trace
    accepted = check_accept_recommendations(result, None, cards, actor=ANALYST_ZHANG)
    with session.begin():
        done = do_accept_recommendations(
            session, report_id=None, case_ref="510107-2026-000001", result=result,
            accepted=accepted, cards=cards, actor=ANALYST_ZHANG,
        )  # fmt: skip
    entries = session.execute(select(WatchlistEntry)).scalars().all()
    listed = {e.store_account_id: e for e in entries}
    assert set(listed) == {MULE_T1_ZHAO, MULE_T2_QIAN}  # Sun's money left at the ATM: nothing to freeze
    assert {e.source for e in entries} == {WatchSource.TRACED}
    assert listed[MULE_T2_QIAN].account_pseudonym == lookup_key(PiiKind.CARD, card_of(MULE_T2_QIAN))
    evidence = json.loads(listed[MULE_T1_ZHAO].evidence)[-1]
    assert evidence["recoverable_fen"] == 200_000
    assert evidence["finding_id"] == done.finding.id


def test_accepting_drafts_a_finding_with_the_recoverable_amounts_for_approval(
    session: Session, wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]]
) -> None:
    result, cards = wang_trace
    accepted = check_accept_recommendations(result, [MULE_T2_QIAN], cards, actor=ANALYST_ZHANG)
    with session.begin():
        done = do_accept_recommendations(
            session, report_id=None, case_ref="510107-2026-000001", result=result,
            accepted=accepted, cards=cards, actor=ANALYST_ZHANG,
        )  # fmt: skip
    assert done.finding.status is FindingStatus.DRAFT
    assert [(a.account.masked, a.traced_amount_fen) for a in done.finding.accounts] == [
        (done.listed[0].account_masked, 500_000)
    ]
    assert [e.store_account_id for e in done.listed] == [MULE_T2_QIAN]


def test_an_account_the_trace_did_not_recommend_is_refused_by_name(
    wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]],
) -> None:
    result, cards = wang_trace
    with pytest.raises(Invalid, match=f"account {MULE_T2_SUN}") as err:
        check_accept_recommendations(result, [MULE_T2_SUN], cards, actor=ANALYST_ZHANG)
    assert err.value.field == "accounts"


def test_an_officer_may_not_accept_recommendations(
    wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]],
) -> None:
    result, cards = wang_trace
    with pytest.raises(Forbidden):
        check_accept_recommendations(result, None, cards, actor=OFFICER_LI)


def test_a_finding_naming_no_account_is_refused_and_nothing_is_drafted(
    session: Session, wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]]
) -> None:
    result, cards = wang_trace
    with pytest.raises(Invalid, match="at least one involved account") as err, session.begin():
        do_accept_recommendations(
            session, report_id=None, case_ref="510107-2026-000001", result=result,
            accepted=[], cards=cards, actor=ANALYST_ZHANG,
        )  # fmt: skip
    assert err.value.field == "accounts"
    assert session.execute(select(PoliceFinding)).scalars().all() == []


def test_an_officer_may_not_draft_the_finding_even_past_the_accept_check(
    session: Session, wang_trace: tuple[TraceResult, dict[int, tuple[str, str]]]
) -> None:
    result, cards = wang_trace
    accepted = check_accept_recommendations(result, None, cards, actor=ANALYST_ZHANG)
    with pytest.raises(Forbidden, match="may not draft findings"), session.begin():
        do_accept_recommendations(
            session, report_id=None, case_ref="510107-2026-000001", result=result,
            accepted=accepted, cards=cards, actor=OFFICER_LI,
        )  # fmt: skip
    assert session.execute(select(PoliceFinding)).scalars().all() == []
