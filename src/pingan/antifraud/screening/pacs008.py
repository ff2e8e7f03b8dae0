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

`parse` reads one message. `parse_batch` reads a micro-batch, as the stream consumer does: each message
decoded by msgspec into typed structs (no dicts, and no garbage for the collector to trace), the rules
checked on whole columns. A message the fast path is not sure of (a type it does not expect, a value
outside its strict ASCII forms) goes to `parse`, so `parse_batch` accepts, refuses and reads exactly
what `parse` does, message for message (`tests/antifraud/screening/test_pacs008.py`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import polars as pl

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


# ---------------------------------------------------------------------------------------------
# A micro-batch at once
# ---------------------------------------------------------------------------------------------
# The structs name only the fields screening reads; any other field is skipped unread. `gc=False`: the
# structs hold no cycles, and tracked they made the collector run every few hundred messages.


class _Envlp(msgspec.Struct, gc=False):
    Chanl: str
    PubUs: Any = 0


class _Supp(msgspec.Struct, gc=False):
    Envlp: _Envlp


class _Othr(msgspec.Struct, gc=False):
    Id: str


class _AcctId(msgspec.Struct, gc=False):
    Othr: _Othr


class _Acct(msgspec.Struct, gc=False):
    Id: _AcctId


class _ClrSys(msgspec.Struct, gc=False):
    MmbId: str


class _Fin(msgspec.Struct, gc=False):
    # UNSET, not None: a BICFI given as null is refused by `parse`, so it must not read as absent here.
    BICFI: str | msgspec.UnsetType = msgspec.UNSET
    ClrSysMmbId: _ClrSys | msgspec.UnsetType = msgspec.UNSET


class _Agt(msgspec.Struct, gc=False):
    FinInstnId: _Fin


class _PmtId(msgspec.Struct, gc=False):
    EndToEndId: str
    TxId: str


class _Amt(msgspec.Struct, gc=False):
    Ccy: str
    Amt: str | int


class _Tx(msgspec.Struct, gc=False):
    PmtId: _PmtId
    IntrBkSttlmAmt: _Amt
    IntrBkSttlmDt: str
    AccptncDtTm: str
    DbtrAcct: _Acct
    DbtrAgt: _Agt
    CdtrAcct: _Acct
    CdtrAgt: _Agt
    SplmtryData: list[_Supp] | _Supp


class _Hdr(msgspec.Struct, gc=False):
    MsgId: str


class _Body(msgspec.Struct, gc=False):
    GrpHdr: _Hdr
    CdtTrfTxInf: list[_Tx] | _Tx


class _Doc(msgspec.Struct, gc=False):
    FIToFICstmrCdtTrf: _Body


_DECODE = msgspec.json.Decoder(_Doc).decode
_FAST_COLUMNS = (
    "msg_id", "e2e", "tx_text", "ccy", "amt", "sttlm_dt", "at", "payer_text", "payee_text",
    "payer_bic", "payer_cnaps", "payee_bic", "payee_cnaps", "channel", "pub_us",
)  # fmt: skip
# The strict forms the fast path accepts; anything else is `parse`'s to judge (Python's `\d`, `strip`,
# `isdigit` and `fromisoformat` accept more than these, and say so in their own words).
_ID = r"^[!-~]+$"
_DIGITS = r"^[0-9]{1,18}$"
_AMOUNT_ASCII = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3}|\.[0-9]{6})?[+-]([01][0-9]|2[0-3]):[0-5][0-9]$"
_BIC = r"^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$"


def _fields(doc: _Doc) -> tuple[Any, ...] | None:
    """The fields of one decoded message, or None when its shape is one for `parse` to judge."""
    body = doc.FIToFICstmrCdtTrf
    txs = body.CdtTrfTxInf
    if isinstance(txs, list):
        if len(txs) != 1:
            return None
        txs = txs[0]
    supp = txs.SplmtryData
    if isinstance(supp, list):
        if not supp:
            return None
        supp = supp[0]
    amt = txs.IntrBkSttlmAmt.Amt
    pub = supp.Envlp.PubUs
    if type(pub) is not int:
        pub = 0
    elif not -_I64_MAX - 1 <= pub <= _I64_MAX:
        return None
    dbtr, cdtr = txs.DbtrAgt.FinInstnId, txs.CdtrAgt.FinInstnId
    payer_cnaps = dbtr.ClrSysMmbId.MmbId if dbtr.ClrSysMmbId else None
    payee_cnaps = cdtr.ClrSysMmbId.MmbId if cdtr.ClrSysMmbId else None
    return (
        body.GrpHdr.MsgId, txs.PmtId.EndToEndId, txs.PmtId.TxId, txs.IntrBkSttlmAmt.Ccy,
        amt if isinstance(amt, str) else str(amt), txs.IntrBkSttlmDt, txs.AccptncDtTm,
        txs.DbtrAcct.Id.Othr.Id, txs.CdtrAcct.Id.Othr.Id,
        dbtr.BICFI or None, payer_cnaps, cdtr.BICFI or None, payee_cnaps, supp.Envlp.Chanl, pub,
    )  # fmt: skip


def _bank_column(bic: str, cnaps: str) -> pl.Expr:
    """A party's bank: by its BIC when the message names one (in a strict form), else by CNAPS code."""
    by_bic = pl.col(bic).str.slice(0, 8).str.to_uppercase().replace_strict(_BANK_OF_BIC, default=None)
    by_cnaps = pl.col(cnaps).replace_strict(_BANK_OF_CNAPS, default=None)
    return (
        pl.when(pl.col(bic).is_null())
        .then(by_cnaps)
        .when(pl.col(bic).str.contains(_BIC))
        .then(by_bic)
        .otherwise(None)
    )


def parse_batch(payloads: list[bytes]) -> tuple[pl.DataFrame, list[tuple[int, Pacs008Invalid]]]:
    """The transactions of many pacs.008 messages, as `parse` reads each, and the messages refused.

    Returns a frame with the message's position (`index`) and `parse`'s fields, in message order, and
    `(position, error)` for each message refused.
    """
    rows: list[tuple[Any, ...]] = []
    kept: list[int] = []
    slow: list[int] = []
    for i, p in enumerate(payloads):
        try:
            got = _fields(_DECODE(p))
        except (msgspec.ValidationError, msgspec.DecodeError):
            got = None
        if got is None:
            slow.append(i)
        else:
            rows.append(got)
            kept.append(i)
    frame = pl.DataFrame(
        rows, schema={c: pl.Int64 if c == "pub_us" else pl.String for c in _FAST_COLUMNS}, orient="row"
    ).with_columns(index=pl.Series(kept, dtype=pl.Int64))
    amount = pl.col("amt").str.split_exact(".", 1)
    whole = amount.struct.field("field_0").cast(pl.Int64, strict=False)
    cents = amount.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    read = frame.with_columns(
        tx_id=pl.when(pl.col("tx_text").str.contains(_DIGITS)).then(
            pl.col("tx_text").cast(pl.Int64, strict=False)
        ),
        amount_fen=pl.when(pl.col("amt").str.contains(_AMOUNT_ASCII)).then(whole * 100 + cents),
        ts_us=pl.when(pl.col("at").str.contains(_DATE_TIME)).then(
            pl.col("at")
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False)
            .dt.epoch("us")
        ),
        payer_account=pl.when(pl.col("payer_text").str.contains(_DIGITS)).then(
            pl.col("payer_text").cast(pl.Int64, strict=False)
        ),
        payee_account=pl.when(pl.col("payee_text").str.contains(_DIGITS)).then(
            pl.col("payee_text").cast(pl.Int64, strict=False)
        ),
        payer_bank=_bank_column("payer_bic", "payer_cnaps"),
        payee_bank=_bank_column("payee_bic", "payee_cnaps"),
    )
    sure = (
        pl.col("msg_id").str.contains(_ID)
        & pl.col("e2e").str.contains(_ID)
        & pl.col("tx_text").str.contains(_ID)
        & (pl.col("ccy") == "CNY")
        & (pl.col("amount_fen") > 0)
        & pl.col("sttlm_dt").str.contains(_DATE)
        & pl.col("sttlm_dt").str.to_date("%Y-%m-%d", strict=False).is_not_null()
        & pl.col("ts_us").is_not_null()
        & pl.col("payer_account").is_not_null()
        & pl.col("payee_account").is_not_null()
        & pl.col("payer_bank").is_not_null()
        & pl.col("payee_bank").is_not_null()
        & pl.col("channel").is_in(CHANNELS)
    )
    read = read.with_columns(_sure=sure.fill_null(False))
    good = read.filter("_sure")
    # A `TxId` that is not a decimal id is hashed, as `parse` does, row by row.
    if good["tx_id"].null_count():
        good = good.with_columns(
            tx_id=pl.Series(
                [
                    t if t is not None else tx_id_of(x)
                    for t, x in zip(good["tx_id"], good["tx_text"], strict=True)
                ],
                dtype=pl.Int64,
            )
        )
    out = good.select(
        "index", "tx_id", "ts_us", "payer_account", "payee_account", "amount_fen", "channel", "payer_bank",
        "payee_bank", "pub_us",
    )  # fmt: skip
    slow.extend(read.filter(~pl.col("_sure"))["index"].to_list())
    errors: list[tuple[int, Pacs008Invalid]] = []
    extra: list[dict[str, Any]] = []
    for i in sorted(slow):
        try:
            extra.append({"index": i} | parse(payloads[i]))
        except Pacs008Invalid as exc:
            errors.append((i, exc))
    if extra:
        out = pl.concat([out, pl.DataFrame(extra, schema=out.schema)]).sort("index")
    return out, errors


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
