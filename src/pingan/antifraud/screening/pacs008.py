"""One transaction per message as a bank sends it: JSON shaped like an ISO 20022 pacs.008 credit transfer.

A message is `{"FIToFICstmrCdtTrf": {"GrpHdr": {...}, "CdtTrfTxInf": [ONE]}}` with the fields
screening needs, named as in pacs.008.001 (the XML element names as JSON keys):

| path under `CdtTrfTxInf` (or `GrpHdr`) | becomes | rule |
|---|---|---|
| `GrpHdr.MsgId` | (the dead letter's reference) | required, text |
| `PmtId.EndToEndId` | (kept with a dead letter) | required, text |
| `PmtId.TxId` | `tx_id` | required; decimal digits are the id, other text a stable 63-bit hash |
| `IntrBkSttlmAmt.Amt`, `IntrBkSttlmAmt.Ccy` | `amount_fen` | a positive decimal with at most 2 places; CNY only |
| `IntrBkSttlmDt` | (checked) | an ISO date |
| `AccptncDtTm` | `ts` | an ISO date-time with its offset (a time without one is refused) |
| `DbtrAcct.Id.Othr.Id`, `CdtrAcct.Id.Othr.Id` | payer and payee account | decimal account ids |
| `DbtrAgt.FinInstnId`, `CdtrAgt.FinInstnId` | payer and payee bank | `BICFI`, or `ClrSysMmbId.MmbId` (the CNAPS code) for an institution without a BIC |
| `SplmtryData[0].Envlp.Chanl` | `channel` | the channel extension: one of `stream.CHANNELS` |
| `SplmtryData[0].Envlp.PubUs` | `pub_us` | optional: when the message was due (benchmarks measure latency from it) |

`Dbtr` and `Cdtr` (names) may be present and are not read. A message that breaks a rule is refused
with `Pacs008Invalid`, whose `field` is the path of the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from pingan.antifraud.banks.directory import BANKS
from pingan.core.errors import Invalid

ROOT = "FIToFICstmrCdtTrf"
MARKER = ROOT.encode()
CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")
# The SWIFT BICs (8 characters) of the directory's banks that have one; the others (city and rural
# banks, payment institutions) are named by their CNAPS code (`ClrSysMmbId.MmbId`).
BIC_OF = {
    "ICBC": "ICBKCNBJ",
    "ABC": "ABOCCNBJ",
    "BOC": "BKCHCNBJ",
    "CCB": "PCBCCNBJ",
    "BOCOM": "COMMCNSH",
    "CITIC": "CIBKCNBJ",
    "CEB": "EVERCNBJ",
    "HXB": "HXBKCNBJ",
    "CMBC": "MSBCCNBJ",
    "CGB": "GDBKCN22",
    "PAB": "SZDBCNBS",
    "CMB": "CMBCCNBS",
    "CIB": "FJIBCNBA",
    "SPDB": "SPDBCNSH",
    "PSBC": "PSBCCNBJ",
}
_BANK_OF_BIC = {bic: code for code, bic in BIC_OF.items()}
_BANK_OF_CNAPS = {b.cnaps: b.code for b in BANKS}
_CNAPS_OF = {b.code: b.cnaps for b in BANKS}
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_I64_MAX = (1 << 63) - 1
_BEIJING = timezone(timedelta(hours=8))


class Pacs008Invalid(Invalid):
    """A pacs.008 message screening cannot use; `field` is the path of the field at fault."""


def _get(node: Any, path: str, *, prefix: str = "CdtTrfTxInf") -> Any:
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise Pacs008Invalid(f"{prefix}.{path}: missing", field=f"{prefix}.{path}")
        node = node[part]
    return node


def _text(node: Any, path: str, *, prefix: str = "CdtTrfTxInf") -> str:
    v = _get(node, path, prefix=prefix)
    if not isinstance(v, str) or not v.strip():
        raise Pacs008Invalid(f"{prefix}.{path}: must be non-empty text", field=f"{prefix}.{path}")
    return v.strip()


def _account(tx: dict[str, Any], party: str) -> int:
    path = f"{party}.Id.Othr.Id"
    v = _text(tx, path)
    if not v.isdigit() or int(v) > _I64_MAX:
        raise Pacs008Invalid(
            f"CdtTrfTxInf.{path}: not an account id: {v[:40]!r}", field=f"CdtTrfTxInf.{path}"
        )
    return int(v)


def _bank(tx: dict[str, Any], agent: str) -> str:
    fin = _get(tx, f"{agent}.FinInstnId")
    if isinstance(fin, dict) and "BICFI" in fin:
        bic = _text(tx, f"{agent}.FinInstnId.BICFI")
        code = _BANK_OF_BIC.get(bic[:8].upper())
        if code is None:
            raise Pacs008Invalid(
                f"CdtTrfTxInf.{agent}.FinInstnId.BICFI: unknown bank {bic[:20]!r}",
                field=f"CdtTrfTxInf.{agent}.FinInstnId.BICFI",
            )
        return code
    cnaps = _text(tx, f"{agent}.FinInstnId.ClrSysMmbId.MmbId")
    code = _BANK_OF_CNAPS.get(cnaps)
    if code is None:
        raise Pacs008Invalid(
            f"CdtTrfTxInf.{agent}.FinInstnId.ClrSysMmbId.MmbId: unknown bank {cnaps[:20]!r}",
            field=f"CdtTrfTxInf.{agent}.FinInstnId.ClrSysMmbId.MmbId",
        )
    return code


def tx_id_of(text: str) -> int:
    """The transaction id of a `TxId`: its value when it is decimal digits, else a stable 63-bit hash."""
    if text.isdigit() and int(text) <= _I64_MAX:
        return int(text)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & _I64_MAX


def parse(payload: bytes) -> dict[str, Any]:
    """The transaction of one pacs.008 message: the fields of `engine.TX_SCHEMA` (`ts` in microseconds
    since the epoch, as `ts_us`) and `pub_us`; raises `Pacs008Invalid` naming the field."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise Pacs008Invalid("message: not valid JSON", field="message") from None
    body = doc.get(ROOT) if isinstance(doc, dict) else None
    if not isinstance(body, dict):
        raise Pacs008Invalid(f"{ROOT}: missing", field=ROOT)
    _text(body, "GrpHdr.MsgId", prefix=ROOT)
    txs = body.get("CdtTrfTxInf")
    if isinstance(txs, list) and len(txs) == 1:
        txs = txs[0]
    if not isinstance(txs, dict):
        raise Pacs008Invalid(
            "CdtTrfTxInf: missing, or not one transaction (one transaction per message)", field="CdtTrfTxInf"
        )
    tx: dict[str, Any] = txs
    _text(tx, "PmtId.EndToEndId")
    tx_id = tx_id_of(_text(tx, "PmtId.TxId"))
    ccy = _text(tx, "IntrBkSttlmAmt.Ccy")
    if ccy != "CNY":
        raise Pacs008Invalid(
            f"CdtTrfTxInf.IntrBkSttlmAmt.Ccy: {ccy[:8]!r}: only CNY is screened",
            field="CdtTrfTxInf.IntrBkSttlmAmt.Ccy",
        )
    amt = _get(tx, "IntrBkSttlmAmt.Amt")
    amt_text = str(amt) if isinstance(amt, int | str) and not isinstance(amt, bool) else ""
    if not _AMOUNT.match(amt_text):
        raise Pacs008Invalid(
            "CdtTrfTxInf.IntrBkSttlmAmt.Amt: not an amount in yuan with at most 2 decimals",
            field="CdtTrfTxInf.IntrBkSttlmAmt.Amt",
        )
    try:
        amount_fen = int(Decimal(amt_text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise Pacs008Invalid(
            "CdtTrfTxInf.IntrBkSttlmAmt.Amt: not a number", field="CdtTrfTxInf.IntrBkSttlmAmt.Amt"
        ) from None
    if amount_fen <= 0:
        raise Pacs008Invalid(
            "CdtTrfTxInf.IntrBkSttlmAmt.Amt: must be positive", field="CdtTrfTxInf.IntrBkSttlmAmt.Amt"
        )
    try:
        date.fromisoformat(_text(tx, "IntrBkSttlmDt"))
    except ValueError:
        raise Pacs008Invalid(
            "CdtTrfTxInf.IntrBkSttlmDt: not an ISO date", field="CdtTrfTxInf.IntrBkSttlmDt"
        ) from None
    try:
        at = datetime.fromisoformat(_text(tx, "AccptncDtTm"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Pacs008Invalid(
            "CdtTrfTxInf.AccptncDtTm: not an ISO date-time with its offset", field="CdtTrfTxInf.AccptncDtTm"
        )
    supp = tx.get("SplmtryData")
    envelope = supp[0] if isinstance(supp, list) and supp else supp
    channel = _text(envelope, "Envlp.Chanl", prefix="CdtTrfTxInf.SplmtryData")
    if channel not in CHANNELS:
        raise Pacs008Invalid(
            f"CdtTrfTxInf.SplmtryData.Envlp.Chanl: unknown channel {channel[:20]!r}",
            field="CdtTrfTxInf.SplmtryData.Envlp.Chanl",
        )
    pub = _get(envelope, "Envlp", prefix="CdtTrfTxInf.SplmtryData").get("PubUs", 0)
    return {
        "tx_id": tx_id,
        "ts_us": (at - _EPOCH) // timedelta(microseconds=1),
        "payer_account": _account(tx, "DbtrAcct"),
        "payee_account": _account(tx, "CdtrAcct"),
        "amount_fen": amount_fen,
        "channel": channel,
        "payer_bank": _bank(tx, "DbtrAgt"),
        "payee_bank": _bank(tx, "CdtrAgt"),
        "pub_us": pub if isinstance(pub, int) and not isinstance(pub, bool) else 0,
    }


def _agent(code: str) -> dict[str, Any]:
    bic = BIC_OF.get(code)
    if bic is not None:
        return {"FinInstnId": {"BICFI": bic}}
    return {"FinInstnId": {"ClrSysMmbId": {"ClrSysId": {"Cd": "CNAPS"}, "MmbId": _CNAPS_OF[code]}}}


def message(
    *,
    tx_id: int,
    ts_us: int,
    payer_account: int,
    payee_account: int,
    amount_fen: int,
    channel: str,
    payer_bank: str,
    payee_bank: str,
    pub_us: int = 0,
) -> bytes:
    """One transaction as a pacs.008 message (what a bank's gateway would send; the benchmark's publisher)."""
    at = (_EPOCH + timedelta(microseconds=ts_us)).astimezone(_BEIJING)
    envelope: dict[str, Any] = {"Chanl": channel}
    if pub_us:
        envelope["PubUs"] = pub_us
    doc = {
        ROOT: {
            "GrpHdr": {"MsgId": f"M{tx_id}", "CreDtTm": at.isoformat(), "NbOfTxs": "1",
                       "SttlmInf": {"SttlmMtd": "CLRG"}},
            "CdtTrfTxInf": [
                {
                    "PmtId": {"EndToEndId": f"E{tx_id}", "TxId": str(tx_id)},
                    "IntrBkSttlmAmt": {"Ccy": "CNY", "Amt": f"{amount_fen // 100}.{amount_fen % 100:02d}"},
                    "IntrBkSttlmDt": at.date().isoformat(),
                    "AccptncDtTm": at.isoformat(),
                    "Dbtr": {}, "DbtrAcct": {"Id": {"Othr": {"Id": str(payer_account)}}},
                    "DbtrAgt": _agent(payer_bank),
                    "Cdtr": {}, "CdtrAcct": {"Id": {"Othr": {"Id": str(payee_account)}}},
                    "CdtrAgt": _agent(payee_bank),
                    "SplmtryData": [{"Envlp": envelope}],
                }
            ],
        }
    }  # fmt: skip
    return json.dumps(doc, separators=(",", ":")).encode()
