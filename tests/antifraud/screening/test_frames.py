"""Frames of transactions on the stream: decoded per transaction, checked per transaction, never cut."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.engine import TX_SCHEMA

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
P = "pingan.tx"


def transfers(n: int, payer_bank: str = "ICBC") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": list(range(1, n + 1)),
            "ts": [T0 + timedelta(seconds=i) for i in range(n)],
            "payer_account": [1] * n,
            "payee_account": [2] * n,
            "amount_fen": [10_000] * n,
            "channel": ["mobile_banking"] * n,
            "payer_bank": [payer_bank] * n,
            "payee_bank": ["CCB"] * n,
        },
        schema=TX_SCHEMA,
    )


@dataclass
class Msg:
    data: bytes
    subject: str = f"{P}.0.ICBC"


def note() -> Msg:
    """A partition's note message, which carries no transaction."""
    return Msg(b'{"v": 1, "tx_id": [], "payer_account": [], "fits": []}', f"{P}.0.{st.NOTES}.screening")


def test_a_frame_decodes_to_its_transactions() -> None:
    got = st.decode([st.frame(st.encode_wire(transfers(3)))], [f"{P}.ICBC"], P)
    assert got.tx.equals(transfers(3))
    assert got.dead == []


def test_a_frame_on_another_banks_subject_sends_each_transaction_to_dead_letters() -> None:
    got = st.decode([st.frame(st.encode_wire(transfers(2)))], [f"{P}.CCB"], P)
    assert got.tx.height == 0
    assert [d["reason"] for d in got.dead] == ["subject bank CCB is not the payer's bank"] * 2


def test_a_truncated_frame_is_one_dead_letter_and_the_rest_is_screened() -> None:
    whole = st.frame(st.encode_wire(transfers(2)))
    got = st.decode([whole[:-5], whole], [f"{P}.ICBC", f"{P}.ICBC"], P)
    assert got.tx.height == 2
    assert [d["reason"] for d in got.dead] == [f"malformed frame of {len(whole) - 5} bytes"]


def test_a_micro_batch_is_never_cut_between_the_frames_of_one_chunk() -> None:
    rec = st.encode_wire(transfers(4))
    queue = [
        Msg(st.frame(rec[:2], continues=True)),
        Msg(st.frame(rec[2:3], continues=True)),
        Msg(st.frame(rec[3:])),
        Msg(st.frame(rec[:1], continues=True)),
    ]
    assert st._cut(queue, 1) == 3
    assert st._cut(queue[3:], 1) == 0


def test_a_note_between_the_frames_of_one_chunk_does_not_cut_it_and_one_after_a_chunk_goes_with_it() -> None:
    rec = st.encode_wire(transfers(3))
    queue = [Msg(st.frame(rec[:2], continues=True)), note(), Msg(st.frame(rec[2:])), note(), note()]
    assert st._cut(queue, 1) == 3
    assert st._cut(queue[:2], 1) == 0
    assert st._cut(queue[3:], 1) == 2
    assert not st._holds_batch(queue[:2], 1) and st._holds_batch(queue, 3)


def test_a_frame_counts_as_many_items_as_it_holds_transactions() -> None:
    assert st.items_in(st.frame(st.encode_wire(transfers(7)))) == 7
    assert st.items_in(b'{"tx_id": 1}') == 1
