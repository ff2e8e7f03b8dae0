"""Mule detection quality on the public AMLSim samples: train on one pattern, test on the other.

Prints one JSON object: F1 (threshold chosen out of fold on the training sample), PR-AUC and
precision@k, for ours and for the baseline (plain LightGBM on degree and amount features), same run.

    .venv/bin/python bench/mules_quality.py [--data ../shared/data/amlsim]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pingan.antifraud.mules.amlsim import read_amlsim
from pingan.antifraud.mules.model import evaluate, graph, score, train, train_baseline

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "amlsim"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--a", default="20K_cycle200")
    ap.add_argument("--b", default="20K_fanin200")
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args()
    graphs = {}
    for name in (args.a, args.b):
        s = read_amlsim(args.data / name)
        graphs[name] = graph(s.transfers, labels=s.labels)
    runs = {}
    for train_on, test_on in ((args.a, args.b), (args.b, args.a)):
        t = time.perf_counter()
        test = graphs[test_on]
        assert test.labels is not None
        model = train([graphs[train_on]])
        ours = evaluate(test.labels, score(model, test).scores, model.threshold, args.k)
        base = train_baseline([graphs[train_on]])
        baseline = evaluate(test.labels, score(base, test).scores, base.threshold, args.k)
        runs[f"{train_on}->{test_on}"] = {
            "ours": ours,
            "baseline": baseline,
            "seconds": round(time.perf_counter() - t, 1),
        }
    f1 = [r["ours"]["f1"] for r in runs.values()]
    bf1 = [r["baseline"]["f1"] for r in runs.values()]
    print(
        json.dumps(
            {
                "figure": "mule_f1_cross_pattern_mean",
                "value": round(sum(f1) / len(f1), 4),
                "baseline": "lightgbm_degree_amount",
                "baseline_value": round(sum(bf1) / len(bf1), 4),
                "ratio": round(sum(f1) / sum(bf1), 3),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
