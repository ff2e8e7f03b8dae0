"""`pingan mules`: train and evaluate the mule classifier."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

if TYPE_CHECKING:
    from pingan.antifraud.mules.district import Candidate
    from pingan.antifraud.mules.spark_graph import SparkEngine

app = typer.Typer(help="Mule-account detection (涉诈账户识别).", no_args_is_help=True)
EngineOpt = Annotated[
    str,
    typer.Option(
        help="where the features are computed: polars (in this process) or spark (every feature on Spark;"
        " LightGBM here, on one row per account)"
    ),
]
MasterOpt = Annotated[
    str | None, typer.Option(help="with --engine spark: the Spark master (default: local[*])")
]
FlagsOpt = Annotated[
    Path | None,
    typer.Option(help="screening flags (`pingan screen --out`): their payers count as flagged payers"),
]


@app.command("amlsim")
def mules_amlsim(
    train_dirs: Annotated[list[Path], typer.Option("--train", help="AMLSim sample directories to train on")],
    test: Annotated[Path, typer.Option(help="AMLSim sample directory to test on")],
    k: Annotated[int, typer.Option(help="k of precision at the top k")] = 100,
    rounds: Annotated[int, typer.Option(help="neighbour-score propagation rounds")] = 2,
    top: Annotated[int, typer.Option(help="candidates with reasons printed to stderr")] = 0,
    more_train: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[DIR ...]", help="more samples to train on: `--train A B C` trains on all three"
        ),
    ] = None,
) -> None:
    """Train on the --train samples, test on --test; print one JSON line of test metrics.

    `--train A B --test C` and `--train A --train B --test C` are the same run.
    """
    from pingan.antifraud.mules.amlsim import read_amlsim
    from pingan.antifraud.mules.model import evaluate, graph, score, train

    train_dirs = [*train_dirs, *(more_train or [])]
    graphs = []
    for d in train_dirs:
        s = read_amlsim(d)
        graphs.append(graph(s.transfers, labels=s.labels))
    model = train(graphs, propagation_rounds=rounds)
    t = read_amlsim(test)
    g = graph(t.transfers, labels=t.labels)
    scored = score(model, g)
    assert g.labels is not None
    line = {
        "train": [d.name for d in train_dirs],
        "test": test.name,
        **evaluate(g.labels, scored.scores, model.threshold, k),
    }
    typer.echo(json.dumps(line))
    for row in np.argsort(-scored.scores)[:top]:
        typer.echo(
            json.dumps(
                {
                    "account": int(scored.accounts[row]),
                    "score": round(float(scored.scores[row]), 4),
                    "reasons": list(scored.reasons(int(row))),
                }
            ),
            err=True,
        )


@app.command("train")
def mules_train(
    store: Annotated[Path, typer.Option(help="transaction store with ground truth (docs/sim.md layout)")],
    out: Annotated[Path, typer.Option(help="directory the model is written to")] = Path("var/mules-model"),
    until: Annotated[
        str | None, typer.Option(help="train on days before this (default: 2/3 of the store)")
    ] = None,
    rounds: Annotated[int, typer.Option(help="neighbour-score propagation rounds")] = 1,
    flags: FlagsOpt = None,
    engine: EngineOpt = "polars",
    spark_master: MasterOpt = None,
) -> None:
    """Train on the store's days before the split day; print one JSON line (rows, mules, threshold).

    The store's account opening dates and its reports (those filed before the split day), with the
    payers of `--flags`, give the account age at the first large credit and the credits from flagged
    payers or reported victims."""

    from pingan.antifraud.mules.district import (
        account_openings,
        day_start,
        inflow_sources,
        labelled_graph,
        read_transfers,
        save_model,
        split_day,
        truth_labels,
    )
    from pingan.antifraud.mules.model import train

    _check_engine(engine)
    end = date.fromisoformat(until) if until else split_day(store)
    opened, flagged = account_openings(store), inflow_sources(store, until=day_start(end), flags=flags)
    source = (
        _spark_engine(store, None, end, spark_master) if engine == "spark" else read_transfers(store, end=end)
    )
    g = labelled_graph(source, truth_labels(store), opened=opened, flagged=flagged)
    assert g.labels is not None
    model = train([g], propagation_rounds=rounds)
    save_model(model, out, trained_on={"store": str(store), "until": end.isoformat()})
    line = {"model": str(out), "until": end.isoformat(), "accounts": g.features.height, "engine": engine}
    typer.echo(json.dumps({**line, "mules": int(g.labels.sum()), "threshold": round(model.threshold, 4)}))


@app.command("score")
def mules_score(
    store: Annotated[Path, typer.Option(help="transaction store (docs/sim.md layout)")],
    model_dir: Annotated[Path, typer.Option("--model", help="directory `pingan mules train` wrote")] = Path(
        "var/mules-model"
    ),
    since: Annotated[
        str | None, typer.Option(help="score the days from this one (default: the split day)")
    ] = None,
    limit: Annotated[int, typer.Option(help="most candidates printed (and queued)")] = 200,
    queue: Annotated[
        bool, typer.Option(help="put the candidates on the review queue (/mules/review) for an analyst")
    ] = True,
    flags: FlagsOpt = None,
    engine: EngineOpt = "polars",
    spark_master: MasterOpt = None,
) -> None:
    """Score the accounts active since the split day; print one JSON line per candidate, best first.

    The candidates also go to the human-review queue, where only an analyst's confirmation lists an
    account on the watchlist as `suspected` (a score never does, and never issues an order).
    """

    from pingan.antifraud.mules.district import (
        account_openings,
        candidates,
        inflow_sources,
        load_model,
        read_transfers,
        split_day,
    )
    from pingan.antifraud.mules.model import graph, score

    _check_engine(engine)
    model = load_model(model_dir)
    start = date.fromisoformat(since) if since else split_day(store)
    opened, flagged = account_openings(store), inflow_sources(store, flags=flags)
    source = (
        _spark_engine(store, start, None, spark_master)
        if engine == "spark"
        else read_transfers(store, start=start)
    )
    g = graph(source, opened=opened, flagged=flagged)
    scored = score(model, g)
    found = candidates(scored, model.threshold, limit=limit)
    for c in found:
        typer.echo(json.dumps({"account": c.account, "score": round(c.score, 4), "reasons": list(c.reasons)}))
    if queue and found:
        queued = _queue(store, found, model_ref=f"{model_dir.name}:{start.isoformat()}")
        typer.echo(f"{queued} candidates on the review queue", err=True)


def _check_engine(engine: str) -> None:
    if engine not in ("polars", "spark"):
        typer.echo(f"refused: engine: {engine!r} is neither polars nor spark", err=True)
        raise typer.Exit(2)


def _spark_engine(store: Path, start: date | None, end: date | None, master: str | None) -> SparkEngine:
    """The store's transfers of the days in [start, end) on Spark, where the features are then computed;
    a refusal (no Java, no PySpark, an old store) is printed with its field and exits 2."""
    from pingan.antifraud.mules.spark_graph import store_engine
    from pingan.core.errors import Invalid

    try:
        return store_engine(str(store), start=start, end=end, master=master)
    except Invalid as exc:
        typer.echo(f"refused: {exc.field}: {exc}", err=True)
        raise typer.Exit(2) from None


def _queue(store: Path, found: list[Candidate], *, model_ref: str) -> int:
    """Queue the candidates for review, each under its card's pseudonym (the store names accounts by card)."""
    from pingan.antifraud.mules.review.actions import do_queue_candidate
    from pingan.antifraud.tracing.store import account_cards
    from pingan.core import db
    from pingan.core.pii import PiiKind, protect
    from pingan.core.roles import Actor

    cards = account_cards(store, [c.account for c in found])
    actor = Actor.system("mules")
    with db.transaction() as session:
        for c in found:
            if c.account not in cards:
                continue  # an account the store's accounts.parquet does not describe: printed only
            bank, number = cards[c.account]
            card = protect(PiiKind.CARD, number, field=f"accounts.{c.account}")
            do_queue_candidate(
                session,
                account_pseudonym=card.pseudonym,
                account_masked=card.masked,
                bank=bank,
                store_account_id=c.account,
                score=c.score,
                reasons=c.reasons,
                model_ref=model_ref,
                actor=actor,
            )
    return sum(1 for c in found if c.account in cards)
