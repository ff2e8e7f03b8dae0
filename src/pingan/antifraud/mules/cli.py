"""`pingan mules`: train and evaluate the mule classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

app = typer.Typer(help="Mule-account detection (涉诈账户识别).", no_args_is_help=True)


@app.command("amlsim")
def mules_amlsim(
    train_dirs: Annotated[list[Path], typer.Option("--train", help="AMLSim sample directories to train on")],
    test: Annotated[Path, typer.Option(help="AMLSim sample directory to test on")],
    k: Annotated[int, typer.Option(help="k of precision at the top k")] = 100,
    rounds: Annotated[int, typer.Option(help="neighbour-score propagation rounds")] = 2,
    top: Annotated[int, typer.Option(help="candidates with reasons printed to stderr")] = 0,
) -> None:
    """Train on the --train samples, test on --test; print one JSON line of test metrics."""
    from pingan.antifraud.mules.amlsim import read_amlsim
    from pingan.antifraud.mules.model import evaluate, graph, score, train

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
