"""One transaction per message as a bank sends it: pacs.008 JSON over a real NATS JetStream."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
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
