"""The learned scorer beside the rules (M-SCORE): its features, its reasons, and screening without it."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from pingan.antifraud.screening import scorer as sc
from pingan.antifraud.screening.quality import since_of, watchlist_from_reports
from pingan.antifraud.screening.ruleset import RuleSet
from pingan.antifraud.screening.store import screen_store
from pingan.antifraud.watchlist.frames import WATCHLIST_SCHEMA
from pingan.cli import app
from pingan.core.errors import Invalid

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
WANG, LI, ZHAO, SUN, COLLECTOR, WANG_OTHER_BANK, LENDER = 0, 1, 2, 3, 4, 5, 6
_REASON = re.compile(r"^M-SCORE:(?P<name>[a-z0-9_]+)=(?P<value>[^:]*):\+(?P<contribution>[0-9.]+)$")


def small_store(root: Path, transfers: list[tuple[int, datetime, int, int, int, str]]) -> Path:
    """A hand-written store: Wang (born 1950, two accounts), Li, Zhao, Sun, a collector's card opened
    last week, and a lender; transfers are (tx_id, time, payer, payee, yuan, channel)."""
    (root / "transactions" / "day=2026-03-02").mkdir(parents=True)
    pl.DataFrame(
        {
            "tx_id": [t[0] for t in transfers],
            "ts": [t[1] for t in transfers],
            "payer_account": [t[2] for t in transfers],
            "payee_account": [t[3] for t in transfers],
            "amount_fen": [t[4] * 100 for t in transfers],
            "channel": [t[5] for t in transfers],
            "payer_bank": ["ICBC"] * len(transfers),
            "payee_bank": ["CCB"] * len(transfers),
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    ).write_parquet(root / "transactions" / "day=2026-03-02" / "part-0.parquet")
    pl.DataFrame(
        {
            "account_id": [WANG, LI, ZHAO, SUN, COLLECTOR, WANG_OTHER_BANK, LENDER],
            "holder_person_id": [100, 101, 102, 103, 104, 100, 105],
            "holder_type": ["personal"] * 6 + ["business"],
            "opened": [date(2010, 1, 1)] * 4 + [date(2026, 2, 23), date(2015, 1, 1), date(2000, 1, 1)],
            "kyc_occupation": [
                "retired",
                "employed",
                "employed",
                "student",
                "employed",
                "retired",
                "enterprise",
            ],
        }
    ).write_parquet(root / "accounts.parquet")
    pl.DataFrame(
        {
            "person_id": [100, 101, 102, 103, 104, 105],
            "birth_date": [
                date(1950, 5, 1),
                date(1990, 1, 1),
                date(1985, 1, 1),
                date(1988, 1, 1),
                date(1995, 1, 1),
                None,
            ],
        }
    ).write_parquet(root / "persons.parquet")
    pl.DataFrame({"account_id": [LENDER], "category": ["lender"]}).write_parquet(root / "merchants.parquet")
    return root


NO_WATCHLIST = pl.DataFrame(schema=WATCHLIST_SCHEMA)


def at(hours: float) -> datetime:
    return DAY0 + timedelta(hours=hours)


def features_of(store: Path, watchlist: pl.DataFrame = NO_WATCHLIST) -> dict[int, dict[str, object]]:
    frame = sc.transfer_features(store, watchlist)
    return {int(r["tx_id"]): r for r in frame.iter_rows(named=True)}


def test_a_payment_to_a_payee_never_paid_before_is_a_first_payment(tmp_path: Path) -> None:
    store = small_store(tmp_path, [(1, at(1), LI, ZHAO, 100, "mobile_banking"),
                                   (2, at(30), LI, ZHAO, 300, "mobile_banking")])  # fmt: skip
    f = features_of(store)
    assert (f[1]["first_payment"], f[1]["pair_payments_before"]) == (1.0, 0.0)
    assert (f[2]["first_payment"], f[2]["pair_payments_before"]) == (0.0, 1.0)
    assert f[2]["pair_days"] == pytest.approx(29 / 24)
    assert f[2]["amount_vs_payer_max"] == 3.0


def test_a_payee_paid_by_new_payers_counts_them_over_the_week_before(tmp_path: Path) -> None:
    store = small_store(tmp_path, [(1, at(0), LI, COLLECTOR, 500, "mobile_banking"),
                                   (2, at(30), ZHAO, COLLECTOR, 500, "mobile_banking"),
                                   (3, at(24 * 8), SUN, COLLECTOR, 500, "mobile_banking")])  # fmt: skip
    f = features_of(store)
    assert [f[i]["payee_new_payers_7d"] for i in (1, 2, 3)] == [1.0, 2.0, 2.0]  # Li's is 8 days old at 3
    assert [f[i]["payee_new_payers_1d"] for i in (1, 2, 3)] == [1.0, 1.0, 1.0]
    assert f[1]["payee_age_days"] == 7.0  # opened 2026-02-23


def test_money_from_the_payers_own_account_and_a_loan_are_top_ups_before_the_payment(tmp_path: Path) -> None:
    store = small_store(tmp_path, [(1, at(0), WANG_OTHER_BANK, WANG, 20_000, "mobile_banking"),
                                   (2, at(1), LENDER, WANG, 30_000, "online_banking"),
                                   (3, at(2), WANG, COLLECTOR, 50_000, "mobile_banking"),
                                   (4, at(30), WANG, COLLECTOR, 1_000, "mobile_banking")])  # fmt: skip
    f = features_of(store)
    assert f[3]["topup_24h_share"] == 1.0
    assert f[3]["own_topup_24h_share"] == pytest.approx(0.4)
    assert f[3]["loan_72h_share"] == pytest.approx(0.6)
    assert f[4]["topup_24h_share"] == 0.0  # the top-ups are 28 hours old by then


def test_an_elderly_payer_at_night_is_marked_so(tmp_path: Path) -> None:
    # 16:30 UTC is 00:30 in Beijing.
    store = small_store(tmp_path, [(1, at(16.5), WANG, ZHAO, 5_000, "mobile_banking"),
                                   (2, at(16.5), LI, ZHAO, 5_000, "mobile_banking")])  # fmt: skip
    f = features_of(store)
    assert (f[1]["hour"], f[1]["payer_age"], f[1]["elderly_night"]) == (0.0, 75.0, 1.0)
    assert f[2]["elderly_night"] == 0.0


def test_a_listed_payee_counts_from_its_listing_and_a_listed_payer_is_not_flagged(tmp_path: Path) -> None:
    store = small_store(tmp_path, [(1, at(1), LI, COLLECTOR, 500, "qr"),
                                   (2, at(5), ZHAO, COLLECTOR, 500, "qr"),
                                   (3, at(6), COLLECTOR, SUN, 900, "mobile_banking")])  # fmt: skip
    listed = pl.DataFrame(
        [{"account_id": COLLECTOR, "listed_from": at(3), "expires_at": None, "source": "reported_payee",
          "confidence": 1.0, "typology": "刷单返利"}],
        schema=WATCHLIST_SCHEMA,
    )  # fmt: skip
    f = features_of(store, listed)
    assert (f[1]["payee_listed"], f[2]["payee_listed"]) == (0.0, 1.0)
    assert f[2]["payee_listed_confidence"] == 1.0
    assert f[3]["suppressed"] is True and f[1]["suppressed"] is False


def test_features_of_a_transfer_do_not_change_with_what_came_after_it(tmp_path: Path) -> None:
    transfers = [(i, at(i), [LI, ZHAO, SUN][i % 3], [COLLECTOR, ZHAO, WANG][i % 2], 100 + i, "mobile_banking")
                 for i in range(1, 40)]  # fmt: skip
    whole = sc.transfer_features(small_store(tmp_path / "whole", transfers), NO_WATCHLIST)
    cut = sc.transfer_features(small_store(tmp_path / "cut", transfers), NO_WATCHLIST, until=at(20))
    assert whole.filter(pl.col("ts") < at(20)).equals(cut)


# ---------------------------------------------------------------------------------------------
# Reasons and training, on a frame whose label is one feature
# ---------------------------------------------------------------------------------------------


def listed_is_fraud(n: int = 4000, seed: int = 3) -> pl.DataFrame:
    """Random features; a payment is a victim's exactly when its payee is listed."""
    rng = np.random.default_rng(seed)
    cols = {f: rng.random(n) * 10 for f in sc.FEATURES}
    cols["payee_listed"] = (rng.random(n) < 0.1).astype(np.float64)
    cols["channel"] = rng.integers(0, 7, n).astype(np.float64)
    return pl.DataFrame(cols).with_columns(label=pl.col("payee_listed").cast(pl.Int64))


def test_a_reason_names_the_feature_that_decided_with_its_value() -> None:
    frame = listed_is_fraud()
    booster = sc.fit([frame])
    listed = frame.filter(pl.col("payee_listed") == 1).head(5)
    for reasons in sc.reasons_of(booster, listed, sc.FEATURES):
        first = _REASON.match(reasons[0])
        assert first is not None
        assert (first["name"], first["value"]) == ("payee_listed", "1")


def test_reasons_are_the_top_contributions_in_order_with_the_rows_values() -> None:
    frame = listed_is_fraud()
    booster = sc.fit([frame])
    rows = frame.head(20)
    x = sc.feature_matrix(rows)
    contrib = np.asarray(booster.predict(x, pred_contrib=True))[:, :-1]
    for i, reasons in enumerate(sc.reasons_of(booster, rows, sc.FEATURES)):
        parsed = [_REASON.match(r) for r in reasons]
        assert all(parsed) and len(parsed) <= sc.TOP_REASONS
        names = [m["name"] for m in parsed if m]
        shown = [float(m["contribution"]) for m in parsed if m]
        assert shown == sorted(shown, reverse=True) and all(c > 0 for c in shown)
        positive = sorted((c for c in contrib[i] if c > 0), reverse=True)[: sc.TOP_REASONS]
        assert [round(c, 2) for c in positive] == pytest.approx(shown, abs=0.011)
        for m, name in zip(parsed, names, strict=True):
            assert m is not None and float(m["value"]) == pytest.approx(
                x[i, sc.FEATURES.index(name)], rel=1e-5
            )


def test_training_on_the_same_frames_with_the_same_seed_gives_the_same_model() -> None:
    frame = listed_is_fraud()
    first, again = sc.fit([frame], seed=5), sc.fit([frame], seed=5)
    assert first.model_to_string() == again.model_to_string()
    other = sc.fit([frame], seed=6)
    assert other.model_to_string() != first.model_to_string()  # the seed is used, not ignored


def test_a_saved_model_loads_with_its_features_and_thresholds(tmp_path: Path) -> None:
    model = sc.Scorer(sc.fit([listed_is_fraud()]), sc.FEATURES, threshold=0.4, rule_gate=0.1, tuned_on=[1, 2])
    model.save(tmp_path / "scorer.json")
    back = sc.Scorer.load(tmp_path / "scorer.json")
    assert (back.features, back.threshold, back.rule_gate, back.tuned_on) == (sc.FEATURES, 0.4, 0.1, [1, 2])
    frame = listed_is_fraud(200, seed=9)
    assert np.array_equal(sc.predict(back.booster, frame), sc.predict(model.booster, frame))


def test_a_file_that_is_no_model_is_refused_naming_the_scorer(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    with pytest.raises(Invalid) as err:
        sc.Scorer.load(tmp_path / "x.json")
    assert err.value.field == "scorer"


# ---------------------------------------------------------------------------------------------
# Beside the rules, on the tiny district
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(district: Path) -> sc.Scorer:
    """A scorer trained on the tiny district's own transfers (tuning seed 1): it knows its victims."""
    paid = pl.read_parquet(district / "truth" / "fraud_flows.parquet").filter(pl.col("hop") == 0)["tx_id"]
    frame = sc.transfer_features(district, watchlist_from_reports(district), since=since_of(district, 3))
    frame = frame.with_columns(label=pl.col("tx_id").is_in(paid.implode()).cast(pl.Int64))
    return sc.Scorer(sc.fit([frame]), sc.FEATURES, threshold=0.5, rule_gate=0.0, tuned_on=[1])


def test_without_a_model_screening_is_the_rules_alone(district: Path, rules: RuleSet) -> None:
    since = since_of(district, 3)
    wl = watchlist_from_reports(district)
    rule_flags = screen_store(district, rules=rules, watchlist=wl, since=since).flags
    assert rule_flags.height > 0
    assert sc.screen_with_scorer(district, None, rule_flags, watchlist=wl, since=since).equals(rule_flags)


def test_each_flag_says_whether_the_rules_the_scorer_or_both_fired(
    district: Path, rules: RuleSet, tiny_model: sc.Scorer
) -> None:
    since = since_of(district, 3)
    wl = watchlist_from_reports(district)
    rule_flags = screen_store(district, rules=rules, watchlist=wl, since=since).flags
    flags = sc.screen_with_scorer(district, tiny_model, rule_flags, watchlist=wl, since=since)
    assert flags["tx_id"].is_unique().all()
    by_rule = set(rule_flags["tx_id"])
    scored = flags.filter(pl.col("reasons").list.eval(pl.element().str.starts_with("M-SCORE:")).list.any())
    assert scored.height > 0
    for row in scored.iter_rows(named=True):
        ours = [r for r in row["reasons"] if r.startswith("M-SCORE:")]
        assert float(ours[0].split(":")[1]) >= tiny_model.threshold
        assert all(_REASON.match(r) for r in ours[1:])
        others = [r for r in row["reasons"] if not r.startswith("M-SCORE:")]
        assert bool(others) == (row["tx_id"] in by_rule)
    # With a gate of 0 every rule flag stands, the scorer's reasons added where it fired too.
    assert by_rule <= set(flags["tx_id"])


def test_a_rule_gate_drops_the_rule_flags_the_scorer_rates_below_it(
    district: Path, rules: RuleSet, tiny_model: sc.Scorer
) -> None:
    since = since_of(district, 3)
    wl = watchlist_from_reports(district)
    rule_flags = screen_store(district, rules=rules, watchlist=wl, since=since).flags
    scored = sc.score_store(district, tiny_model, watchlist=wl, since=since)
    gated = sc.combined_flags(rule_flags, scored, threshold=0.99, rule_gate=0.3)
    low = set(scored.filter(pl.col("score") < 0.3)["tx_id"]) & set(rule_flags["tx_id"])
    assert low, "the tiny district has rule flags the scorer rates low"
    assert not low & set(gated["tx_id"])


def test_the_screen_command_without_a_scorer_writes_the_rules_flags(district: Path, tmp_path: Path) -> None:
    since = since_of(district, 3).isoformat()
    args = ["screen", str(district), "--since", since, "--watchlist", "reports", "--no-persist"]
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "rules.parquet")])
    assert plain.exit_code == 0, plain.output
    summary = json.loads(plain.output)
    assert summary["scorer"] is None and summary["flags"] == summary["rule_flags"] > 0
    flags = pl.read_parquet(tmp_path / "rules.parquet")
    assert not flags["reasons"].list.eval(pl.element().str.starts_with("M-SCORE")).list.any().any()


def test_the_thresholds_chosen_flag_the_most_victims_among_those_that_reach_the_target_precision() -> None:
    # A made-up tuning run: lower thresholds flag more victims at lower precision; the rule gate adds
    # recall and costs precision.
    def figures(threshold: float, gate: float) -> tuple[float, float]:
        rules_kept = 1.0 - gate
        return (1.0 - threshold) * 0.8 + 0.1 * rules_kept, 0.3 + 0.6 * threshold - 0.2 * rules_kept

    chosen = sc.choose_thresholds(figures, (0.2, 0.4, 0.6, 0.8), target_precision=0.5)
    assert chosen.precision >= 0.5
    # A gate above the threshold would keep fewer rule flags than the scorer's own: it is not tried.
    tried = [
        (t, g)
        for t in (0.2, 0.4, 0.6, 0.8)
        for g in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        if g in (0.0, 1.0) or g <= t
    ]
    reachable = [figures(t, g)[0] for t, g in tried if figures(t, g)[1] >= 0.5]
    assert chosen.flagged_before_second_payment == max(reachable)


def test_a_model_trained_without_a_feature_never_gives_it_as_a_reason() -> None:
    features = tuple(f for f in sc.FEATURES if f != "payee_listed")
    frame = listed_is_fraud()
    booster = sc.fit([frame], features=features)
    names = {
        m["name"]
        for rs in sc.reasons_of(booster, frame.head(50), features)
        for r in rs
        if (m := _REASON.match(r))
    }
    assert names and "payee_listed" not in names
