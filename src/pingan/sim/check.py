"""`sim check`: the invariants a generated district must hold, each failing with a named violation.

Checks run in a fixed order and stop at the first violation: files, accounts and cards, then day by
day time order, amounts, labels (read from truth/, never from the bank's files) and the balance of
every account from its opening balance; then the fraud trace and the reports. An imported store
(`pingan transactions import`) gets the checks that apply to it: `check_imported`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.core.errors import Invalid
from pingan.sim.balances import day_events
from pingan.sim.geography import read_station_codes
from pingan.sim.reports import BEIJING, validate_report
from pingan.sim.truth import account_roles, tx_labels_path

FRAUD_KINDS = ("fraud", "layering", "cashout")
MULE_ROLES = ("mule_t1", "mule_t2", "mule_t3", "mule_t4")
TRACKED_ROLES = (*MULE_ROLES, "cashout")
REQUIRED = ("manifest.json", "stations.geojson", "persons.parquet", "accounts.parquet", "merchants.parquet",
            "reports.jsonl", "truth/account_roles.parquet", "truth/fraud_flows.parquet")  # fmt: skip
HOLDER_TYPES = ("personal", "business")
# Columns of the generator's labels: they live in truth/, and a bank's files must not carry them.
LABEL_COLUMNS = ("kind", "is_fraud", "campaign_id", "role")


@dataclass(frozen=True)
class Violation(Exception):
    """A broken invariant: which check, and what broke it."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass(frozen=True)
class CheckReport:
    """What a passing check looked at."""

    transactions: int
    fraud_transactions: int
    tracked_accounts: int  # accounts whose balance was replayed from the opening balance
    reports: int


def _fail(check: str, detail: str) -> Violation:
    return Violation(check, detail)


def _luhn_ok(cards: pl.Series) -> np.ndarray:
    """Luhn validity of each card number (16-19 digits), vectorised column by column."""
    lengths = cards.str.len_bytes().to_numpy()
    width = 19
    padded = cards.str.pad_start(width, "0")
    total = np.zeros(cards.len(), dtype=np.int32)
    # Right-aligned: the check digit is in the last column, and every second digit left of it doubles.
    for col in range(width):
        d = padded.str.slice(col, 1).cast(pl.Int32).to_numpy()
        doubled = np.where(d > 4, d * 2 - 9, d * 2)
        total += doubled if (width - 1 - col) % 2 == 1 else d
    return np.asarray((total % 10 == 0) & (lengths >= 16) & (lengths <= 19))


def _check_files(root: Path) -> dict[str, object]:
    for name in REQUIRED:
        if not (root / name).is_file():
            raise _fail("files", f"missing {name}")
    manifest: dict[str, object] = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _check_accounts(root: Path, start: date) -> pl.DataFrame:
    acc = pl.read_parquet(root / "accounts.parquet")
    if not acc["account_id"].equals(pl.Series("account_id", np.arange(acc.height, dtype=np.int64))):
        raise _fail("accounts", "account_id is not 0..n-1 in order")
    leaked = [c for c in LABEL_COLUMNS if c in acc.columns]
    if leaked:
        raise _fail(
            "labels", f"accounts.parquet carries the label column {leaked[0]!r}, which belongs in truth/"
        )
    bad_bank = acc.filter(~pl.col("bank").is_in(list(BANKS_BY_CODE)))
    if bad_bank.height:
        raise _fail(
            "accounts", f"account {bad_bank['account_id'][0]} has unknown bank {bad_bank['bank'][0]!r}"
        )
    ok = _luhn_ok(acc["card_number"])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _fail("accounts", f"account {i} card {acc['card_number'][i]} fails the Luhn check")
    prefix = {b: BANKS_BY_CODE[b].bin_prefix for b in acc["bank"].unique().to_list()}
    wrong = acc.filter(pl.col("card_number").str.slice(0, 6) != pl.col("bank").replace_strict(prefix))
    if wrong.height:
        raise _fail("accounts", f"account {wrong['account_id'][0]} card does not carry its bank's BIN prefix")
    if acc["card_number"].n_unique() != acc.height:
        raise _fail("accounts", "two accounts share a card number")
    bad = acc.filter(~pl.col("holder_type").is_in(HOLDER_TYPES) | pl.col("holder_type").is_null())
    if bad.height:
        raise _fail("accounts", f"account {bad['account_id'][0]} has holder_type {bad['holder_type'][0]!r}")
    bad = acc.filter(pl.col("opening_balance_fen").is_null() | (pl.col("opening_balance_fen") < 0))
    if bad.height:
        raise _fail("accounts", f"account {bad['account_id'][0]} has no or a negative opening balance")
    bad = acc.filter((pl.col("opened") >= start) & (pl.col("opening_balance_fen") != 0))
    if bad.height:
        raise _fail("accounts", f"account {bad['account_id'][0]} opened inside the window with a balance")
    roles = account_roles(root)
    unknown = roles.filter(~pl.col("account_id").is_in(acc["account_id"].implode()))
    if unknown.height:
        raise _fail("labels", f"truth/account_roles.parquet lists account {unknown['account_id'][0]}, "
                              "which accounts.parquet does not hold")  # fmt: skip
    if roles["account_id"].n_unique() != roles.height:
        raise _fail("labels", "truth/account_roles.parquet lists an account twice")
    return (
        acc.select("account_id", "bank", "card_number", "opened", "opening_balance_fen")
        .join(roles.select("account_id", "role", "campaign_id"), on="account_id", how="left")
        .with_columns(pl.col("role").fill_null("normal"), pl.col("campaign_id").fill_null(-1))
    )


def _day_files(root: Path) -> list[tuple[date, Path]]:
    out = []
    for d in sorted((root / "transactions").glob("day=*")):
        parts = sorted(d.glob("part-*.parquet"))
        for p in parts:
            out.append((date.fromisoformat(d.name[4:]), p))
    return out


def _check_transactions(
    root: Path, acc: pl.DataFrame, progress: Callable[[int, int], None] | None, *, labelled: bool = True
) -> tuple[pl.DataFrame, int]:
    """Per-day checks; returns the fraud rows (with their labels from truth/), in time order.

    Every account's balance is replayed from its opening balance, in (ts, tx_id) order, and must never
    go below zero. Without `labelled` (an imported store: no truth, no opening balances), the label and
    balance checks are left out and nothing is returned but the count."""
    bank = acc["bank"].to_numpy()
    n_acc = acc.height
    opened = (
        acc["opened"].cast(pl.Int32).fill_null(np.iinfo(np.int32).min).to_numpy()
        if "opened" in acc.columns
        else np.full(n_acc, np.iinfo(np.int32).min, np.int32)
    )
    balance = acc["opening_balance_fen"].to_numpy().copy() if labelled else np.zeros(0, np.int64)
    prev_id = -1
    keep: list[pl.DataFrame] = []
    files = _day_files(root)
    total = 0
    for i, (day, path) in enumerate(files):
        # Store format 2 groups a day's rows by channel, each group in time order: tx ids rise with
        # time, so in id order the rows must be in time order.
        df = pl.read_parquet(path).sort("tx_id")
        where = f"{path.parent.name}/{path.name}"
        leaked = [c for c in LABEL_COLUMNS if c in df.columns]
        if labelled and leaked:
            raise _fail("labels", f"{where} carries the label column {leaked[0]!r}, which belongs in truth/")
        total += df.height
        ids = df["tx_id"].to_numpy()
        if ids.size and (ids[0] <= prev_id or (np.diff(ids) <= 0).any()):
            raise _fail("time_order", f"{where}: tx_id does not increase")
        ts = df["ts"].dt.epoch("us").to_numpy()
        if (np.diff(ts) < 0).any():
            j = int(np.flatnonzero(np.diff(ts) < 0)[0]) + 1
            raise _fail("time_order", f"{where}: tx {ids[j]} is earlier than the row before it")
        lo = int(datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp()) * 10**6
        hi = lo + int(timedelta(days=1).total_seconds()) * 10**6
        if ts.size and (ts[0] < lo or ts[-1] >= hi):
            raise _fail("time_order", f"{where}: a transaction lies outside its Beijing-time day")
        prev_id = int(ids[-1]) if ids.size else prev_id
        amount = df["amount_fen"].to_numpy()
        if (amount <= 0).any():
            raise _fail(
                "amounts", f"{where}: tx {ids[int(np.flatnonzero(amount <= 0)[0])]} has a non-positive amount"
            )
        payer = df["payer_account"].to_numpy()
        payee = df["payee_account"].to_numpy()
        if (payer < 0).any() or (payer >= n_acc).any() or (payee < -1).any() or (payee >= n_acc).any():
            raise _fail("labels", f"{where}: an account id is not in accounts.parquet")
        cash = payee == -1
        if (df["payer_bank"].to_numpy() != bank[payer]).any():
            raise _fail("accounts", f"{where}: payer_bank differs from the payer account's bank")
        payee_bank = np.where(cash, bank[payer], bank[np.maximum(payee, 0)])
        if (df["payee_bank"].to_numpy() != payee_bank).any():
            raise _fail("accounts", f"{where}: payee_bank differs from the payee account's bank")
        epoch_day = (day - date(1970, 1, 1)).days
        early = (opened[payer] > epoch_day) | (~cash & (opened[np.maximum(payee, 0)] > epoch_day))
        if early.any():
            raise _fail("accounts", f"{where}: tx {ids[int(np.flatnonzero(early)[0])]} moves money of an account "
                                    "before it was opened")  # fmt: skip
        if not labelled:
            if progress:
                progress(i + 1, len(files))
            continue
        if (cash & ~df["channel"].eq("atm").to_numpy()).any():
            raise _fail("labels", f"{where}: a transfer without a payee account is not an ATM withdrawal")
        _replay_balances(balance, payer, payee, amount, ids, where)
        labels = _day_labels(root, path, ids, where)
        kind = labels["kind"].to_numpy()
        is_fraud = labels["is_fraud"].to_numpy()
        camp = labels["campaign_id"].to_numpy()
        fraud_kind = np.isin(kind, FRAUD_KINDS)
        bad = (is_fraud != (camp >= 0)) | (is_fraud != fraud_kind)
        if bad.any():
            raise _fail("labels", f"{where}: tx {ids[int(np.flatnonzero(bad)[0])]} has inconsistent is_fraud, "
                                  "campaign_id and kind")  # fmt: skip
        keep.append(pl.concat([df, labels.drop("tx_id")], how="horizontal").filter(pl.Series(is_fraud)))
        if progress:
            progress(i + 1, len(files))
    return pl.concat(keep) if keep else pl.DataFrame(), total


def _day_labels(root: Path, day_file: Path, ids: np.ndarray, where: str) -> pl.DataFrame:
    """The truth/ labels of a day file's rows, in the order of `ids` (the day's tx ids, sorted)."""
    path = tx_labels_path(root, day_file.parent.name)
    if not path.is_file():
        raise _fail("files", f"missing {path.relative_to(root).as_posix()}")
    labels = pl.read_parquet(path).sort("tx_id")
    if labels.height != ids.size or (labels["tx_id"].to_numpy() != ids).any():
        raise _fail("labels", f"{where}: truth/tx_labels does not label exactly the day's transactions")
    return labels


def _replay_balances(
    balance: np.ndarray, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, ids: np.ndarray, where: str
) -> None:
    """Move the day's rows (time order) through `balance` (updated in place); none may go below zero."""
    ev = day_events(payer, payee, amount)
    if ev.account.size == 0:
        return
    counts = np.diff(np.r_[ev.starts, ev.account.size])
    level = balance[ev.account] + ev.running
    below = level < 0
    if below.any():
        j = np.flatnonzero(below)
        first = j[np.argmin(ev.row[j])]
        raise _fail("negative_balance", f"{where}: account {ev.account[first]} goes to {level[first]} fen "
                                        f"at tx {ids[ev.row[first]]}")  # fmt: skip
    ends = ev.starts + counts - 1
    balance[ev.account[ev.starts]] += ev.running[ends]


def _check_fraud_trace(rows: pl.DataFrame, acc: pl.DataFrame, root: Path) -> int:
    """Every fraud transfer carries money that a victim of the same campaign paid in earlier."""
    fraud = rows.filter(pl.col("is_fraud"))
    info = acc.select("account_id", "role", "campaign_id")
    f = fraud.join(info.rename({"account_id": "payer_account", "role": "payer_role", "campaign_id": "payer_camp"}),
                   on="payer_account", how="left").join(
        info.rename({"account_id": "payee_account", "role": "payee_role", "campaign_id": "payee_camp"}),
        on="payee_account", how="left")  # fmt: skip
    payment = pl.col("kind") == "fraud"
    bad = f.filter(payment & ((pl.col("payer_role") != "victim") | (pl.col("payee_role") != "mule_t1")))
    if bad.height:
        raise _fail(
            "fraud_trace", f"victim payment tx {bad['tx_id'][0]} is not from a victim to a tier-1 mule"
        )
    tier = pl.col("payer_role").str.slice(6).cast(pl.Int32, strict=False)
    payee_tier = pl.col("payee_role").str.slice(6).cast(pl.Int32, strict=False)
    bad = f.filter(~payment & ~pl.col("payer_role").is_in(MULE_ROLES))
    if bad.height:
        raise _fail("fraud_trace", f"fraud tx {bad['tx_id'][0]} is paid by a {bad['payer_role'][0]} account, "
                                   "not by a victim or a mule")  # fmt: skip
    bad = f.filter((pl.col("kind") == "layering") & (payee_tier != tier + 1))
    if bad.height:
        raise _fail("fraud_trace", f"layering tx {bad['tx_id'][0]} does not move money one tier down")
    bad = f.filter(
        (pl.col("kind") == "cashout") & (pl.col("payee_account") >= 0) & (pl.col("payee_role") != "cashout")
    )
    if bad.height:
        raise _fail("fraud_trace", f"cash-out tx {bad['tx_id'][0]} does not reach a cash-out account")
    mule_camp = pl.when(payment).then(pl.col("payee_camp")).otherwise(pl.col("payer_camp"))
    bad = f.filter(mule_camp != pl.col("campaign_id"))
    if bad.height:
        raise _fail(
            "labels", f"fraud tx {bad['tx_id'][0]} is labelled with another campaign than its mule card's"
        )
    # Per (card, campaign): the money a card passes on never exceeds what reached it before.
    events = pl.concat(
        [
            f.select("tx_id", pl.col("payer_account").alias("account_id"), "campaign_id", (-pl.col("amount_fen")).alias("d"),
                     (pl.col("kind") != "fraud").alias("tracked")),
            f.select("tx_id", pl.col("payee_account").alias("account_id"), "campaign_id", pl.col("amount_fen").alias("d"),
                     pl.lit(True).alias("tracked")),
        ]
    ).filter(pl.col("tracked") & (pl.col("account_id") >= 0))  # fmt: skip
    bal = events.sort("account_id", "campaign_id", "tx_id", maintain_order=True).with_columns(
        pl.col("d").cum_sum().over("account_id", "campaign_id").alias("balance")
    )
    neg = bal.filter(pl.col("balance") < 0).sort("tx_id")
    if neg.height:
        r = neg.row(0, named=True)
        raise _fail("fraud_trace", f"tx {r['tx_id']} passes on {-r['balance']} fen more than victims of campaign "
                                   f"{r['campaign_id']} had paid into account {r['account_id']}")  # fmt: skip
    flows = pl.read_parquet(root / "truth/fraud_flows.parquet", columns=["tx_id"])
    if flows.height != fraud.height or not flows["tx_id"].sort().equals(fraud["tx_id"].sort()):
        raise _fail("labels", "truth/fraud_flows.parquet does not list exactly the fraud transactions")
    return fraud.height


def _check_reports(root: Path, acc: pl.DataFrame) -> int:
    codes = read_station_codes((root / "stations.geojson").read_text(encoding="utf-8"))
    cards = acc.select("card_number", "role").filter(pl.col("role").is_in(["victim", "mule_t1"]))
    role_of = dict(zip(cards["card_number"].to_list(), cards["role"].to_list(), strict=True))
    seen: set[str] = set()
    n = 0
    with (root / "reports.jsonl").open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail("reports", f"line {line_no}: not JSON ({exc.msg})") from exc
            try:
                validate_report(obj, codes)
            except Invalid as exc:
                raise _fail("reports", f"line {line_no}, field {exc.field}: {exc.message}") from exc
            if obj["external_ref"] in seen:
                raise _fail("reports", f"line {line_no}: external_ref {obj['external_ref']} repeats")
            seen.add(obj["external_ref"])
            for j, t in enumerate(obj["transfers"]):
                if role_of.get(t["payee_account"]) != "mule_t1":
                    raise _fail("reports", f"line {line_no}, transfers[{j}]: payee is not a tier-1 mule card")
                if role_of.get(t["payer_card"]) != "victim":
                    raise _fail("reports", f"line {line_no}, transfers[{j}]: payer card is not a victim's")
            n += 1
    return n


IMPORTED_REQUIRED = ("manifest.json", "accounts.parquet", "persons.parquet", "merchants.parquet")


def _check_imported_accounts(root: Path) -> pl.DataFrame:
    """An imported store's accounts: ids 0..n-1, known banks, one account per bank and number."""
    acc = pl.read_parquet(root / "accounts.parquet")
    if not acc["account_id"].equals(pl.Series("account_id", np.arange(acc.height, dtype=np.int64))):
        raise _fail("accounts", "account_id is not 0..n-1 in order")
    bad_bank = acc.filter(~pl.col("bank").is_in(list(BANKS_BY_CODE)))
    if bad_bank.height:
        raise _fail(
            "accounts", f"account {bad_bank['account_id'][0]} has unknown bank {bad_bank['bank'][0]!r}"
        )
    empty = acc.filter(pl.col("card_number").fill_null("").str.strip_chars() == "")
    if empty.height:
        raise _fail("accounts", f"account {empty['account_id'][0]} has no account number")
    if acc.select("bank", "card_number").n_unique() != acc.height:
        raise _fail("accounts", "two accounts share a bank and an account number")
    return acc.select("account_id", "bank", "opened")


def check_imported(root: Path, progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Verify an imported store (`pingan transactions import`): its files, accounts and transactions.

    It holds what a bank hands over and nothing the generator plants: no truth, no reports, no
    opening balances, so the label, balance and fraud-trace checks of a district do not apply.
    """
    for name in IMPORTED_REQUIRED:
        if not (root / name).is_file():
            raise _fail("files", f"missing {name}")
    acc = _check_imported_accounts(root)
    _, total = _check_transactions(root, acc, progress, labelled=False)
    return CheckReport(transactions=total, fraud_transactions=0, tracked_accounts=0, reports=0)


def check_district(root: Path, progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Verify every invariant of a generated district (or of an imported store, `check_imported`);
    raises Violation at the first one broken."""
    manifest = root / "manifest.json"
    if manifest.is_file():
        from pingan.sim.extract_import import GENERATOR

        if json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR:
            return check_imported(root, progress)
    doc = _check_files(root)
    acc = _check_accounts(root, date.fromisoformat(str(doc["start"])))
    rows, total = _check_transactions(root, acc, progress)
    n_fraud = _check_fraud_trace(rows, acc, root)
    n_reports = _check_reports(root, acc)
    return CheckReport(
        transactions=total, fraud_transactions=n_fraud, tracked_accounts=acc.height, reports=n_reports
    )
