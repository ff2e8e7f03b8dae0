"""One transaction per message as a bank sends it: pacs.008 JSON over a real NATS JetStream."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_
from sqlalchemy import select

from pingan.antifraud.risk.model import RiskEvent
from pingan.antifraud.screening import pacs008
from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.engine import ScreenState, _us
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.sink import StoreIdentities, record_flags
from pingan.antifraud.screening.store import read_reference
from pingan.core import db

from .conftest import NatsNames


def _message(**over: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "tx_id": 9_000_000_001, "ts_us": 1_773_460_800_000_000, "payer_account": 5, "payee_account": 6,
        "amount_fen": 123_456, "channel": "qr", "payer_bank": "ICBC", "payee_bank": "TENPAY",
    }  # fmt: skip
    fields.update(over)
    return json.loads(pacs008.message(**fields))  # type: ignore[arg-type]


def test_a_pacs008_message_reads_as_the_transaction_it_carries() -> None:
    doc = _message()
    tx = doc["FIToFICstmrCdtTrf"]["CdtTrfTxInf"][0]  # type: ignore[index]
    assert tx["DbtrAgt"] == {"FinInstnId": {"BICFI": "ICBKCNBJ"}}
    assert tx["IntrBkSttlmAmt"] == {"Ccy": "CNY", "Amt": "1234.56"}
    got = pacs008.parse(json.dumps(doc).encode())
    assert got == {
        "tx_id": 9_000_000_001, "ts_us": 1_773_460_800_000_000, "payer_account": 5, "payee_account": 6,
        "amount_fen": 123_456, "channel": "qr", "payer_bank": "ICBC", "payee_bank": "TENPAY", "pub_us": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["IntrBkSttlmAmt", "Ccy"], "USD", "CdtTrfTxInf.IntrBkSttlmAmt.Ccy"),
        (["IntrBkSttlmAmt", "Amt"], "12.345", "CdtTrfTxInf.IntrBkSttlmAmt.Amt"),
        (["AccptncDtTm"], "2026-03-14T10:00:00", "CdtTrfTxInf.AccptncDtTm"),
        (["CdtrAcct", "Id", "Othr", "Id"], "6222-0001", "CdtrAcct.Id.Othr.Id"),
        (["DbtrAgt", "FinInstnId", "BICFI"], "XXXXCNBJ", "CdtTrfTxInf.DbtrAgt.FinInstnId.BICFI"),
        (["PmtId"], {"EndToEndId": "E1"}, "CdtTrfTxInf.PmtId.TxId"),
    ],
)
def test_a_malformed_pacs008_message_is_refused_naming_the_field(
    path: list[str], value: object, field: str
) -> None:
    doc = _message()
    node = doc["FIToFICstmrCdtTrf"]["CdtTrfTxInf"][0]  # type: ignore[index]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(pacs008.Pacs008Invalid) as err:
        pacs008.parse(json.dumps(doc).encode())
    assert err.value.field is not None and err.value.field.endswith(field)


def test_a_pacs008_message_to_a_watchlisted_payee_becomes_a_risk_event_and_a_bad_one_a_dead_letter(
    district: Path, rules: RuleSet, nats_names: NatsNames, tmp_path: Path, database: str
) -> None:
    wl = watchlist_from_reports(district)
    ref = read_reference(district)
    listed = wl.filter(pl.col("confidence") >= 1.0).sort("listed_from").row(0, named=True)
    person = ref.filter(pl.col("person_id").is_not_null() & ~pl.col("business")).row(0, named=True)
    at = max(listed["listed_from"], since_of(district, 1)) + timedelta(hours=1)
    p = nats_names.prefix
    good = pacs008.message(
        tx_id=7_000_000_001, ts_us=_us(at), payer_account=person["account_id"],
        payee_account=listed["account_id"], amount_fen=88_800, channel="mobile_banking",
        payer_bank="ICBC", payee_bank="CCB",
    )  # fmt: skip
    wrong_currency = good.replace(b'"Ccy":"CNY"', b'"Ccy":"USD"').replace(b"7000000001", b"7000000002")
    no_channel = good.replace(b'"Chanl":"mobile_banking"', b'"Chan":"x"').replace(
        b"7000000001", b"7000000003"
    )
    published = asyncio.run(
        st.publish_frames(
            [], prefix=p, stream=nats_names.stream,
            extra=[(f"{p}.ICBC", good), (f"{p}.ICBC", wrong_currency), (f"{p}.ICBC", no_channel)],
        )
    )  # fmt: skip
    assert published.messages == 3
    identities = StoreIdentities(district).load()
    cfg = st.ConsumerConfig(
        state_dir=tmp_path, prefix=p, stream=nats_names.stream, durable=nats_names.durable, idle_exit_s=1.0
    )
    stats = asyncio.run(
        st.consume(
            cfg, rules=rules, watchlist=lambda: wl, reference=ref, initial_state=ScreenState,
            sink=lambda f: record_flags(f, identities, engine="stream", rules_version=rules.version) and None,
        )
    )  # fmt: skip
    assert stats.counters.received == 3
    assert stats.counters.screened == 1
    assert stats.counters.dead_letters == 2
    dead = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert sorted(d["field"] for d in dead) == [
        "CdtTrfTxInf.IntrBkSttlmAmt.Ccy",
        "CdtTrfTxInf.SplmtryData.Envlp.Chanl",
    ]
    with db.transaction() as session:
        events = session.execute(select(RiskEvent.tx_id, RiskEvent.reasons)).all()
    assert [e.tx_id for e in events] == [7_000_000_001]
    assert "WL-PAYEE" in events[0].reasons


# --- A micro-batch at once: `parse_batch` reads exactly what `parse` reads, message for message -----

_TEXT = st_.sampled_from(["M1", "ABC-123", "", " ", " E9 ", "编号1", "\x1c"])
_TX_ID = st_.sampled_from(["9000000001", "0", "9223372036854775807", "9223372036854775808", "20261206ICBC000001",
                           " 42 ", "", "١٢٣", "42x"])  # fmt: skip
_AMOUNT = st_.sampled_from(["1234.56", "5", "5.1", "5.10", "012.30", "0.00", "0", "12.345", "-1", "1e3", "١٢.٣",
                            "123456789012345.99", "1234567890123456", 500, 0, True, 12.5, None])  # fmt: skip
_DATE_TIME = st_.sampled_from([
    "2026-03-14T10:00:00+08:00", "2026-03-14T10:00:00.123+08:00", "2026-03-14T10:00:00.123456-03:30",
    "2026-03-14T10:00:00.1+08:00", "2026-03-14T10:00:00.1234567+08:00", "2026-03-14T10:00:00Z",
    "2026-03-14T10:00:00", "2026-03-14T23:59:60+08:00", "2026-02-30T10:00:00+08:00", "2026-03-14 10:00:00+08:00",
    "20260314T100000+0800", "not a time", 5,
])  # fmt: skip
_DATE = st_.sampled_from(["2026-03-14", "20260314", "2026-02-30", "", 20260314])
_ACCOUNT = st_.sampled_from(["5", "6222000100", " 7 ", "-5", "", "123456789012345678", "1234567890123456789",
                             "99999999999999999999", "٥", 5])  # fmt: skip
_AGENT = st_.sampled_from([
    {"FinInstnId": {"BICFI": "ICBKCNBJ"}}, {"FinInstnId": {"BICFI": "icbkcnbjxxx"}},
    {"FinInstnId": {"BICFI": "ICBKCNBJ100"}}, {"FinInstnId": {"BICFI": "XXXXCNBJ"}},
    {"FinInstnId": {"BICFI": None, "ClrSysMmbId": {"MmbId": "102100099996"}}},
    {"FinInstnId": {"ClrSysMmbId": {"MmbId": "102100099996"}}}, {"FinInstnId": {"ClrSysMmbId": {"MmbId": "0"}}},
    {"FinInstnId": {"BICFI": "CMBCCNBS", "ClrSysMmbId": {"MmbId": "0"}}}, {"FinInstnId": {}}, {},
])  # fmt: skip
_CHANNEL = st_.sampled_from(["qr", "mobile_banking", "pos", "QR", "fax", ""])
_PUB = st_.sampled_from([1_796_600_000_000_000, 0, -3, True, "17", 2**70, None])


@st_.composite
def _pacs008_payload(draw: st_.DrawFn) -> bytes:
    """A pacs.008 message, most often well formed, with any of its fields in a form banks send or get wrong."""
    if draw(st_.integers(0, 40)) == 0:
        return draw(st_.sampled_from([b"", b"{", b"[1, 2]", b'{"FIToFICstmrCdtTrf": 5}', b"\xff\xfe"]))
    doc = _message(ts_us=1_773_460_800_000_000, pub_us=1_796_600_000_000_000)
    body = doc["FIToFICstmrCdtTrf"]
    tx = body["CdtTrfTxInf"][0]  # type: ignore[index]
    odd = draw(st_.integers(0, 3)) == 0  # one message in four has something unusual
    if odd:
        choice = draw(st_.integers(0, 11))
        if choice == 0:
            body["GrpHdr"]["MsgId"] = draw(_TEXT | st_.just(5))  # type: ignore[index]
        elif choice == 1:
            tx["PmtId"] = {"EndToEndId": draw(_TEXT), "TxId": draw(_TX_ID)}
        elif choice == 2:
            tx["IntrBkSttlmAmt"]["Ccy"] = draw(st_.sampled_from(["USD", " CNY", "cny"]))
        elif choice == 3:
            tx["IntrBkSttlmAmt"]["Amt"] = draw(_AMOUNT)  # type: ignore[index]
        elif choice == 4:
            tx["IntrBkSttlmDt"] = draw(_DATE)
        elif choice == 5:
            tx["AccptncDtTm"] = draw(_DATE_TIME)
        elif choice == 6:
            tx[draw(st_.sampled_from(["DbtrAcct", "CdtrAcct"]))] = {"Id": {"Othr": {"Id": draw(_ACCOUNT)}}}
        elif choice == 7:
            tx[draw(st_.sampled_from(["DbtrAgt", "CdtrAgt"]))] = draw(_AGENT)
        elif choice == 8:
            pub = draw(_PUB)
            tx["SplmtryData"] = draw(st_.sampled_from([
                [{"Envlp": {"Chanl": draw(_CHANNEL), "PubUs": pub}}], {"Envlp": {"Chanl": "qr"}}, [],
                [{"Envlp": {"Chanl": "qr"}}, {"Envlp": {"Chanl": "x"}}], [{"Envlp": {}}],
            ]))  # fmt: skip
        elif choice == 9:
            body["CdtTrfTxInf"] = draw(st_.sampled_from([tx, [], [tx, tx]]))
        elif choice == 10:
            tx["DbtrAgt"] = {
                "FinInstnId": {"ClrSysMmbId": {"MmbId": "102100099996"}}
            }  # ICBC by its CNAPS code
        else:
            tx["PmtId"]["TxId"] = draw(_TX_ID)  # type: ignore[index]
    if draw(st_.booleans()):
        tx["IntrBkSttlmAmt"]["Amt"] = draw(_AMOUNT)  # type: ignore[index]
    return json.dumps(doc, ensure_ascii=draw(st_.booleans())).encode()


def _alone(payload: bytes) -> object:
    """What `parse` makes of one message: its fields, or the refusal's words and field."""
    try:
        return pacs008.parse(payload)
    except pacs008.Pacs008Invalid as exc:
        return (str(exc), exc.field)


@settings(max_examples=150, deadline=None)
@given(payloads=st_.lists(_pacs008_payload(), min_size=1, max_size=30))
def test_a_micro_batch_reads_as_each_of_its_messages_alone(payloads: list[bytes]) -> None:
    rows, refused = pacs008.parse_batch(payloads)
    read: dict[int, object] = {r.pop("index"): r for r in rows.to_dicts()}
    errors: dict[int, object] = {i: (str(e), e.field) for i, e in refused}
    assert set(read).isdisjoint(errors)
    assert [read.get(i, errors.get(i)) for i in range(len(payloads))] == [_alone(p) for p in payloads]


def test_a_pacs008_message_on_another_banks_subject_is_refused_and_the_rest_of_its_batch_screened() -> None:
    icbc = pacs008.message(tx_id=1, ts_us=1_773_460_800_000_000, payer_account=5, payee_account=6,
                           amount_fen=100, channel="qr", payer_bank="ICBC", payee_bank="CCB")  # fmt: skip
    ccb = pacs008.message(tx_id=2, ts_us=1_773_460_800_000_001, payer_account=7, payee_account=6,
                          amount_fen=200, channel="qr", payer_bank="CCB", payee_bank="ICBC")  # fmt: skip
    got = st.decode([icbc, ccb, b'{"FIToFICstmrCdtTrf": {}}'], ["tx.CCB", "tx.CCB", "tx.CCB"], "tx")
    assert got.tx["tx_id"].to_list() == [2]
    assert [(d["field"], d["subject"]) for d in got.dead] == [
        ("CdtTrfTxInf.DbtrAgt.FinInstnId", "tx.CCB"),
        ("FIToFICstmrCdtTrf.GrpHdr.MsgId", "tx.CCB"),
    ]
    assert "subject bank CCB is not the payer's bank ICBC" in got.dead[0]["reason"]
