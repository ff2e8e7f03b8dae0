"""Warning quality against the synthetic district's ground truth (used by bench/warning_quality.py).

Definitions, stated once:
- a *risk event* is a person's first flag in a 24-hour span (the plan rule: one plan per person per day);
- an event is *true* when its triggering transfer is one of a victim's fraudulent payments, whenever
  that victim began paying (a victim already paying when screening began is still a real victim);
- recall-side figures count only victims whose first payment came after screening began: the
  earlier ones could not be flagged before their second payment;
- a victim is *flagged before the second payment* when a flag on their payments came at or before the
  first payment and strictly before the second one (a one-payment victim: that payment was flagged);
- *loss after the first flag* is the victim's fraudulent payments made strictly after the first flag.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pingan.antifraud.screening.engine import TS
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA

DAY_US = 86_400_000_000


def watchlist_from_reports(directory: Path, *, holder_links: bool = True) -> pl.DataFrame:
    """The watchlist the reports of a district build over time: each reported payee, listed when reported.

    With `holder_links`, the holder's other accounts are listed too ("一卡涉警、全卡止付" extends to warnings).
    """
    rows: list[dict[str, Any]] = []
    for line in (directory / "reports.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rep = json.loads(line)
        at = datetime.fromisoformat(rep["reported_at"])
        for t in rep["transfers"]:
            rows.append({"card_number": t["payee_account"], "listed_from": at, "typology": rep["typology"]})
    accounts = pl.read_parquet(
        directory / "accounts.parquet", columns=["account_id", "holder_person_id", "card_number"]
    )
    if not rows:
        return pl.DataFrame(schema=WATCHLIST_SCHEMA)
    reported = (
        pl.DataFrame(rows)
        .with_columns(pl.col("listed_from").dt.convert_time_zone("UTC").cast(TS))
        .join(accounts, on="card_number")
    )
    listed = reported.select(
        "account_id", "listed_from", "typology", source=pl.lit("reported_payee"), confidence=pl.lit(1.0)
    )
    if holder_links:
        linked = (
            reported.select("holder_person_id", "listed_from", "typology")
            .join(accounts, on="holder_person_id")
            .select(
                "account_id", "listed_from", "typology", source=pl.lit("holder_link"), confidence=pl.lit(0.8)
            )
        )
        listed = pl.concat([listed, linked])
    return (
        listed.sort("listed_from")
        .group_by("account_id", maintain_order=True)
        .first()
        .with_columns(expires_at=pl.lit(None, dtype=TS))
        .select(list(WATCHLIST_SCHEMA))
        .cast(WATCHLIST_SCHEMA)  # type: ignore[arg-type]
    )


def risk_events(flags: pl.DataFrame) -> pl.DataFrame:
    """Flags folded into risk events: a person's first flag opens a 24-hour span that later flags join."""
    f = flags.sort(["person_id", "ts", "tx_id"]).with_columns(_us=pl.col("ts").dt.epoch("us"))
    keep: list[bool] = []
    last_person, span_end = None, 0
    for person, us in zip(f["person_id"].to_list(), f["_us"].to_list(), strict=True):
        if person != last_person or us >= span_end:
            keep.append(True)
            last_person, span_end = person, us + DAY_US
        else:
            keep.append(False)
    return f.filter(pl.Series(keep, dtype=pl.Boolean)).drop("_us")


def evaluate(directory: Path, flags: pl.DataFrame, since: datetime | None = None) -> dict[str, Any]:
    """Quality figures of `flags` against the district's truth, overall and per typology.

    With `since`, only victims whose first payment came at or after it count (screening began then).
    """
    victims = pl.read_parquet(
        directory / "truth" / "victims.parquet", columns=["victim_id", "person_id", "typology"]
    )
    flows = pl.read_parquet(directory / "truth" / "fraud_flows.parquet")
    payments = (
        flows.filter(pl.col("hop") == 0)
        .select("tx_id", "victim_id", "ts", "amount_fen")
        .join(victims, on="victim_id")
        .sort(["victim_id", "ts", "tx_id"])
        .with_columns(k=pl.int_range(pl.len()).over("victim_id"))
    )
    every_payment = payments["tx_id"]
    if since is not None:
        started = payments.group_by("victim_id").agg(pl.col("ts").min()).filter(pl.col("ts") >= since)
        payments = payments.join(started.select("victim_id"), on="victim_id", how="semi")
    events = risk_events(flags).with_columns(
        true=pl.col("tx_id").is_in(every_payment.implode()),
        true_new_victim=pl.col("tx_id").is_in(payments["tx_id"].implode()),
    )
    flagged_pay = payments.join(flags.select("tx_id"), on="tx_id", how="semi")
    first_flag = flagged_pay.group_by("victim_id").agg(first_flag=pl.col("ts").min())
    second = payments.filter(pl.col("k") == 1).select("victim_id", second_ts="ts")
    per_victim = (
        payments.group_by("victim_id", "typology")
        .agg(loss=pl.col("amount_fen").sum(), first_ts=pl.col("ts").min())
        .join(first_flag, on="victim_id", how="left")
        .join(second, on="victim_id", how="left")
        .with_columns(
            before_second=pl.col("first_flag").is_not_null()
            & (pl.col("second_ts").is_null() | (pl.col("first_flag") < pl.col("second_ts")))
        )
    )
    after = (
        payments.join(first_flag, on="victim_id")
        .filter(pl.col("ts") > pl.col("first_flag"))
        .group_by("victim_id")
        .agg(after=pl.col("amount_fen").sum())
    )
    per_victim = per_victim.join(after, on="victim_id", how="left").with_columns(pl.col("after").fill_null(0))
    typ_of_person = victims.select("person_id", "typology").unique("person_id")
    events_t = events.join(typ_of_person, on="person_id", how="left")

    def figures(v: pl.DataFrame, e: pl.DataFrame | None) -> dict[str, Any]:
        loss = int(v["loss"].sum())
        out: dict[str, Any] = {
            "victims": v.height,
            "flagged_before_second_payment": _share(v["before_second"]),
            "flagged_at_all": _share(v["first_flag"].is_not_null()),
            "loss_fen": loss,
            "loss_after_first_flag_share": round(int(v["after"].sum()) / loss, 4) if loss else 0.0,
        }
        if e is not None:
            out["risk_events"] = e.height
            out["precision"] = _share(e["true"])
            # The stricter reading: events on victims already paying before screening began count as
            # false. Printed beside `precision` so neither reading is hidden.
            out["precision_new_victims_only"] = _share(e["true_new_victim"])
        return out

    result = figures(per_victim, events)
    result["flags"] = flags.height
    # Per typology, precision counts only events of that typology's victims, so it is recall-side only.
    result["per_typology"] = {
        str(t): figures(per_victim.filter(pl.col("typology") == t), None)
        | {"true_events": int(events_t.filter((pl.col("typology") == t) & pl.col("true")).height)}
        for t in sorted(per_victim["typology"].unique().to_list())
    }
    result["per_rule"] = rule_precision(events)
    return result


def _share(flags: pl.Series) -> float:
    """Share of true values, rounded; 0 for an empty series."""
    return round(int(flags.sum()) / flags.len(), 4) if flags.len() else 0.0


def rule_precision(events: pl.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per rule id: how many risk events it raised and the share of them that were true.

    An event counts once per rule, however many of its reasons name the rule (the scorer's reasons
    are `M-SCORE:<score>` and `M-SCORE:<feature>=<value>:+<contribution>`)."""
    ex = (
        events.with_row_index("_event")
        .select("_event", "true", rule=pl.col("reasons"))
        .explode("rule")
        .with_columns(pl.col("rule").str.split(":").list.first())
        .unique(["_event", "rule"])
    )
    agg = ex.group_by("rule").agg(events=pl.len(), precision=pl.col("true").mean()).sort("rule")
    return {
        str(r["rule"]): {"events": int(r["events"]), "precision": round(float(r["precision"]), 4)}
        for r in agg.iter_rows(named=True)
    }


def since_of(directory: Path, warmup_days: int) -> datetime:
    """The start of screening after `warmup_days` of history, at the first partition's UTC midnight."""
    first = min(p.name for p in (directory / "transactions").glob("day=*"))[4:]
    return datetime.fromisoformat(first + "T00:00:00+00:00") + timedelta(days=warmup_days)
