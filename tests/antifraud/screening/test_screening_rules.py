"""Each screening rule, one behaviour per test, on a few hand-made transfers; and batch-split invariance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.antifraud.screening.engine import (
    REFERENCE_SCHEMA,
    TX_SCHEMA,
    ScreenState,
    screen_batch,
)
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 Beijing time
WANG, GRANDMA_LI, EMPLOYER = 1, 2, 3  # payer accounts
FRIEND, MULE_CARD, MULE_CARD_2, MULE_CARD_3 = 11, 21, 22, 23  # payee accounts


def reference() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [
                WANG,
                GRANDMA_LI,
                EMPLOYER,
                FRIEND,
                MULE_CARD,
                MULE_CARD_2,
                MULE_CARD_3,
                31,
                32,
                33,
            ],
            "person_id": [101, 102, 103, 111, 121, 122, 123, 131, 132, 133],
            "birth_date": [date(1990, 1, 1), date(1950, 5, 5)] + [date(1985, 1, 1)] * 8,
            "business": [False, False, True] + [False] * 7,
        },
        schema=REFERENCE_SCHEMA,
    )


def tx(rows: list[tuple[int, timedelta, int, int, int]]) -> pl.DataFrame:
    """Transfers as (tx_id, time after T0, payer, payee, amount in fen)."""
    return pl.DataFrame(
        {
            "tx_id": [r[0] for r in rows],
            "ts": [T0 + r[1] for r in rows],
            "payer_account": [r[2] for r in rows],
            "payee_account": [r[3] for r in rows],
            "amount_fen": [r[4] for r in rows],
            "channel": ["mobile_banking"] * len(rows),
            "payer_bank": ["ICBC"] * len(rows),
            "payee_bank": ["CCB"] * len(rows),
        },
        schema=TX_SCHEMA,
    )


def no_watchlist() -> pl.DataFrame:
    return pl.DataFrame(schema=WATCHLIST_SCHEMA)


def listed(
    account: int, at: datetime, source: str = "reported_payee", confidence: float = 1.0
) -> pl.DataFrame:
    return pl.DataFrame(
        {"account_id": [account], "listed_from": [at], "expires_at": [None], "source": [source],
         "confidence": [confidence], "typology": ["冒充公检法"]},
        schema=WATCHLIST_SCHEMA,
    )  # fmt: skip


def reasons_of(
    rules: RuleSet, transfers: pl.DataFrame, watchlist: pl.DataFrame | None = None
) -> dict[int, list[str]]:
    flags, _ = screen_batch(
        transfers, ScreenState(), rules, watchlist if watchlist is not None else no_watchlist(), reference()
    )
    return {r["tx_id"]: r["reasons"] for r in flags.iter_rows(named=True)}


def test_a_transfer_to_a_listed_payee_is_flagged_with_the_source(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx([(1, timedelta(hours=1), WANG, MULE_CARD, 80_000)]),
        listed(MULE_CARD, T0, "holder_link", 0.8),
    )
    assert got[1] == ["WL-PAYEE:holder_link"]


def test_a_transfer_of_any_amount_to_a_reported_payee_is_flagged(rules: RuleSet) -> None:
    got = reasons_of(rules, tx([(1, timedelta(hours=1), WANG, MULE_CARD, 20_000)]), listed(MULE_CARD, T0))
    assert got[1] == ["WL-PAYEE-REPORTED:reported_payee"]


def test_a_small_transfer_to_a_holder_linked_account_is_not_flagged(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx([(1, timedelta(hours=1), WANG, MULE_CARD, 20_000)]),
        listed(MULE_CARD, T0, "holder_link", 0.8),
    )
    assert got == {}


def test_a_transfer_made_before_the_payee_was_listed_is_not_a_watchlist_hit(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx([(1, timedelta(hours=1), WANG, MULE_CARD, 80_000)]),
        listed(MULE_CARD, T0 + timedelta(days=1)),
    )
    assert 1 not in got


def test_a_first_large_transfer_to_a_new_payee_is_flagged(rules: RuleSet) -> None:
    assert reasons_of(rules, tx([(1, timedelta(0), WANG, MULE_CARD, 2_000_000)]))[1] == ["P-FIRST-LARGE"]


def test_a_large_transfer_to_a_payee_paid_before_is_not_a_first_transfer(rules: RuleSet) -> None:
    got = reasons_of(
        rules, tx([(1, timedelta(0), WANG, FRIEND, 20_000), (2, timedelta(days=2), WANG, FRIEND, 25_000)])
    )
    assert got == {}


def test_repeated_escalating_transfers_to_a_new_payee_are_flagged(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx(
            [(1, timedelta(0), WANG, MULE_CARD, 800_000), (2, timedelta(hours=6), WANG, MULE_CARD, 1_600_000)]
        ),
    )
    assert got == {2: ["P-ESCALATING"]}


def test_a_burst_of_transfers_to_new_payees_within_minutes_is_flagged(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx([(i, timedelta(minutes=5 * i), WANG, 30 + i, 20_000) for i in (1, 2, 3)]),
    )
    assert got == {3: ["P-NEW-PAYEE-BURST"]}


def test_an_elderly_payer_transferring_at_night_is_flagged(rules: RuleSet) -> None:
    night = timedelta(hours=15, minutes=30)  # 01:30 Beijing time next day
    got = reasons_of(
        rules,
        tx([(1, timedelta(days=-60), GRANDMA_LI, FRIEND, 1_000), (2, night, GRANDMA_LI, FRIEND, 1_200_000)]),
    )
    assert got[2] == ["P-ELDERLY-NIGHT"]


def test_the_third_new_payer_of_a_collecting_card_is_flagged(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx(
            [
                (i, timedelta(hours=i), payer, MULE_CARD, 150_000)
                for i, payer in ((1, WANG), (2, GRANDMA_LI), (3, 31))
            ]
        ),
    )
    assert got == {3: ["P-MULE-PAYEE"]}


def test_a_payee_paid_by_many_new_payers_in_a_week_is_a_biller_not_a_collecting_card(
    rules: RuleSet,
) -> None:
    payers = [WANG, GRANDMA_LI, 31, 32, 33, *range(40, 47)]  # twelve new payers
    got = reasons_of(
        rules, tx([(i, timedelta(hours=i), payer, FRIEND, 150_000) for i, payer in enumerate(payers, 1)])
    )
    assert set(got) == {3, 4, 5, 6, 7, 8, 9, 10}


def test_money_passed_on_within_hours_is_layering_not_a_victim_payment(rules: RuleSet) -> None:
    got = reasons_of(
        rules,
        tx(
            [
                (1, timedelta(0), 31, MULE_CARD, 2_000_000),
                (2, timedelta(minutes=3), MULE_CARD, MULE_CARD_2, 1_900_000),
            ]
        ),
    )
    assert 2 not in got


def test_a_listed_payer_is_not_flagged_as_a_victim(rules: RuleSet) -> None:
    got = reasons_of(
        rules, tx([(1, timedelta(hours=1), MULE_CARD, MULE_CARD_3, 2_000_000)]), listed(MULE_CARD, T0)
    )
    assert got == {}


def test_an_employer_paying_wages_is_not_a_likely_victim(rules: RuleSet) -> None:
    assert reasons_of(rules, tx([(1, timedelta(0), EMPLOYER, FRIEND, 900_000)])) == {}


def test_a_flag_carries_the_amount_at_risk_paid_to_that_payee_so_far(rules: RuleSet) -> None:
    flags, _ = screen_batch(
        tx([(1, timedelta(0), WANG, MULE_CARD, 800_000), (2, timedelta(hours=6), WANG, MULE_CARD, 1_600_000)]),
        ScreenState(), rules, no_watchlist(), reference(),
    )  # fmt: skip
    assert flags.row(0, named=True)["amount_at_risk_fen"] == 2_400_000


_PAYERS = st.sampled_from([WANG, GRANDMA_LI, 31, 32, 33])
_PAYEES = st.sampled_from([FRIEND, MULE_CARD, MULE_CARD_2, MULE_CARD_3])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 20 * 24 * 60), _PAYERS, _PAYEES, st.integers(1, 3_000_000)),
        min_size=1,
        max_size=30,
    ),
    cut=st.integers(0, 30),
)
def test_flags_do_not_depend_on_where_the_stream_is_cut_into_batches(
    rules: RuleSet, rows: list[tuple[int, int, int, int]], cut: int
) -> None:
    # Distinct minutes, so no two transfers share a time (the engines order ties by id within a batch).
    seen: set[int] = set()
    uniq = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]  # type: ignore[func-returns-value]
    frame = tx(
        [(i, timedelta(minutes=m), payer, payee, amt) for i, (m, payer, payee, amt) in enumerate(uniq)]
    ).sort("ts")
    whole, _ = screen_batch(
        frame, ScreenState(), rules, listed(MULE_CARD_2, T0 + timedelta(days=5)), reference()
    )
    first, state = screen_batch(
        frame.head(cut), ScreenState(), rules, listed(MULE_CARD_2, T0 + timedelta(days=5)), reference()
    )
    second, _ = screen_batch(
        frame.slice(cut), state, rules, listed(MULE_CARD_2, T0 + timedelta(days=5)), reference()
    )
    assert pl.concat([first, second]).sort("tx_id").equals(whole.sort("tx_id"))
