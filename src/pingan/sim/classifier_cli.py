"""`pingan command train-classifier`: train the text classifier on generated texts and recorded overrides.

It lives with the simulator because it trains on the simulator's texts; `pingan/cli.py` mounts
`train_classifier` under `pingan command`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.command import classify
from pingan.sim.classifier import evaluate, train_models

app = typer.Typer(help="Command (情指行): the text classifier.", no_args_is_help=True)
_console = Console()


@app.command("train-classifier")
def train_classifier(
    seed: Annotated[int, typer.Option(help="the generator's seed for the training texts")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="the model file to write (default DATA_DIR/classifier.npz)")
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option(help="overrides recorded by dispatchers (default DATA_DIR/classifier_overrides.jsonl)"),
    ] = None,
    per_label: Annotated[int, typer.Option(min=10, max=5000, help="generated texts per label")] = 150,
    evaluate_on: Annotated[
        int | None, typer.Option(help="also print figures on this seed's held-out phrasings")
    ] = None,
) -> None:
    """Train the incident and report models and write them to one file the API loads at start."""
    models, used = train_models(seed, per_label=per_label, overrides=overrides)
    path = out or classify.model_path()
    classify.save(models, path)
    for kind, m in models.items():
        _console.print(f"{kind}: {len(m.labels)} labels, {len(m.vocabulary)} n-grams, {used[kind]} overrides")
    _console.print(f"model written to {path}")
    if evaluate_on is not None:
        _console.print_json(json.dumps(evaluate(seed, evaluate_on, per_label=per_label)))
