"""The streaming engine: transactions from NATS JetStream, screened in micro-batches by `screen_batch`.

Subjects are `<prefix>.<bank>` (default prefix `pingan.tx`); each message is one transaction as a
JSON object with the fields of `engine.TX_SCHEMA` (`ts` in ISO-8601 UTC) and optionally `pub_us`,
the publisher's clock in microseconds, used to measure publish → persisted latency.

Delivery is at-least-once: a durable pull consumer (back-pressure: the consumer fetches only what it
can take) with ack-all. After each micro-batch the risk events are persisted (idempotent by tx id);
every `checkpoint_s` the engine state, the last stream sequence and the counters are written
atomically, and only then is the last message acked. A consumer killed at any point restarts from
its checkpoint: redelivered messages at or before the checkpoint sequence are skipped, later ones are
screened again from the same state and give the same events, which the database already holds.
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.screening.engine import FLAG_SCHEMA, TX_SCHEMA, ScreenState, empty, screen_batch
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


def encode(batch: pl.DataFrame) -> list[bytes]:
    """One JSON object per transaction (without `pub_us`), encoded vectorised."""
    wire = batch.select(list(TX_SCHEMA)).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    buf = io.BytesIO()
    wire.write_ndjson(buf)
    return buf.getvalue().splitlines()


def stamp(line: bytes, pub_us: int) -> bytes:
    """Add the publisher's clock to an encoded transaction."""
    return line[:-1] + b',"pub_us":' + str(pub_us).encode() + b"}"


@dataclass
class Decoded:
    """A decoded micro-batch: the good transactions and the dead letters with their reasons."""

    tx: pl.DataFrame
    pub_us: np.ndarray
    dead: list[dict[str, Any]]


def decode(payloads: list[bytes], subjects: list[str], prefix: str) -> Decoded:
    """Decode a micro-batch of messages vectorised; bad ones become dead letters with the reason."""
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
        _subject_bank=pl.Series(kept_subjects).str.strip_prefix(prefix + "."),
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
    """What a publish run sent."""

    messages: int = 0
    seconds: float = 0.0
    stream_messages: int = 0


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
    extra: list[tuple[str, bytes]] | None = None,
) -> PublishStats:
    """Publish transactions in time order at `rate` per second (0: as fast as NATS takes them)."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, stream, prefix)
    stats = PublishStats()
    started = time.perf_counter()
    for batch in frames:
        lines = encode(batch)
        banks = batch["payer_bank"].to_list()
        for i, (line, bank) in enumerate(zip(lines, banks, strict=True)):
            await nc.publish(f"{prefix}.{bank}", stamp(line, time.time_ns() // 1000))
            stats.messages += 1
            if i % 1000 == 999:
                await nc.flush()
                if rate > 0:
                    ahead = stats.messages / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
    for subject, payload in extra or []:
        await nc.publish(subject, payload)
        stats.messages += 1
    await nc.flush()
    stats.seconds = time.perf_counter() - started
    info = await js.stream_info(stream)
    stats.stream_messages = int(info.state.messages)
    await nc.close()
    return stats


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
    batch: int = 5000
    fetch_timeout_s: float = 0.05
    checkpoint_s: float = 1.0
    dedup_minutes: int = 60
    idle_exit_s: float | None = None
    max_messages: int | None = None
    watchlist_refresh_s: float = 30.0


@dataclass
class Counters:
    """Counts kept with the checkpoint, so that they survive a restart exactly."""

    last_seq: int = 0
    received: int = 0
    screened: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    flags: int = 0


@dataclass
class ConsumerStats:
    """Counters and latency of a consumer run."""

    counters: Counters
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    batches: int = 0

    def summary(self) -> dict[str, Any]:
        """JSON-able summary with p50/p99 publish → persisted latency over the flagged transactions."""
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.zeros(0)
        return {
            **asdict(self.counters),
            "seconds": round(self.seconds, 3),
            "batches": self.batches,
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
            "latency_samples": int(lat.size),
        }


class Checkpoint:
    """The consumer's durable state: engine state, dedup window and counters, swapped in atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.current = directory / "checkpoint"

    def load(self) -> tuple[ScreenState, pl.DataFrame, Counters] | None:
        """The last checkpoint, or None when there is none."""
        meta_path = self.current / "meta.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text())
        hw = datetime.fromisoformat(meta["high_water"]) if meta.get("high_water") else None
        state = ScreenState.load(self.current, hw)
        seen = pl.read_parquet(self.current / "seen.parquet")
        return state, seen, Counters(**meta["counters"])

    def save(self, state: ScreenState, seen: pl.DataFrame, counters: Counters) -> None:
        """Write to a fresh folder, then swap it in by rename: a kill leaves the old or the new, never half."""
        tmp = self.directory / f"checkpoint.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        state.save(tmp)
        seen.write_parquet(tmp / "seen.parquet")
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
SEEN_SCHEMA: dict[str, pl.DataType] = {"tx_id": pl.Int64(), "ts": TX_SCHEMA["ts"]}


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
    from nats.js.api import AckPolicy
    from nats.js.api import ConsumerConfig as JsConsumerConfig

    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpoint(cfg.state_dir)
    loaded = ckpt.load()
    if loaded is None:
        state, seen, counters = initial_state(), empty(SEEN_SCHEMA), Counters()
    else:
        state, seen, counters = loaded
    stats = ConsumerStats(counters)
    dead_file = (cfg.state_dir / "dead-letters.jsonl").open("a", encoding="utf-8")
    nc = await nats.connect(cfg.url)
    js = nc.jetstream()
    await ensure_stream(js, cfg.stream, cfg.prefix)
    psub = await js.pull_subscribe(
        f"{cfg.prefix}.>",
        durable=cfg.durable,
        stream=cfg.stream,
        config=JsConsumerConfig(ack_policy=AckPolicy.ALL, max_ack_pending=-1, ack_wait=60.0),
    )
    wl = watchlist()
    wl_loaded = time.monotonic()
    started = time.perf_counter()
    last_ckpt = time.monotonic()
    last_msg_at = time.monotonic()
    unacked: Any = None

    async def checkpoint() -> None:
        nonlocal unacked, last_ckpt
        ckpt.save(state, seen, counters)
        if unacked is not None:
            await unacked.ack()
            unacked = None
        last_ckpt = time.monotonic()

    try:
        while not (stop is not None and stop.is_set()):
            if cfg.max_messages is not None and counters.received >= cfg.max_messages:
                break
            try:
                msgs = await psub.fetch(batch=cfg.batch, timeout=cfg.fetch_timeout_s)
            except (TimeoutError, nats.errors.TimeoutError):
                msgs = []
            if not msgs:
                if unacked is not None:
                    await checkpoint()
                if cfg.idle_exit_s is not None and time.monotonic() - last_msg_at > cfg.idle_exit_s:
                    break
                continue
            last_msg_at = time.monotonic()
            if last_msg_at - wl_loaded >= cfg.watchlist_refresh_s:
                wl, wl_loaded = watchlist(), last_msg_at
            unacked = msgs[-1]
            fresh = [m for m in msgs if m.metadata.sequence.stream > counters.last_seq]
            if not fresh:
                continue
            counters.last_seq = max(m.metadata.sequence.stream for m in fresh)
            counters.received += len(fresh)
            decoded = decode([m.data for m in fresh], [m.subject for m in fresh], cfg.prefix)
            for d in decoded.dead:
                dead_file.write(json.dumps(d, ensure_ascii=False) + "\n")
            dead_file.flush()
            counters.dead_letters += len(decoded.dead)
            tx = decoded.tx.with_columns(_pub=pl.Series(decoded.pub_us, dtype=pl.Int64))
            # De-duplicate by transaction id: within the batch, and against the ids of the last hour.
            n_before = tx.height
            tx = tx.unique("tx_id", keep="first", maintain_order=True)
            tx = tx.join(seen.select("tx_id"), on="tx_id", how="anti")
            counters.duplicates += n_before - tx.height
            counters.screened += tx.height
            if tx.height:
                flags, state = screen_batch(tx.drop("_pub"), state, rules, wl, reference)
                if flags.height:
                    sink(flags)
                    now_us = time.time_ns() // 1000
                    pub = flags.join(tx.select("tx_id", "_pub"), on="tx_id")["_pub"].to_numpy()
                    stats.latencies_ms.extend(((now_us - pub[pub > 0]) / 1000.0).tolist())
                counters.flags += flags.height
                seen = pl.concat([seen, tx.select(list(SEEN_SCHEMA))])
                if state.high_water is not None:
                    seen = seen.filter(pl.col("ts") > state.high_water - timedelta(minutes=cfg.dedup_minutes))
            stats.batches += 1
            if time.monotonic() - last_ckpt >= cfg.checkpoint_s:
                await checkpoint()
        if unacked is not None:
            await checkpoint()
    finally:
        dead_file.close()
        with contextlib.suppress(Exception):
            await nc.close()
    stats.seconds = time.perf_counter() - started
    (cfg.state_dir / "stats.json").write_text(json.dumps(stats.summary()))
    return stats


def flags_frame_empty() -> pl.DataFrame:
    """An empty flags frame."""
    return empty(FLAG_SCHEMA)


def utc(ts: str) -> datetime:
    """Parse an ISO-8601 time; a time without zone is taken as UTC."""
    d = datetime.fromisoformat(ts)
    return d if d.tzinfo else d.replace(tzinfo=UTC)
