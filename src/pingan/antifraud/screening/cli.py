"""`pingan screen` (batch) and `pingan stream publish|consume` (NATS JetStream)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from pingan.antifraud.screening import stream as st
from pingan.antifraud.screening.ruleset import DEFAULT_RULES, RuleSet, load_rules
from pingan.antifraud.screening.sink import StoreIdentities, record_flags
from pingan.antifraud.watchlist.frames import watchlist_frame
from pingan.antifraud.watchlist.queries import live_entries
from pingan.core import db
from pingan.core.errors import DomainError

stream_app = typer.Typer(help="Streaming screening through NATS JetStream.", no_args_is_help=True)

WatchOpt = Annotated[
    str,
    typer.Option(
        "--watchlist",
        help="db (the live watchlist), reports (built from the store's reports.jsonl over time) or a Parquet file",
    ),
]


def _time(value: str | None) -> datetime | None:
    return st.utc(value) if value else None


def _rules(path: Path) -> RuleSet:
    try:
        return load_rules(path)
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None


def _watchlist_loader(kind: str, store: Path) -> Callable[[], pl.DataFrame]:
    if kind == "reports":
        from pingan.antifraud.screening.quality import watchlist_from_reports

        frame = watchlist_from_reports(store)
        return lambda: frame
    if kind != "db":
        frame = pl.read_parquet(kind)
        return lambda: frame
    ids = StoreIdentities(store).account_ids()

    def load() -> pl.DataFrame:
        with db.transaction() as session:
            return watchlist_frame(live_entries(session), ids)

    return load


def screen(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="transaction store directory")],
    since: Annotated[
        str | None, typer.Option(help="screen from this time (ISO-8601); earlier is history")
    ] = None,
    until: Annotated[str | None, typer.Option(help="screen up to this time (exclusive)")] = None,
    rules: Annotated[Path, typer.Option(help="rules file")] = DEFAULT_RULES,
    watchlist: WatchOpt = "db",
    persist: Annotated[bool, typer.Option(help="record risk events and warning plans")] = True,
    out: Annotated[Path | None, typer.Option(help="also write the flags to this Parquet file")] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="keep the screening state here: a later run goes on from it, reading only what is new",
        ),
    ] = None,
) -> None:
    """Batch screening (资金预警筛查): screen the store's transactions in [since, until); print a JSON summary."""
    from pingan.antifraud.screening.store import screen_store

    ruleset = _rules(rules)
    try:
        run = screen_store(
            store,
            rules=ruleset,
            watchlist=_watchlist_loader(watchlist, store)(),
            since=_time(since),
            until=_time(until),
            state_dir=state,
        )
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    summary: dict[str, object] = {
        "rules_version": ruleset.version,
        "transactions_in_range": run.rows,
        "rows_decoded": run.rows_decoded,
        "rows_skipped_by_layout": run.rows_skipped_by_layout,
        "flags": run.flags.height,
        "seconds": round(run.seconds, 3),
        "rows_decoded_per_s": round(run.rows_decoded / run.seconds) if run.seconds else None,
    }
    if out is not None:
        run.flags.write_parquet(out)
    if persist and run.flags.height:
        result = record_flags(
            run.flags, StoreIdentities(store), engine="batch", rules_version=ruleset.version
        )
        summary |= {
            "risk_events": len(result.events),
            "plans": len(result.plans_created),
            "already_recorded": result.duplicates,
        }
    typer.echo(json.dumps(summary))


@stream_app.command("publish")
def publish(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="transaction store directory")],
    rate: Annotated[float, typer.Option(help="transactions per second; 0 = as fast as possible")] = 0.0,
    since: Annotated[str | None, typer.Option(help="from this time (ISO-8601)")] = None,
    until: Annotated[str | None, typer.Option(help="up to this time (exclusive)")] = None,
    url: Annotated[str, typer.Option(help="NATS server")] = st.DEFAULT_URL,
    prefix: Annotated[
        str, typer.Option(help="subject prefix; subjects are PREFIX.<bank>")
    ] = st.DEFAULT_PREFIX,
    stream: Annotated[str, typer.Option(help="JetStream stream name")] = st.DEFAULT_STREAM,
    frame: Annotated[
        int,
        typer.Option(
            min=1, help="transactions per chunk, sent as one frame message per payer bank; 1 = a message each"
        ),
    ] = 500,
) -> None:
    """Replay a generated district into NATS at a chosen rate, in frames of a bank's transactions."""
    stats = asyncio.run(
        st.publish_store(
            store,
            since=_time(since),
            until=_time(until),
            url=url,
            prefix=prefix,
            stream=stream,
            rate=rate,
            frame_size=frame,
        )
    )
    typer.echo(
        json.dumps(
            {
                "published": stats.messages,
                "nats_messages": stats.nats_messages,
                "seconds": round(stats.seconds, 3),
                "stream_messages": stats.stream_messages,
            }
        )
    )


@stream_app.command("consume")
def consume(
    store: Annotated[
        Path,
        typer.Option(
            exists=True, file_okay=False, help="the store: account holders, and history before --since"
        ),
    ],
    since: Annotated[
        str | None, typer.Option(help="history before this time seeds the state on first start")
    ] = None,
    state_dir: Annotated[Path, typer.Option(help="checkpoint and dead-letter folder")] = Path("var/stream"),
    rules: Annotated[Path, typer.Option(help="rules file")] = DEFAULT_RULES,
    watchlist: WatchOpt = "db",
    url: Annotated[str, typer.Option(help="NATS server")] = st.DEFAULT_URL,
    prefix: Annotated[str, typer.Option(help="subject prefix")] = st.DEFAULT_PREFIX,
    stream: Annotated[str, typer.Option(help="JetStream stream name")] = st.DEFAULT_STREAM,
    durable: Annotated[str, typer.Option(help="durable consumer name")] = st.DEFAULT_DURABLE,
    batch: Annotated[
        int, typer.Option(help="transactions per micro-batch, when queued (then to the end of a chunk)")
    ] = 5000,
    idle_exit: Annotated[
        float | None, typer.Option(help="exit after this many seconds without messages")
    ] = None,
    checkpoint_s: Annotated[
        float, typer.Option(help="least seconds between checkpoints (longer when writing them takes long)")
    ] = 1.0,
    persist: Annotated[bool, typer.Option(help="record risk events and warning plans")] = True,
) -> None:
    """Screen the stream with a durable consumer until interrupted (or idle); print a JSON summary."""
    from pingan.antifraud.screening.engine import ScreenState
    from pingan.antifraud.screening.store import history_state, read_reference

    ruleset = _rules(rules)
    identities = StoreIdentities(store).load() if persist else StoreIdentities(store)
    start = _time(since)

    def sink(flags: pl.DataFrame) -> None:
        if persist:
            record_flags(flags, identities, engine="stream", rules_version=ruleset.version)

    def initial() -> ScreenState:
        return history_state(store, start, ruleset)

    cfg = st.ConsumerConfig(
        state_dir=state_dir,
        url=url,
        prefix=prefix,
        stream=stream,
        durable=durable,
        batch=batch,
        idle_exit_s=idle_exit,
        checkpoint_s=checkpoint_s,
    )
    stats = asyncio.run(
        st.consume(
            cfg,
            rules=ruleset,
            watchlist=_watchlist_loader(watchlist, store),
            reference=read_reference(store),
            initial_state=initial,
            sink=sink,
        )
    )
    typer.echo(json.dumps(stats.summary()))
