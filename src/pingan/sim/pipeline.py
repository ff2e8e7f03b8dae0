"""A generation run: world, fraud plan, then the days (in worker processes), truth, reports, manifest.

Each day is one chunk with its own sub-seed (seed, day), so the files do not depend on how many
processes run or in which order the days finish.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pingan.sim import params as cfg
from pingan.sim.accounts import (
    ACCOUNT_TYPES,
    ROLE_NAMES,
    Role,
    accounts_table,
    merchants_table,
    opening_balances,
)
from pingan.sim.balances import DayMoves, Ledger, day_moves
from pingan.sim.fraud import CASHOUT_METHODS, FraudPlan, plan_fraud
from pingan.sim.geography import stations_geojson
from pingan.sim.normal import KINDS, US_PER_DAY, Rows, local_day_start_us, normal_day_parts, plan_loans
from pingan.sim.people import persons_table
from pingan.sim.reports import build_reports, report_victim_index, reports_csv, reports_jsonl
from pingan.sim.world import (
    STREAM_BALANCES,
    STREAM_DAY,
    STREAM_FRAUD,
    STREAM_LOANS,
    STREAM_TABLES,
    World,
    build_world,
    epoch_day,
    stream,
)
from pingan.sim.writer import TS_TYPE, label_table, tx_table, write_parquet, write_text, write_transactions

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class DayResult:
    """What a worker reports back for one day."""

    day: int
    rows: int
    fraud_tx_ids: np.ndarray  # tx ids of the day's fraud rows, in plan order
    kind_counts: dict[str, int]
    moves: DayMoves  # what the day did to each account it touched (for the opening balances)


@dataclass
class RunStats:
    """Counts and timings of a run (timings are not written to the manifest: they would break byte equality)."""

    rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# Set in the parent before the pool forks; workers read them copy-on-write.
_WORLD: World | None = None
_PLAN: FraudPlan | None = None
_DAY_BOUNDS: np.ndarray | None = None
# Ordinary rows planned for the whole run (victims' top-ups, consumer loans), in time order.
_PLANNED: Rows | None = None
_PLANNED_BOUNDS: np.ndarray | None = None
_OUT: Path | None = None
_CSV = False


def day_name(world: World, day: int) -> str:
    """Partition directory name of a simulated day (its Beijing-time calendar date)."""
    return f"day={(world.params.start + timedelta(days=day)).isoformat()}"


def make_day(day: int) -> DayResult:
    """Generate, merge with the day's fraud rows, sort by time, number and write one day."""
    assert _WORLD is not None and _PLAN is not None and _DAY_BOUNDS is not None and _OUT is not None
    assert _PLANNED is not None and _PLANNED_BOUNDS is not None
    world, plan = _WORLD, _PLAN
    parts = normal_day_parts(world, day, stream(world.params.seed, STREAM_DAY, day))
    lo, hi = int(_DAY_BOUNDS[day]), int(_DAY_BOUNDS[day + 1])
    t_lo, t_hi = int(_PLANNED_BOUNDS[day]), int(_PLANNED_BOUNDS[day + 1])
    parts.append(_PLANNED.take(np.arange(t_lo, t_hi)))
    n_normal = sum(p.size for p in parts)
    rows = Rows.concat([*parts, plan.rows.take(np.arange(lo, hi))])  # one copy of the day, not two
    # Introsort, not a stable sort: three times faster here, and still the same order on every run.
    order = np.argsort(rows.ts)
    rows = rows.take(order)
    # tx ids grow with time across the whole run: the day in the high bits, the position in the low bits.
    tx_id = (np.int64(day) << np.int64(32)) + np.arange(rows.size, dtype=np.int64)
    position = np.empty(rows.size, dtype=np.int64)
    position[order] = np.arange(rows.size)
    fraud_ids = tx_id[position[n_normal:]]
    table = tx_table(tx_id, rows, world.accounts.bank)
    write_transactions(table, _OUT / "transactions" / day_name(world, day) / "part-0.parquet", csv=_CSV)
    # The labels go to truth/, keyed by tx_id: the transaction files hold only what a bank hands over.
    write_parquet(label_table(tx_id, rows), _OUT / "truth" / "tx_labels" / day_name(world, day) / "part-0.parquet",
                  csv=_CSV)  # fmt: skip
    kinds = np.bincount(rows.kind, minlength=len(KINDS))
    return DayResult(
        day,
        rows.size,
        fraud_ids,
        {k: int(c) for k, c in zip(KINDS, kinds, strict=True)},
        day_moves(rows.payer, rows.payee, rows.amount),
    )


def generate(
    scale: str,
    seed: int,
    out: Path,
    *,
    days: int | None = None,
    fmt: str = "parquet",
    workers: int = 1,
    on_day: Callable[[int, int], None] | None = None,
    day_subset: range | None = None,
) -> RunStats:
    """Write a synthetic district to `out` (emptied first). `on_day(done, total)` reports progress."""
    global _WORLD, _PLAN, _DAY_BOUNDS, _PLANNED, _PLANNED_BOUNDS, _OUT, _CSV
    if scale not in cfg.SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(cfg.SCALES)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    sc = cfg.SCALES[scale]
    params = cfg.Params(scale=sc, seed=seed, days=days if days is not None else sc.days)
    stats = RunStats()
    t = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    world = build_world(params)
    plan = plan_fraud(world, stream(seed, STREAM_FRAUD))
    planned = Rows.concat([plan.topups, plan_loans(world, stream(seed, STREAM_LOANS))])
    planned = planned.take(np.argsort(planned.ts, kind="stable"))
    stats.seconds["world_and_plan"] = time.perf_counter() - t

    t = time.perf_counter()
    csv = fmt == "csv"
    tables_rng = stream(seed, STREAM_TABLES)
    persons = persons_table(tables_rng, world.persons, world.stations)
    write_parquet(persons, out / "persons.parquet", csv=csv)
    write_parquet(
        merchants_table(world.merchants, [s.code for s in world.stations]), out / "merchants.parquet", csv=csv
    )
    write_text(out / "stations.geojson", stations_geojson(world.stations))
    stats.seconds["tables"] = time.perf_counter() - t

    t = time.perf_counter()
    t0 = local_day_start_us(world, 0)
    _WORLD, _PLAN, _OUT, _CSV = world, plan, out, csv
    edges = t0 + np.arange(params.days + 1, dtype=np.int64) * US_PER_DAY
    _DAY_BOUNDS = np.searchsorted(plan.rows.ts, edges)
    _PLANNED = planned
    _PLANNED_BOUNDS = np.searchsorted(planned.ts, edges)
    todo = list(day_subset if day_subset is not None else range(params.days))
    results: list[DayResult] = []
    ledger = Ledger(world.accounts.size)
    pending: dict[int, DayResult] = {}
    order = sorted(todo)

    def arrived(r: DayResult) -> None:
        # Days fold into the ledger in time order; a day that finishes early waits for those before it.
        pending[r.day] = r
        while order and order[0] in pending:
            ledger.fold(pending.pop(order.pop(0)).moves)
        results.append(replace(r, moves=DayMoves.none()))
        if on_day:
            on_day(len(results), len(todo))

    if workers <= 1:
        for d in todo:
            arrived(make_day(d))
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap_unordered(make_day, todo):
                arrived(r)
    results.sort(key=lambda r: r.day)
    stats.rows = sum(r.rows for r in results)
    stats.seconds["days"] = time.perf_counter() - t

    t = time.perf_counter()
    opening = opening_balances(stream(seed, STREAM_BALANCES), world.accounts, epoch_day(params), ledger.need)
    write_parquet(accounts_table(world.accounts, world.persons.occupation, opening), out / "accounts.parquet",
                  csv=csv)  # fmt: skip
    stats.seconds["tables"] += time.perf_counter() - t

    t = time.perf_counter()
    reports = build_reports(world, plan, persons)
    write_text(out / "reports.jsonl", reports_jsonl(reports))
    if csv:
        write_text(out / "reports.csv", reports_csv(reports))
    if day_subset is None:
        _write_truth(out, world, plan, results, reports, csv=csv)
    _write_manifest(out, params, world, plan, results, reports, fmt)
    stats.seconds["truth_and_reports"] = time.perf_counter() - t
    _WORLD = _PLAN = None
    return stats


def fraud_tx_ids(plan: FraudPlan, results: list[DayResult], bounds: np.ndarray) -> np.ndarray:
    """tx id of every fraud row of the plan, in plan order."""
    ids = np.full(plan.rows.size, -1, dtype=np.int64)
    for r in results:
        ids[int(bounds[r.day]) : int(bounds[r.day + 1])] = r.fraud_tx_ids
    return ids


def _write_truth(
    out: Path,
    world: World,
    plan: FraudPlan,
    results: list[DayResult],
    reports: list[dict[str, Any]],
    *,
    csv: bool,
) -> None:
    assert _DAY_BOUNDS is not None
    truth = out / "truth"
    acc = world.accounts
    special = np.flatnonzero(acc.role != Role.NORMAL)
    write_parquet(
        pa.table(
            {
                "account_id": pa.array(special),
                "role": pa.array(np.array(ROLE_NAMES)[acc.role[special]]),
                "campaign_id": pa.array(acc.campaign[special]),
            }
        ),
        truth / "account_roles.parquet",
        csv=csv,
    )
    c, v, pay = plan.campaigns, plan.victims, plan.payments
    loss = np.bincount(v.campaign[pay.victim], weights=pay.amount, minlength=c.size).astype(np.int64)
    write_parquet(
        pa.table(
            {
                "campaign_id": pa.array(np.arange(c.size, dtype=np.int64)),
                "typology": pa.array(np.array(cfg.TYPOLOGIES)[c.typology]),
                "tiers": pa.array(c.tiers),
                "victims": pa.array(np.bincount(v.campaign, minlength=c.size).astype(np.int64)),
                "payments": pa.array(np.bincount(v.campaign[pay.victim], minlength=c.size).astype(np.int64)),
                "loss_fen": pa.array(loss),
            }
        ),
        truth / "campaigns.parquet",
        csv=csv,
    )
    ref = np.full(v.person.size, None, dtype=object)
    for r, vi in zip(reports, report_victim_index(plan).tolist(), strict=True):
        ref[vi] = r["external_ref"]
    vloss = np.bincount(pay.victim, weights=pay.amount, minlength=v.person.size).astype(np.int64)
    write_parquet(
        pa.table(
            {
                "victim_id": pa.array(np.arange(v.person.size, dtype=np.int64)),
                "person_id": pa.array(v.person.astype(np.int64)),
                "account_id": pa.array(v.account),
                "campaign_id": pa.array(v.campaign),
                "typology": pa.array(np.array(cfg.TYPOLOGIES)[v.typology]),
                "loss_fen": pa.array(vloss),
                "external_ref": pa.array(ref.tolist(), type=pa.string()),
            }
        ),
        truth / "victims.parquet",
        csv=csv,
    )
    tx_ids = fraud_tx_ids(plan, results, _DAY_BOUNDS)
    flow_ref = ref[pay.victim[plan.flow]]
    rows = plan.rows
    write_parquet(
        pa.table(
            {
                "tx_id": pa.array(tx_ids),
                "flow_id": pa.array(plan.flow.astype(np.int64)),
                "victim_id": pa.array(pay.victim[plan.flow].astype(np.int64)),
                "external_ref": pa.array(flow_ref.tolist(), type=pa.string()),
                "campaign_id": pa.array(rows.campaign),
                "hop": pa.array(plan.hop),
                "kind": pa.array(np.array(KINDS)[rows.kind]),
                "cashout_method": pa.array(
                    np.array([*CASHOUT_METHODS, ""])[plan.method], mask=plan.method < 0
                ),
                "ts": pa.Array.from_buffers(
                    TS_TYPE, rows.size, [None, pa.py_buffer(rows.ts.astype(np.int64))]
                ),
                "payer_account": pa.array(rows.payer),
                "payee_account": pa.array(rows.payee),
                "amount_fen": pa.array(rows.amount),
            }
        ),
        truth / "fraud_flows.parquet",
        csv=csv,
    )


def _write_manifest(
    out: Path,
    params: cfg.Params,
    world: World,
    plan: FraudPlan,
    results: list[DayResult],
    reports: list[dict[str, Any]],
    fmt: str,
) -> None:
    kinds: dict[str, int] = {}
    for r in results:
        for k, n in r.kind_counts.items():
            kinds[k] = kinds.get(k, 0) + n
    doc = {
        "schema_version": cfg.SCHEMA_VERSION,
        "generator": "pingan.sim",
        "scale": params.scale.name,
        "seed": params.seed,
        "start": params.start.isoformat(),
        "days": params.days,
        "days_written": [day_name(world, r.day)[4:] for r in results],
        "format": fmt,
        "timezone_of_day_partitions": "Asia/Shanghai (UTC+8)",
        "counts": {
            "persons": world.persons.size,
            "residents": world.n_residents,
            "accounts": world.accounts.size,
            "merchants": world.merchants.size,
            "transactions": sum(r.rows for r in results),
            "transactions_by_kind": kinds,
            "campaigns": plan.campaigns.size,
            "victims": int(plan.victims.person.size),
            "victim_payments": int(plan.payments.ts.size),
            "reports": len(reports),
            "accounts_by_role": {
                ROLE_NAMES[i]: int(n)
                for i, n in enumerate(np.bincount(world.accounts.role, minlength=len(ROLE_NAMES)))
            },
            "accounts_by_type": {
                ACCOUNT_TYPES[i]: int(n) for i, n in enumerate(np.bincount(world.accounts.kind, minlength=3))
            },
        },
        "parameters": _jsonable(asdict(params)),
    }
    write_text(out / "manifest.json", json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x


def cpu_count() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0))
