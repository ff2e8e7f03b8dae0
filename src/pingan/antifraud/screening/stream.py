"""The streaming engine: transactions from NATS JetStream, screened in micro-batches by `screen_batch`.

Subjects are `<prefix>.<bank>` (default prefix `pingan.tx`), the payer's bank. A message holds
either one transaction, in the compact wire format (`WIRE`: a version byte and fixed little-endian
fields, 72 bytes) or as a JSON object with the fields of `engine.TX_SCHEMA` (`ts` in ISO-8601 UTC);
or a *frame* of a bank's transactions in a few milliseconds (an 8-byte header, `FRAME_VERSION` and the
count, then that many wire records), as a bank's gateway batches what it sends. `pingan stream
publish` sends frames by default (`--frame 1`: one transaction per message). A whole micro-batch of
wire records, framed or not, decodes with one `np.frombuffer`. Each record may carry `pub_us`, the
time the transaction was due to enter the stream (the publisher's clock, in microseconds), used to
measure publish → persisted latency: a record that waits in a frame waits on that clock.

Why frames: nats-py spends ~20-30 µs of Python per delivered message (parser, message object,
subscription queue; measured with cProfile on this consumer), which capped one consumer near 20-35k
messages per second on the shared 2-core machine whatever the screening cost. A frame pays it once
for hundreds of transactions. Counts, de-duplication and dead letters stay per transaction.

Delivery is at-least-once, and nothing is lost to a slow consumer: a durable *pull* consumer. The
consumer asks for at most `fetch_batch` messages at a time (`fetch`), so the server never sends more
than the client has asked for and cannot overrun it (a push consumer let hundreds of thousands of
unacknowledged messages queue towards a slow client, the server dropped them as a "slow consumer",
and ack-all then acknowledged the gap). Fetched messages are queued; the engine takes up to `batch`
transactions of the queue as one micro-batch, screens it vectorised, persists its risk events in one
transaction (idempotent by tx id), and only then acks the batch's last message (ack-all: one ack a
micro-batch, not one a message). Before screening, each fetched message's consumer sequence is
checked to follow the last one: a gap (a message the server delivered and the client never saw)
recreates the consumer from the last screened stream sequence, so a gap is delivered again, never
acknowledged. `max_ack_pending` bounds what may be outstanding. Every
`checkpoint_s` at least (and no more than `checkpoint_share` of the time in writes), a snapshot of
the engine state, the last stream sequence and the counters is written atomically, in a thread while
screening goes on. A consumer killed at any point restarts from its checkpoint, not from the acks:
it recreates the durable consumer to deliver from the sequence after the checkpoint (the stream
keeps its messages by limits, not by acks), and screens those messages again from the same state,
giving the same events, which the database already holds.

Partitions (`partition_of`, `consume_partitions`): published with `partitions=P`, a transaction goes
to `<prefix>.<partition>.<bank>`, its partition a stable hash of the payer account (splitmix64, not
Python's salted `hash`). A consumer process owns a set of partitions; each partition has a durable
consumer (`<durable>-p<k>`, filtered on `<prefix>.<k>.>`) and its own engine state, dedup window,
checkpoint and dead letters (`<state_dir>/p<k>`), so a partition moves to whichever process starts
with it in its map and resumes from that partition's checkpoint. A transfer is also published, as a
copy, to its payee's partition, which folds it into its state unscreened; that partition answers a
transfer held for the collecting-card rule with a note on `<prefix>.<k>.payee-notes.<group>`
(`engine.Partition`, `engine.settle`). So the partitions raise the single screening's risk events.
Transactions are also de-duplicated by id (a bank re-sending one), over `dedup_minutes`.

Bad transactions (malformed JSON, a missing field, an unknown bank) go to a dead-letter file with
the reason, and screening goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.screening import kernels, pacs008
from pingan.antifraud.screening.dedup import SeenIds
from pingan.antifraud.screening.engine import (
    FLAG_SCHEMA,
    NOTE_SCHEMA,
    TX_SCHEMA,
    Partition,
    ScreenState,
    empty,
    lookups_of,
    partition_of,
    screen_batch,
    screen_partition,
    settle,
)
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import iter_batches

DEFAULT_URL = "nats://127.0.0.1:4222"
DEFAULT_PREFIX = "pingan.tx"
DEFAULT_STREAM = "PINGAN_TX"
DEFAULT_DURABLE = "screening"
NATS_HOWTO = (
    "NATS is not reachable at 127.0.0.1:4222; start it with `start-stop-daemon --start --oknodo "
    "--background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server "
    "-l /var/log/nats-server.log`"
)
_WIRE_SCHEMA: dict[str, pl.DataType] = {**TX_SCHEMA, "ts": pl.String(), "pub_us": pl.Int64()}
KNOWN_BANKS = frozenset(BANKS_BY_CODE)


# The compact wire format: one transaction per message, fixed width, little-endian.
WIRE_VERSION = 1
WIRE = np.dtype(
    [
        ("version", "u1"),
        ("channel", "u1"),
        ("payer_bank", "S8"),
        ("payee_bank", "S8"),
        ("_pad", "S6"),
        ("tx_id", "<i8"),
        ("ts_us", "<i8"),
        ("payer_account", "<i8"),
        ("payee_account", "<i8"),
        ("amount_fen", "<i8"),
        ("pub_us", "<i8"),
    ]
)
assert WIRE.itemsize == 72
# A frame: version byte, flags byte, two zero bytes, the record count (uint32 LE), then the records.
# Flag FRAME_CONTINUES: the next message holds more of the same instant's transactions (another
# bank's), so a micro-batch is never cut between them: each micro-batch then follows the previous one
# in time, which the engine's state needs.
FRAME_VERSION = 2
FRAME_HEADER = 8
FRAME_CONTINUES = 1
CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr", "pos")


def encode_wire(batch: pl.DataFrame) -> npt.NDArray[np.void]:
    """Transactions (TX_SCHEMA) as wire records, `pub_us` still 0; vectorised."""
    rec = np.zeros(batch.height, WIRE)
    rec["version"] = WIRE_VERSION
    code = {c: i for i, c in enumerate(CHANNELS)}
    rec["channel"] = batch["channel"].replace_strict(code, default=255, return_dtype=pl.UInt8).to_numpy()
    rec["payer_bank"] = batch["payer_bank"].cast(pl.Binary).to_numpy().astype("S8")
    rec["payee_bank"] = batch["payee_bank"].cast(pl.Binary).to_numpy().astype("S8")
    rec["tx_id"] = batch["tx_id"].to_numpy()
    rec["ts_us"] = batch["ts"].dt.epoch("us").to_numpy()
    rec["payer_account"] = batch["payer_account"].to_numpy()
    rec["payee_account"] = batch["payee_account"].to_numpy()
    rec["amount_fen"] = batch["amount_fen"].to_numpy()
    return rec


def encode(batch: pl.DataFrame) -> list[bytes]:
    """One JSON object per transaction (without `pub_us`), encoded vectorised (the readable format)."""
    wire = batch.select(list(TX_SCHEMA)).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    buf = io.BytesIO()
    wire.write_ndjson(buf)
    return buf.getvalue().splitlines()


def stamp(line: bytes, pub_us: int) -> bytes:
    """Add the publisher's clock to a JSON-encoded transaction."""
    return line[:-1] + b',"pub_us":' + str(pub_us).encode() + b"}"


@dataclass
class Decoded:
    """A decoded micro-batch: the good transactions and the dead letters with their reasons."""

    tx: pl.DataFrame
    pub_us: np.ndarray
    dead: list[dict[str, Any]]


_BANK_LIST = sorted(KNOWN_BANKS)
_BANK_CODES = np.array([b.encode() for b in _BANK_LIST], dtype="S8")


def frame(records: npt.NDArray[np.void], *, continues: bool = False) -> bytes:
    """Wire records (of one payer bank) as one frame message."""
    head = bytes([FRAME_VERSION, FRAME_CONTINUES if continues else 0, 0, 0])
    return head + len(records).to_bytes(4, "little") + records.tobytes()


def continues(payload: bytes) -> bool:
    """Whether a message is a frame whose chunk goes on in the next message."""
    return len(payload) >= 2 and payload[0] == FRAME_VERSION and bool(payload[1] & FRAME_CONTINUES)


def _frame_count(p: bytes) -> int | None:
    """Records in a frame message, or None when `p` is no well-formed frame."""
    if len(p) < FRAME_HEADER or p[0] != FRAME_VERSION:
        return None
    n = int.from_bytes(p[4:8], "little")
    return n if len(p) == FRAME_HEADER + n * WIRE.itemsize else None


def items_in(payload: bytes) -> int:
    """How many transactions a message carries (a malformed frame counts as one bad item)."""
    n = _frame_count(payload)
    return n if n is not None else 1


def _decode_wire(raw: bytes, subject_bank: npt.NDArray[np.bytes_], prefix: str) -> Decoded:
    """Decode concatenated wire records with one `frombuffer`; check them vectorised.

    `subject_bank` is the bank of the subject each record came on.
    """
    rec = np.frombuffer(raw, WIRE)
    payer_i = np.minimum(np.searchsorted(_BANK_CODES, rec["payer_bank"]), _BANK_CODES.size - 1)
    payee_i = np.minimum(np.searchsorted(_BANK_CODES, rec["payee_bank"]), _BANK_CODES.size - 1)
    payer_ok = _BANK_CODES[payer_i] == rec["payer_bank"]
    payee_ok = _BANK_CODES[payee_i] == rec["payee_bank"]
    channel_ok = rec["channel"] < len(CHANNELS)
    good = payer_ok & payee_ok & channel_ok & (subject_bank == rec["payer_bank"]) & (rec["amount_fen"] > 0)
    dead: list[dict[str, Any]] = []
    for i in np.flatnonzero(~good).tolist():
        r = rec[i]
        subject = f"{prefix}.{subject_bank[i].decode(errors='replace')}"
        if not channel_ok[i]:
            reason = "missing or invalid field channel"
        elif not payer_ok[i]:
            reason = "unknown bank " + r["payer_bank"].decode(errors="replace")
        elif not payee_ok[i]:
            reason = "unknown bank " + r["payee_bank"].decode(errors="replace")
        elif subject_bank[i] != r["payer_bank"]:
            reason = f"subject bank {subject[len(prefix) + 1 :]} is not the payer's bank"
        else:
            reason = "amount_fen must be positive"
        dead.append({"reason": reason, "tx_id": int(r["tx_id"]), "subject": subject})
    rec = rec[good]
    banks = pl.Series(_BANK_LIST, dtype=pl.String())
    channels = pl.Series(CHANNELS, dtype=pl.String())
    tx = pl.DataFrame(
        {
            "tx_id": rec["tx_id"],
            "ts": pl.Series(rec["ts_us"]).cast(TX_SCHEMA["ts"]),
            "payer_account": rec["payer_account"],
            "payee_account": rec["payee_account"],
            "amount_fen": rec["amount_fen"],
            "channel": channels.gather(rec["channel"].astype(np.int64)),
            "payer_bank": banks.gather(payer_i[good]),
            "payee_bank": banks.gather(payee_i[good]),
        },
        schema=TX_SCHEMA,
    )
    return Decoded(tx, np.ascontiguousarray(rec["pub_us"], dtype=np.int64), dead)


def _bank_of(subject: str) -> str:
    """The payer bank a subject names: its last token (`<prefix>.<bank>` or `<prefix>.<partition>.<bank>`)."""
    return subject.rpartition(".")[2]


def decode(payloads: list[bytes], subjects: list[str], prefix: str) -> Decoded:
    """Decode a micro-batch of messages vectorised (frames, wire records and JSON); bad ones become dead letters.

    Frames and single wire records are decoded together, in message order; JSON messages after them.
    """
    raw: list[bytes] = []
    banks: list[bytes] = []
    counts: list[int] = []
    json_p: list[bytes] = []
    json_s: list[str] = []
    iso_p: list[bytes] = []
    iso_s: list[str] = []
    dead: list[dict[str, Any]] = []
    for p, s in zip(payloads, subjects, strict=True):
        if pacs008.MARKER in p[:48]:
            iso_p.append(p)
            iso_s.append(s)
        elif len(p) == WIRE.itemsize and p[0] == WIRE_VERSION:
            raw.append(p)
            banks.append(_bank_of(s).encode())
            counts.append(1)
        elif p[:1] == bytes([FRAME_VERSION]):
            n = _frame_count(p)
            if n is None:
                dead.append({"reason": f"malformed frame of {len(p)} bytes", "subject": s})
            elif n:
                raw.append(p[FRAME_HEADER:])
                banks.append(_bank_of(s).encode())
                counts.append(n)
        else:
            json_p.append(p)
            json_s.append(s)
    parts: list[Decoded] = []
    if raw:
        subject_bank = np.repeat(np.array(banks, dtype="S8"), counts)
        parts.append(_decode_wire(b"".join(raw), subject_bank, prefix))
    if json_p:
        parts.append(_decode_json(json_p, json_s, prefix))
    if iso_p:
        parts.append(_decode_pacs008(iso_p, iso_s, prefix))
    if not parts:
        return Decoded(empty(TX_SCHEMA), np.zeros(0, dtype=np.int64), dead)
    if len(parts) == 1:
        return Decoded(parts[0].tx, parts[0].pub_us, dead + parts[0].dead)
    return Decoded(
        pl.concat([d.tx for d in parts]),
        np.concatenate([d.pub_us for d in parts]),
        dead + [x for d in parts for x in d.dead],
    )


def _decode_pacs008(payloads: list[bytes], subjects: list[str], prefix: str) -> Decoded:
    """Decode pacs.008 messages (one transaction each, `pacs008.parse_batch`); a message refused names
    the field, and so does one whose subject names another bank than its debtor agent's."""
    rows, refused = pacs008.parse_batch(payloads)
    subject_bank = pl.Series([_bank_of(s) for s in subjects])
    rows = rows.with_columns(_subject_bank=subject_bank.gather(rows["index"]))
    wrong = rows.filter(pl.col("_subject_bank") != pl.col("payer_bank"))
    dead = [
        (
            i,
            pacs008.Pacs008Invalid(
                f"CdtTrfTxInf.DbtrAgt.FinInstnId: subject bank {sb} is not the payer's bank {pb}",
                field="CdtTrfTxInf.DbtrAgt.FinInstnId",
            ),
        )
        for i, sb, pb in wrong.select("index", "_subject_bank", "payer_bank").iter_rows()
    ]
    rows = rows.filter(pl.col("_subject_bank") == pl.col("payer_bank"))
    letters = [
        {
            "reason": str(exc),
            "field": exc.field,
            "subject": subjects[i],
            "payload": payloads[i][:500].decode(errors="replace"),
        }
        for i, exc in sorted(refused + dead, key=lambda d: d[0])
    ]
    tx = rows.select(
        "tx_id",
        pl.col("ts_us").cast(TX_SCHEMA["ts"]).alias("ts"),
        *(pl.col(k).cast(TX_SCHEMA[k]) for k in list(TX_SCHEMA)[2:]),
    )
    return Decoded(tx, rows["pub_us"].to_numpy(), letters)


def _decode_json(payloads: list[bytes], subjects: list[str], prefix: str) -> Decoded:
    """Decode JSON messages vectorised; bad ones become dead letters with the reason."""
    dead: list[dict[str, Any]] = []
    try:
        raw = pl.read_ndjson(io.BytesIO(b"\n".join(payloads)), schema=_WIRE_SCHEMA)
        kept_subjects = subjects
    except Exception:
        # A malformed message spoils the vectorised read: sort the batch one by one, then read the good.
        good, kept_subjects = [], []
        for p, s in zip(payloads, subjects, strict=True):
            try:
                if not isinstance(json.loads(p), dict):
                    raise ValueError("not an object")
                pl.read_ndjson(io.BytesIO(p), schema=_WIRE_SCHEMA)
                good.append(p)
                kept_subjects.append(s)
            except Exception:
                dead.append(
                    {"reason": "malformed JSON", "subject": s, "payload": p[:500].decode(errors="replace")}
                )
        if not good:
            return Decoded(empty(TX_SCHEMA), np.zeros(0, dtype=np.int64), dead)
        raw = pl.read_ndjson(io.BytesIO(b"\n".join(good)), schema=_WIRE_SCHEMA)
    raw = raw.with_columns(
        _subject_bank=pl.Series(kept_subjects).str.split(".").list.last(),
        ts=pl.col("ts")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", strict=False)
        .cast(TX_SCHEMA["ts"]),
    )
    missing = [pl.when(pl.col(c).is_null()).then(pl.lit(f"missing or invalid field {c}")) for c in TX_SCHEMA]
    known = list(KNOWN_BANKS)
    reason = pl.coalesce(
        *missing,
        pl.when(~pl.col("payer_bank").is_in(known)).then(pl.lit("unknown bank ") + pl.col("payer_bank")),
        pl.when(~pl.col("payee_bank").is_in(known)).then(pl.lit("unknown bank ") + pl.col("payee_bank")),
        pl.when(pl.col("_subject_bank") != pl.col("payer_bank")).then(
            pl.lit("subject bank ") + pl.col("_subject_bank") + pl.lit(" is not the payer's bank")
        ),
        pl.when(pl.col("amount_fen") <= 0).then(pl.lit("amount_fen must be positive")),
    )
    raw = raw.with_columns(_reason=reason)
    bad = raw.filter(pl.col("_reason").is_not_null())
    for r in bad.iter_rows(named=True):
        dead.append(
            {"reason": r["_reason"], "tx_id": r["tx_id"], "subject": f"{prefix}.{r['_subject_bank']}"}
        )
    good_rows = raw.filter(pl.col("_reason").is_null())
    return Decoded(
        good_rows.select(list(TX_SCHEMA)),
        good_rows["pub_us"].fill_null(0).to_numpy(),
        dead,
    )


# ---------------------------------------------------------------------------------------------
# Publishing a district into NATS
# ---------------------------------------------------------------------------------------------


@dataclass
class PublishStats:
    """What a publish run sent: transactions (and raw extra messages), NATS messages, time."""

    messages: int = 0
    copies: int = 0  # transfers also sent to their payee's partition
    seconds: float = 0.0
    stream_messages: int = 0
    nats_messages: int = 0
    started_us: int = 0  # wall clock (µs) when the first transaction was due


async def ensure_stream(js: Any, name: str, prefix: str) -> None:
    """Create the JetStream stream for `<prefix>.>` when it does not exist."""
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=name, subjects=[f"{prefix}.>"], duplicate_window=120.0))


async def publish_frames(
    frames: list[pl.DataFrame] | Any,
    *,
    url: str = DEFAULT_URL,
    prefix: str = DEFAULT_PREFIX,
    stream: str = DEFAULT_STREAM,
    rate: float = 0.0,
    frame_size: int = 500,
    extra: list[tuple[str, bytes]] | None = None,
    iso: bool = False,
    partitions: int = 0,
) -> PublishStats:
    """Publish transactions in time order at `rate` per second (0: as fast as NATS takes them).

    Chunks of `frame_size` transactions, each sent as one frame per payer bank (`frame_size` 1: one
    message per transaction; with `iso`, each transaction is a pacs.008 JSON message of its own,
    `pacs008.message`, and a chunk is the messages sent between two flushes). With a rate, transaction k is due at start + k / rate: it is stamped with
    that time and its chunk is sent once its last transaction is due, so the time a transaction waits
    for its chunk, and any time the publisher falls behind, count in the measured latency.

    With `partitions` P > 0 subjects are `<prefix>.<partition>.<bank>`, the partition
    `partition_of(payer_account, P)`; a frame then holds one partition's records of one bank, and a
    chunk's frames continue only within their partition (a partition's consumer sees no other's).
    """
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, stream, prefix)
    stats = PublishStats()
    size = WIRE.itemsize
    # The next batch is read and encoded in a thread while this one is sent (Polars and NumPy release
    # the GIL): read inline, a district day (1.6 M rows) held the sender for about a second, which
    # the due-time stamps rightly counted as latency.
    batches = iter(frames)

    def next_encoded() -> npt.NDArray[np.void] | None:
        batch = next(batches, None)
        return None if batch is None else encode_wire(batch)

    pending = asyncio.ensure_future(asyncio.to_thread(next_encoded))
    # The clock starts once the first batch is encoded (a district day: about 0.3 s), not before:
    # that wait is the replay's set-up, and stamped as due it read as the consumer's first latency.
    await asyncio.wait([pending])
    started = time.perf_counter()
    started_us = stats.started_us = time.time_ns() // 1000
    while (rec := await pending) is not None:
        pending = asyncio.ensure_future(asyncio.to_thread(next_encoded))
        for lo in range(0, rec.size, frame_size):
            chunk = rec[lo : lo + frame_size]
            k = stats.messages + np.arange(chunk.size, dtype=np.int64)
            if rate > 0:
                due_us = started_us + (k * 1e6 / rate).astype(np.int64)
                ahead = (int(due_us[-1]) - time.time_ns() // 1000) / 1e6
                if ahead > 0:
                    await asyncio.sleep(ahead)
                chunk["pub_us"] = due_us
            else:
                chunk["pub_us"] = time.time_ns() // 1000
            home = away = np.zeros(chunk.size, np.int64)
            copied = np.zeros(0, np.int64)
            if partitions:
                # Each transfer to its payer's partition, and a copy to its payee's when that is
                # another: the copy after the transfer, so that the payee partition's note on it
                # (`consume`) always follows the transfer in the stream.
                home = partition_of(chunk["payer_account"], partitions)
                away = partition_of(chunk["payee_account"], partitions)
                copied = np.flatnonzero((chunk["payee_account"] >= 0) & (away != home))
                stats.copies += copied.size
            if iso or frame_size == 1:
                # An ATM withdrawal has no creditor account: it is no credit transfer, and not sent
                # as pacs.008.
                rows = np.flatnonzero(chunk["payee_account"] >= 0) if iso else np.arange(chunk.size)
                raw = chunk.tobytes()
                heads = [f"{prefix}.{k}." for k in home[rows].tolist()] if partitions else None
                also = dict(zip(copied.tolist(), away[copied].tolist(), strict=True)) if partitions else {}
                for j, (i, r) in enumerate(zip(rows.tolist(), chunk[rows].tolist(), strict=True)):
                    body = _iso_message(r) if iso else raw[i * size : (i + 1) * size]
                    bank = r[_B_PAYER].decode()
                    await nc.publish((heads[j] if heads else f"{prefix}.") + bank, body)
                    if i in also:
                        await nc.publish(f"{prefix}.{also[i]}.{bank}", body)
                stats.nats_messages += rows.size + len(also)
                stats.messages += rows.size - chunk.size
            else:
                # One frame per (partition, payer bank): the transfers first, then the copies. A frame
                # continues when a later message of this chunk goes to its own partition.
                groups: list[tuple[str, str, npt.NDArray[np.int64]]] = []
                for rows, part in (
                    (np.arange(chunk.size, dtype=np.int64), home if partitions else None),
                    (copied, away[copied] if partitions else None),
                ):
                    if rows.size == 0:
                        continue
                    lead = np.array([f"{prefix}.{k}." for k in part.tolist()] if part is not None
                                     else [f"{prefix}."] * rows.size)  # fmt: skip
                    keys = np.char.add(lead, chunk["payer_bank"][rows].astype("U8"))
                    uniq, which = np.unique(keys, return_inverse=True)
                    order = np.argsort(which, kind="stable")  # each group's records stay in time order
                    bounds = np.searchsorted(which[order], np.arange(uniq.size + 1))
                    for b, subject in enumerate(uniq.tolist()):
                        groups.append(
                            (subject.rpartition(".")[0], subject, rows[order[bounds[b] : bounds[b + 1]]])
                        )
                last = {head: i for i, (head, _, _) in enumerate(groups)}
                for i, (head, subject, rows) in enumerate(groups):
                    await nc.publish(subject, frame(chunk[rows], continues=last[head] > i))
                stats.nats_messages += len(groups)
            stats.messages += chunk.size
            # NATS core publishes into the stream's subjects; the flush is the batched
            # acknowledgement that the server has them.
            await nc.flush()
    for subject, payload in extra or []:
        await nc.publish(subject, payload)
        stats.messages += 1
        stats.nats_messages += 1
    await nc.flush()
    stats.seconds = time.perf_counter() - started
    info = await js.stream_info(stream)
    stats.stream_messages = int(info.state.messages)
    await nc.close()
    return stats


_WIRE_NAMES: tuple[str, ...] = WIRE.names or ()
_B_PAYER = _WIRE_NAMES.index("payer_bank")
_FIELDS = {name: i for i, name in enumerate(_WIRE_NAMES)}


def _iso_message(r: tuple[Any, ...]) -> bytes:
    """A wire record (as a tuple) as a pacs.008 message."""
    f = _FIELDS
    return pacs008.message(
        tx_id=r[f["tx_id"]],
        ts_us=r[f["ts_us"]],
        payer_account=r[f["payer_account"]],
        payee_account=r[f["payee_account"]],
        amount_fen=r[f["amount_fen"]],
        channel=CHANNELS[r[f["channel"]]],
        payer_bank=r[f["payer_bank"]].decode(),
        payee_bank=r[f["payee_bank"]].decode(),
        pub_us=r[f["pub_us"]],
    )


async def publish_store(
    directory: Path, *, since: datetime | None = None, until: datetime | None = None, **kw: Any
) -> PublishStats:
    """Replay a district's transactions into NATS, day by day in time order."""
    frames = (b.sort(["ts", "tx_id"]) for b in iter_batches(directory, since, until))
    return await publish_frames(frames, **kw)


# ---------------------------------------------------------------------------------------------
# Consuming
# ---------------------------------------------------------------------------------------------


@dataclass
class ConsumerConfig:
    """Where to read from, where to keep state, and how big the micro-batches are."""

    state_dir: Path
    url: str = DEFAULT_URL
    prefix: str = DEFAULT_PREFIX
    stream: str = DEFAULT_STREAM
    durable: str = DEFAULT_DURABLE
    batch: int = 20_000
    fetch_timeout_s: float = 0.02
    checkpoint_s: float = 1.0
    # At most this share of the time spent writing checkpoints (each in a thread): a state of months
    # of history takes seconds to write, and is then written every minute or two, not every second.
    checkpoint_share: float = 0.05
    # Messages asked for in one pull request; the server never sends more than were asked for.
    fetch_batch: int = 5_000
    # Delivered but unacknowledged messages the server allows (it stops delivering at this many).
    max_ack_pending: int = 50_000
    # Seconds to sleep after each micro-batch: a deliberately slow consumer (tests, benchmarks).
    pause_s: float = 0.0
    # The subjects this consumer reads (default `<prefix>.>`; a partition's: `<prefix>.<k>.>`).
    subject: str | None = None
    # The partition screened (`partition_config`): its payers' transfers, copies of its payees', notes.
    partition: Partition | None = None
    # The consumer group whose notes this partition reads and sends (`partition_config`: the durable
    # name the partitions' durables share); another group's notes on the same stream are not its own.
    notes_group: str = ""
    dedup_minutes: int = 60
    idle_exit_s: float | None = None
    max_messages: int | None = None
    watchlist_refresh_s: float = 30.0


@dataclass
class Counters:
    """Counts kept with the checkpoint, so that they survive a restart exactly.

    `received`, `screened`, `duplicates` and `dead_letters` count transactions (a malformed message
    counts as one); `messages` counts NATS messages of transactions (a frame carries many); a
    partition's notes are counted apart (`notes_received`).
    """

    last_seq: int = 0
    received: int = 0
    screened: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    flags: int = 0
    messages: int = 0
    gaps: int = 0  # consumer-sequence gaps found (each delivered again from the last screened message)
    copies: int = 0  # of `screened`: copies of transfers to the partition's payees, counted, not screened
    notes_sent: int = 0  # notes on those copies, sent to the payers' partitions
    notes_received: int = 0  # notes received for transfers held here


@dataclass
class ConsumerStats:
    """Counters and latency of a consumer run."""

    counters: Counters
    latencies_ms: list[float] = field(default_factory=list)
    batch_latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    batches: int = 0
    last_screened_us: int = 0  # wall clock (µs) when the last batch's flags were persisted
    started_us: int = 0  # wall clock (µs) when the consumer was ready to take messages

    def summary(self) -> dict[str, Any]:
        """JSON-able summary with p50/p99 publish → persisted latency over the flagged transactions."""
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.zeros(0)
        every = np.array(self.batch_latencies_ms) if self.batch_latencies_ms else np.zeros(0)
        return {
            **asdict(self.counters),
            "seconds": round(self.seconds, 3),
            "batches": self.batches,
            "last_screened_us": self.last_screened_us,
            "started_us": self.started_us,
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
            "latency_samples": int(lat.size),
            # Every screened message, publish → its micro-batch screened and its flags persisted.
            "all_latency_ms_p99": round(float(np.percentile(every, 99)), 2) if every.size else None,
            "all_latency_samples": int(every.size),
        }


class Checkpoint:
    """The consumer's durable state: engine state, dedup window and counters, swapped in atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.current = directory / "checkpoint"

    def load(self) -> tuple[ScreenState, SeenIds, Counters] | None:
        """The last checkpoint, or None when there is none."""
        meta_path = self.current / "meta.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text())
        hw = datetime.fromisoformat(meta["high_water"]) if meta.get("high_water") else None
        state = ScreenState.load(self.current, hw)
        if (self.current / "seen.npz").exists():
            seen = SeenIds.load(self.current / "seen.npz")
        else:  # a checkpoint written before the window was kept in runs: one run of it
            old = pl.read_parquet(self.current / "seen.parquet")
            ids, ts = old["tx_id"].to_numpy().astype(np.int64), old["ts"].dt.epoch("us").to_numpy()
            seen = SeenIds((np.sort(ids),), (int(ts.min()),), (int(ts.max()),)) if ids.size else SeenIds()
        return state, seen, Counters(**meta["counters"])

    def save(self, state: ScreenState, seen: SeenIds, counters: Counters) -> None:
        """Write to a fresh folder, then swap it in by rename: a kill leaves the old or the new, never half."""
        tmp = self.directory / f"checkpoint.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        state.save(tmp)
        seen.save(tmp / "seen.npz")
        meta = {
            "counters": asdict(counters),
            "high_water": state.high_water.isoformat() if state.high_water else None,
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        old = self.directory / f"checkpoint.old-{os.getpid()}"
        if self.current.exists():
            self.current.rename(old)
        tmp.rename(self.current)
        shutil.rmtree(old, ignore_errors=True)


Sink = Callable[[pl.DataFrame], None]


async def consume(
    cfg: ConsumerConfig,
    *,
    rules: RuleSet,
    watchlist: Callable[[], pl.DataFrame],
    reference: pl.DataFrame,
    initial_state: Callable[[], ScreenState],
    sink: Sink,
    stop: asyncio.Event | None = None,
) -> ConsumerStats:
    """Run the streaming engine until `stop`, `max_messages` or `idle_exit_s` of silence."""
    import nats
    from nats.js.api import AckPolicy, DeliverPolicy
    from nats.js.api import ConsumerConfig as JsConsumerConfig
    from nats.js.errors import NotFoundError

    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpoint(cfg.state_dir)
    loaded = ckpt.load()
    if loaded is None:
        state, seen, counters = initial_state(), SeenIds(), Counters()
    else:
        state, seen, counters = loaded
    stats = ConsumerStats(counters)
    dead_file = (cfg.state_dir / "dead-letters.jsonl").open("a", encoding="utf-8")
    nc = await nats.connect(cfg.url)
    js = nc.jetstream()
    await ensure_stream(js, cfg.stream, cfg.prefix)
    # The checkpoint, not the server's ack floor, says where screening stands: recreate the durable
    # consumer to deliver from the message after it. Messages delivered to a killed consumer and never
    # acked would otherwise wait out the ack timeout before the server sent them again.
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(cfg.stream, cfg.durable)
    queue: list[Any] = []
    # Publish times of the transfers held for a note (for the latency figures; not kept over a restart).
    held_pub: dict[int, int] = {}
    wl = watchlist()
    # Compile the lookups and load the compiled kernels now, not on the first micro-batch: with a
    # district's 4 million accounts the first messages would wait ~0.5 s for them. Before subscribing,
    # so that nothing is delivered meanwhile.
    lookups_of(wl, reference)
    kernels.warm_up()
    # The memory checkpoints copy the state into, touched now rather than in the first checkpoint
    # (the first touch of fresh memory: 1.6 s for a district's 768 MiB of tables on this machine).
    spare: ScreenState | None = state.snapshot()
    subject = cfg.subject or f"{cfg.prefix}.>"

    async def pull() -> Any:
        """A durable pull consumer delivering from the message after the last screened one."""
        return await js.pull_subscribe(
            subject,
            durable=cfg.durable,
            stream=cfg.stream,
            pending_msgs_limit=cfg.fetch_batch * 2 + 1000,
            pending_bytes_limit=-1,
            config=JsConsumerConfig(
                ack_policy=AckPolicy.ALL,
                max_ack_pending=cfg.max_ack_pending,
                ack_wait=60.0,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE if counters.last_seq else DeliverPolicy.ALL,
                opt_start_seq=counters.last_seq + 1 if counters.last_seq else None,
            ),
        )

    sub = await pull()
    # The consumer sequence of the last message taken: each delivery must follow it by one.
    last_cseq = 0
    wl_loaded = time.monotonic()
    started = time.perf_counter()
    stats.started_us = time.time_ns() // 1000
    last_ckpt = time.monotonic()
    last_msg_at = time.monotonic()
    waiting_since: float | None = None
    writing: asyncio.Task[tuple[ScreenState, float]] | None = None
    saved_seq = counters.last_seq
    interval = cfg.checkpoint_s

    async def write(snap: ScreenState, window: SeenIds, counts: Counters) -> tuple[ScreenState, float]:
        began = time.perf_counter()
        await asyncio.to_thread(ckpt.save, snap, window, counts)
        return snap, time.perf_counter() - began

    async def checkpoint(*, final: bool = False) -> None:
        """Snapshot the state now and write it in a thread while screening goes on. One write at a
        time: while one is running this does nothing (the next call takes what came meanwhile),
        unless `final`, which waits for both.

        Written on the event loop, a checkpoint held up every message behind it for as long as it
        took, and that grows with the state (9 ms to 490 ms over a 60 s district replay at 50k tx/s
        from an empty state; 4 s with two months of the district's history). The snapshot is copied
        into the previous one's memory (first touched before subscribing: fresh memory is dear), and
        the next checkpoint waits until the last write's time is at most `checkpoint_share` of the
        time since it (at 5%, twenty times as long as the write took).
        """
        nonlocal last_ckpt, writing, spare, saved_seq, interval
        if writing is not None:
            if not writing.done() and not final:
                return
            spare, took = await writing
            writing = None
            interval = max(cfg.checkpoint_s, took / cfg.checkpoint_share)
        if counters.last_seq == saved_seq:
            return
        saved_seq = counters.last_seq
        # The dedup window and the rules' windows are replaced by each batch, never changed in place.
        snap, spare = state.snapshot(into=spare), None
        writing = asyncio.create_task(write(snap, seen, replace(counters)))
        last_ckpt = time.monotonic()
        if final:
            spare, _ = await writing
            writing = None

    try:
        while not (stop is not None and stop.is_set()):
            if cfg.max_messages is not None and counters.received >= cfg.max_messages:
                break
            if not _holds_batch(queue, cfg.batch):
                # Ask for more only while the queue holds less than a micro-batch: what the server
                # sends is never more than was asked for, however slow screening is.
                fetched = await _fetch(sub, cfg.fetch_batch, cfg.fetch_timeout_s)
                if fetched:
                    # Consumer sequences rise by one a delivery, in the order the connection
                    # received them, so the ends and the count tell a gap (the metadata is parsed
                    # from each message's reply subject: ~5 µs, too dear for every message).
                    first = fetched[0].metadata.sequence.consumer
                    last = fetched[-1].metadata.sequence.consumer
                    if first != last_cseq + 1 or last - first + 1 != len(fetched):
                        # Delivered and never seen: deliver again from the last screened message.
                        counters.gaps += 1
                        queue.clear()
                        with contextlib.suppress(Exception):
                            await sub.unsubscribe()
                        with contextlib.suppress(NotFoundError):
                            await js.delete_consumer(cfg.stream, cfg.durable)
                        sub, last_cseq = await pull(), 0
                        continue
                    last_cseq = last
                    queue.extend(fetched)
            if not queue:
                if time.monotonic() - last_ckpt >= interval:
                    await checkpoint()
                if cfg.idle_exit_s is not None and time.monotonic() - last_msg_at > cfg.idle_exit_s:
                    break
                continue
            take = _cut(queue, cfg.batch)
            if take == 0:
                # The queue ends inside a chunk whose other frames are on their way: wait for them,
                # unless they never come (the publisher died mid-chunk), then screen what came.
                waiting_since = waiting_since or time.monotonic()
                if time.monotonic() - waiting_since < 1.0:
                    continue
                take = len(queue)
            waiting_since = None
            msgs = queue[:take]
            del queue[:take]
            last_msg_at = time.monotonic()
            if last_msg_at - wl_loaded >= cfg.watchlist_refresh_s:
                wl, wl_loaded = watchlist(), last_msg_at
            # Delivery is in stream order: the last message's sequence bounds the batch's.
            last_seq = msgs[-1].metadata.sequence.stream
            if last_seq <= counters.last_seq:
                await msgs[-1].ack()
                continue
            if msgs[0].metadata.sequence.stream <= counters.last_seq:
                msgs = [m for m in msgs if m.metadata.sequence.stream > counters.last_seq]
            counters.last_seq = last_seq
            taken = msgs
            notes_in = [m for m in msgs if _is_note(m)] if cfg.partition is not None else []
            if notes_in:
                msgs = [m for m in msgs if not _is_note(m)]
                notes_in = [m for m in notes_in if m.subject.rpartition(".")[2] == cfg.notes_group]
            counters.messages += len(msgs)
            counters.received += sum(items_in(m.data) for m in msgs)
            decoded = decode([m.data for m in msgs], [m.subject for m in msgs], cfg.prefix)
            tx, pub, dead = decoded.tx, decoded.pub_us, decoded.dead
            notes = _decode_notes(notes_in, dead)
            if cfg.partition is not None and tx.height:
                tx, pub = _of_partition(tx, pub, cfg.partition, dead)
            for d in dead:
                dead_file.write(json.dumps(d, ensure_ascii=False) + "\n")
            if dead:
                dead_file.flush()
            counters.dead_letters += len(dead)
            # De-duplicate by transaction id: within the batch, and against the ids of the last hour.
            ids = tx["tx_id"].to_numpy()
            fresh = seen.fresh(ids)
            if not fresh.all():
                tx, pub = tx.filter(pl.Series(fresh)), pub[fresh]
            counters.duplicates += ids.size - tx.height
            counters.screened += tx.height
            flags, settled = empty(FLAG_SCHEMA), empty(FLAG_SCHEMA)
            if tx.height:
                if cfg.partition is None:
                    flags, state = screen_batch(tx, state, rules, wl, reference)
                else:
                    out, state = screen_partition(tx, state, rules, wl, reference, cfg.partition)
                    flags = out.flags
                    counters.copies += int((~cfg.partition.owns(tx["payer_account"].to_numpy())).sum())
                    held = out.held["tx_id"].to_numpy()
                    held_pub.update(zip(held.tolist(), _pub_of(ids[fresh], pub, held).tolist(), strict=True))
                    counters.notes_sent += await _send_notes(js, cfg, out.notes)
            if notes.height:
                # After the batch's transfers: a note follows its transfer in the stream.
                counters.notes_received += notes.height
                settled, state = settle(state, notes, rules)
            if flags.height or settled.height:
                sink(pl.concat([flags, settled]))
                now_us = time.time_ns() // 1000
                if flags.height:
                    fpub = _pub_of(tx["tx_id"].to_numpy(), pub, flags["tx_id"].to_numpy())
                    stats.latencies_ms.extend(((now_us - fpub[fpub > 0]) / 1000.0).tolist())
                for tx_id in settled["tx_id"].to_list():
                    if (p := held_pub.pop(tx_id, 0)) > 0:
                        stats.latencies_ms.append((now_us - p) / 1000.0)
            counters.flags += flags.height + settled.height
            if tx.height:
                now_us = time.time_ns() // 1000
                stats.last_screened_us = now_us
                sample = pub[pub > 0][:: max(1, tx.height // 50)]
                stats.batch_latencies_ms.extend(((now_us - sample) / 1000.0).tolist())
                seen = seen.remembered(
                    ids[fresh], tx["ts"].dt.epoch("us").to_numpy(), window_us=cfg.dedup_minutes * 60_000_000
                )
            stats.batches += 1
            # Ack-all once the batch is screened and its risk events are stored (every message up to
            # this one was taken: a gap would have been delivered again). A restart goes by the
            # checkpoint, not by acks.
            await taken[-1].ack()
            if cfg.pause_s:
                await asyncio.sleep(cfg.pause_s)
            if time.monotonic() - last_ckpt >= interval:
                await checkpoint()
        await checkpoint(final=True)
    finally:
        if writing is not None:
            with contextlib.suppress(Exception):
                await writing
        dead_file.close()
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await nc.close()
    stats.seconds = time.perf_counter() - started
    (cfg.state_dir / "stats.json").write_text(json.dumps(stats.summary()))
    return stats


class PartitionMapError(ValueError):
    """A partition map that leaves a partition unowned, gives one to two consumers, or names one
    outside 0..P-1; the message names the partition."""


def parse_partitions(spec: str) -> list[int]:
    """`0-3,6` → [0, 1, 2, 3, 6]; a malformed part is refused naming it."""
    out: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        lo, dash, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise PartitionMapError(f"partition {part!r} is not a number or a range like 0-3") from None
        if first < 0 or last < first:
            raise PartitionMapError(f"partition range {part!r} is empty or negative")
        out.extend(range(first, last + 1))
    return out


def check_partition_map(owners: list[list[int]], partitions: int) -> None:
    """Every partition 0..P-1 owned by exactly one consumer, else refused naming the partition."""
    owner: dict[int, int] = {}
    for c, owned in enumerate(owners):
        for k in owned:
            if not 0 <= k < partitions:
                raise PartitionMapError(f"partition {k} of consumer {c} is outside 0..{partitions - 1}")
            if k in owner:
                raise PartitionMapError(f"partition {k} is given to consumers {owner[k]} and {c}")
            owner[k] = c
    for k in range(partitions):
        if k not in owner:
            raise PartitionMapError(f"partition {k} is owned by no consumer")


def partition_config(cfg: ConsumerConfig, k: int, partitions: int) -> ConsumerConfig:
    """Partition k's (of `partitions`) consumer: its subjects, durable consumer and state folder."""
    return replace(
        cfg,
        state_dir=cfg.state_dir / f"p{k}",
        durable=f"{cfg.durable}-p{k}",
        subject=f"{cfg.prefix}.{k}.>",
        partition=Partition(k, partitions),
        notes_group=cfg.durable,
    )


async def consume_partitions(
    cfg: ConsumerConfig,
    owned: list[int],
    partitions: int,
    *,
    rules: RuleSet,
    watchlist: Callable[[], pl.DataFrame],
    reference: pl.DataFrame,
    initial_state: Callable[[], ScreenState],
    sink: Sink,
    stop: asyncio.Event | None = None,
) -> dict[int, ConsumerStats]:
    """Screen the owned partitions (of `partitions`), each with its own durable consumer, state and
    checkpoint, in this process's event loop; until `stop` or each partition's `idle_exit_s`.

    A partition without a checkpoint starts from its part of `initial_state()` (`of_partition`),
    which is built once for all of them and let go once each has taken its part."""
    base: list[ScreenState] = []
    waiting = set(owned)

    def initial(k: int) -> Callable[[], ScreenState]:
        def part() -> ScreenState:
            if not base:
                base.append(initial_state())
            state = base[0].of_partition(Partition(k, partitions))
            waiting.discard(k)
            if not waiting:
                base.clear()
            return state

        return part

    runs = [
        consume(
            partition_config(cfg, k, partitions),
            rules=rules,
            watchlist=watchlist,
            reference=reference,
            initial_state=initial(k),
            sink=sink,
            stop=stop,
        )
        for k in owned
    ]
    return dict(zip(owned, await asyncio.gather(*runs), strict=True))


# A partition's notes to another: `<prefix>.<k>.payee-notes.<group>` (no bank code has a hyphen).
NOTES = "payee-notes"


_NOTES_TOKEN = f".{NOTES}."


def _is_note(m: Any) -> bool:
    # A substring test: this runs for every queued message each time the queue is measured.
    return _NOTES_TOKEN in m.subject


def encode_notes(notes: pl.DataFrame) -> bytes:
    """Notes (NOTE_SCHEMA) as one JSON message."""
    return json.dumps({"v": 1, **{c: notes[c].to_list() for c in NOTE_SCHEMA}}).encode()


def _decode_notes(msgs: list[Any], dead: list[dict[str, Any]]) -> pl.DataFrame:
    """The notes of note messages; a malformed one becomes a dead letter."""
    frames = []
    for m in msgs:
        try:
            body = json.loads(m.data)
            frames.append(pl.DataFrame({c: body[c] for c in NOTE_SCHEMA}, schema=NOTE_SCHEMA))
        except (ValueError, TypeError, KeyError, pl.exceptions.PolarsError) as exc:
            dead.append({"reason": f"malformed payee notes: {exc}", "subject": m.subject})
    return pl.concat(frames) if frames else empty(NOTE_SCHEMA)


def _of_partition(
    tx: pl.DataFrame, pub: npt.NDArray[np.int64], part: Partition, dead: list[dict[str, Any]]
) -> tuple[pl.DataFrame, npt.NDArray[np.int64]]:
    """The transfers that belong in the partition (its payer's, or a copy of one to its payee); any
    other was published to the wrong partition and becomes a dead letter, naming both."""
    payer, payee = tx["payer_account"].to_numpy(), tx["payee_account"].to_numpy()
    ok = part.owns(payer) | ((payee >= 0) & part.owns(payee))
    if ok.all():
        return tx, pub
    for r in tx.filter(pl.Series(~ok)).iter_rows(named=True):
        home = int(partition_of(np.array([r["payer_account"]]), part.of)[0])
        dead.append({"reason": f"sent to partition {part.k}; payer_account is of partition {home}",
                     "tx_id": r["tx_id"]})  # fmt: skip
    return tx.filter(pl.Series(ok)), pub[ok]


async def _send_notes(js: Any, cfg: ConsumerConfig, notes: pl.DataFrame) -> int:
    """Send each payer partition its notes, stored by JetStream before this returns (so before the
    batch is acknowledged and checkpointed); the number of notes sent."""
    if notes.height == 0 or cfg.partition is None:
        return 0
    to = partition_of(notes["payer_account"].to_numpy(), cfg.partition.of)
    for k in np.unique(to).tolist():
        subject = f"{cfg.prefix}.{k}.{NOTES}.{cfg.notes_group}"
        await js.publish(subject, encode_notes(notes.filter(pl.Series(to == k))))
    return notes.height


async def _fetch(sub: Any, batch: int, timeout: float) -> list[Any]:
    """Up to `batch` messages of a pull consumer, or none when none came within `timeout`."""
    try:
        return list(await sub.fetch(batch, timeout=timeout))
    except TimeoutError:
        return []


def _boundaries(queue: list[Any]) -> Any:
    """(transactions, whether a chunk ends here) for each queued message. A note carries no
    transaction, and ends a chunk only where the message before it did."""
    open_chunk = False
    for m in queue:
        if _is_note(m):
            yield 0, not open_chunk
            continue
        open_chunk = continues(m.data)
        yield items_in(m.data), not open_chunk


def _holds_batch(queue: list[Any], limit: int) -> bool:
    """Whether the queue holds a whole micro-batch: `limit` transactions ending at a chunk boundary."""
    items = 0
    for n, ends in _boundaries(queue):
        items += n
        if items >= limit and ends:
            return True
    return False


def _cut(queue: list[Any], limit: int) -> int:
    """How many queued messages make the next micro-batch: at least `limit` transactions where the
    queue holds them, ending at a chunk boundary (never between the frames of one instant); 0 when
    the queue ends inside a chunk."""
    items = boundary = 0
    for i, (n, ends) in enumerate(_boundaries(queue)):
        items += n
        if ends:
            boundary = i + 1
            if items >= limit:
                break
    return boundary


def _pub_of(
    ids: npt.NDArray[np.int64], pub: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The publish times of the `wanted` transaction ids (ids are unique)."""
    order = np.argsort(ids)
    return np.asarray(pub[order[np.searchsorted(ids[order], wanted)]], dtype=np.int64)


def flags_frame_empty() -> pl.DataFrame:
    """An empty flags frame."""
    return empty(FLAG_SCHEMA)


def utc(ts: str) -> datetime:
    """Parse an ISO-8601 time; a time without zone is taken as UTC."""
    d = datetime.fromisoformat(ts)
    return d if d.tzinfo else d.replace(tzinfo=UTC)
