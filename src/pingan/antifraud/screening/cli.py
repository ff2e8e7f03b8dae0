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
    engine: Annotated[
        str, typer.Option(help="batch (in process) or spark (PySpark over the same store; docs/spark.md)")
    ] = "batch",
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="with --engine spark: the Spark master (default: what spark-submit gives, or local[*])"
        ),
    ] = None,
    scorer: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="a scorer model (`pingan train-scorer`) that screens beside the rules (M-SCORE); none: rules alone",
        ),
    ] = None,
) -> None:
    """Batch screening (资金预警筛查): screen the store's transactions in [since, until); print a JSON summary."""
    from pingan.antifraud.screening.scorer import Scorer, screen_with_scorer
    from pingan.antifraud.screening.store import screen_store

    ruleset = _rules(rules)
    model: Scorer | None = None
    if scorer is not None:
        if engine != "batch":
            typer.echo("refused: scorer: the scorer runs beside the batch engine only", err=True)
            raise typer.Exit(2)
        try:
            model = Scorer.load(scorer)
        except DomainError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    if engine not in ("batch", "spark"):
        typer.echo(f"refused: engine: {engine!r} is neither batch nor spark", err=True)
        raise typer.Exit(2)
    if engine == "spark":
        _screen_spark(store, ruleset, since, until, watchlist, persist, out, state, spark_master)
        return
    try:
        wl = _watchlist_loader(watchlist, store)()
        run = screen_store(
            store, rules=ruleset, watchlist=wl, since=_time(since), until=_time(until), state_dir=state
        )
        flags = screen_with_scorer(
            store, model, run.flags, watchlist=wl, since=_time(since), until=_time(until)
        )
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    summary: dict[str, object] = {
        "rules_version": ruleset.version,
        "transactions_in_range": run.rows,
        "rows_decoded": run.rows_decoded,
        "rows_skipped_by_layout": run.rows_skipped_by_layout,
        "flags": flags.height,
        "rule_flags": run.flags.height,
        "scorer": str(scorer) if scorer is not None else None,
        "seconds": round(run.seconds, 3),
        "rows_decoded_per_s": round(run.rows_decoded / run.seconds) if run.seconds else None,
    }
    if out is not None:
        flags.write_parquet(out)
    if persist and flags.height:
        result = record_flags(flags, StoreIdentities(store), engine="batch", rules_version=ruleset.version)
        summary |= {
            "risk_events": len(result.events),
            "plans": len(result.plans_created),
            "already_recorded": result.duplicates,
        }
    typer.echo(json.dumps(summary))


def _screen_spark(
    store: Path,
    ruleset: RuleSet,
    since: str | None,
    until: str | None,
    watchlist: str,
    persist: bool,
    out: Path | None,
    state: Path | None,
    master: str | None,
) -> None:
    from pingan.antifraud.screening import spark_job

    if state is not None:
        typer.echo("refused: state: the Spark engine screens the store from its first transaction", err=True)
        raise typer.Exit(2)
    try:
        spark = spark_job.session(master)
        run = spark_job.screen_store(
            spark,
            store,
            rules=ruleset,
            watchlist=_watchlist_loader(watchlist, store)(),
            since=_time(since),
            until=_time(until),
        )
    except DomainError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    summary: dict[str, object] = {
        "engine": "spark",
        "rules_version": ruleset.version,
        "transactions_in_range": run.rows,
        "flags": run.flags.height,
        "seconds": round(run.seconds, 3),
    }
    if out is not None:
        run.flags.write_parquet(out)
    if persist and run.flags.height:
        # `engine` on a risk event says whether detection followed the transfer live: Spark is a batch.
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
    iso: Annotated[
        bool, typer.Option(help="each transaction a pacs.008 JSON message of its own, flushed per chunk")
    ] = False,
    partitions: Annotated[
        int,
        typer.Option(
            min=0,
            help="P > 0: subjects PREFIX.<partition>.<bank>, by the payer account's hash; each transfer "
            "also goes, as a copy, to its payee's partition",
        ),
    ] = 0,
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
            iso=iso,
            partitions=partitions,
        )
    )
    typer.echo(
        json.dumps(
            {
                "published": stats.messages,
                "copies_to_payee_partitions": stats.copies,
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
    fetch_batch: Annotated[int, typer.Option(min=1, help="messages asked for in one pull request")] = 5000,
    pause_s: Annotated[
        float, typer.Option(min=0.0, help="sleep after each micro-batch (a deliberately slow consumer)")
    ] = 0.0,
    of: Annotated[
        int, typer.Option(min=0, help="partitions published (`stream publish --partitions P`); 0: none")
    ] = 0,
    partition_map: Annotated[
        str | None,
        typer.Option(
            "--map", help="with --of: every consumer's partitions, e.g. '0-3;4-7' (checked at start)"
        ),
    ] = None,
    member: Annotated[int, typer.Option(min=0, help="with --map: which of the map's consumers this is")] = 0,
) -> None:
    """Screen the stream with a durable consumer until interrupted (or idle); print a JSON summary.

    With `--of P --map '0-3;4-7' --member 0`, screen the partitions the map gives this consumer, each
    with its own durable consumer and state under STATE_DIR/p<k>."""
    owned: list[int] | None = None
    if of:
        if partition_map is None:
            raise typer.BadParameter("--of needs --map, every consumer's partitions", param_hint="--map")
        try:
            owners = [st.parse_partitions(part) for part in partition_map.split(";")]
            st.check_partition_map(owners, of)
        except st.PartitionMapError as exc:
            raise typer.BadParameter(str(exc), param_hint="--map") from None
        if member >= len(owners):
            raise typer.BadParameter(f"the map has {len(owners)} consumers", param_hint="--member")
        owned = owners[member]
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
        fetch_batch=fetch_batch,
        pause_s=pause_s,
    )
    if owned is not None:
        runs = asyncio.run(
            st.consume_partitions(
                cfg,
                owned,
                of,
                rules=ruleset,
                watchlist=_watchlist_loader(watchlist, store),
                reference=read_reference(store),
                initial_state=initial,
                sink=sink,
            )
        )
        typer.echo(json.dumps({str(k): v.summary() for k, v in runs.items()}))
        return
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
