"""Behaviour features of a mule card, on hand-built transfers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pingan.antifraud.mules.amlsim import read_amlsim
from pingan.antifraud.mules.features import (
    account_features,
    co_activity,
    counterparty_pairs,
    reciprocity,
    triangles,
    two_hop,
)
from pingan.antifraud.mules.model import evaluate, graph, score, train
from pingan.core.errors import Invalid

AMLSIM = Path(__file__).resolve().parents[4] / "shared" / "data" / "amlsim"
VICTIM_WANG, VICTIM_LIU, MULE_T1_ZHAO, MULE_T2_QIAN, MULE_T2_SUN, SHOP_HOTPOT = 1, 2, 10, 20, 21, 80
T0 = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # 00:00 Beijing time


def frame(rows: list[tuple[int, int, int, int]]) -> pl.DataFrame:
    """(payer, payee, yuan, minutes after Beijing midnight)."""
    return pl.DataFrame(
        {
            "payer": [r[0] for r in rows],
            "payee": [r[1] for r in rows],
            "amount_fen": [r[2] * 100 for r in rows],
            "ts": [T0 + timedelta(minutes=r[3]) for r in rows],
        },
        schema={"payer": pl.Int64, "payee": pl.Int64, "amount_fen": pl.Int64, "ts": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def zhao_forwards_two_victims() -> pl.DataFrame:
    return frame(
        [
            (VICTIM_WANG, MULE_T1_ZHAO, 5_000, 60),  # 01:00, night
            (VICTIM_LIU, MULE_T1_ZHAO, 3_000, 90),
            (MULE_T1_ZHAO, MULE_T2_QIAN, 4_000, 120),
            (MULE_T1_ZHAO, MULE_T2_SUN, 3_950, 126),
            (VICTIM_WANG, SHOP_HOTPOT, 188, 720),
        ]
    )


def row(df: pl.DataFrame, account: int) -> dict[str, object]:
    return df.filter(pl.col("account") == account).to_dicts()[0]


def test_a_mule_has_fan_in_fan_out_and_passes_almost_everything_through(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    zhao = row(account_features(zhao_forwards_two_victims), MULE_T1_ZHAO)
    assert (zhao["fan_in"], zhao["fan_out"]) == (2, 2)
    assert zhao["pass_through"] == pytest.approx(795_000 / 800_001)


def test_dwell_time_is_measured_from_the_latest_credit_before_each_debit(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    zhao = row(account_features(zhao_forwards_two_victims), MULE_T1_ZHAO)
    assert zhao["dwell_hours_min"] == pytest.approx(0.5)  # 01:30 credit → 02:00 debit
    assert zhao["dwell_hours_median"] == pytest.approx(0.55)  # 0.5 h and 0.6 h


def test_round_amounts_and_night_hours_are_shares_of_the_account_transfers(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    df = account_features(zhao_forwards_two_victims)
    assert row(df, MULE_T1_ZHAO)["in_round_share"] == 1.0  # 5,000 and 3,000 yuan: whole hundreds
    assert row(df, MULE_T1_ZHAO)["out_round_share"] == 0.5  # 4,000 is, 3,950 is not
    assert row(df, MULE_T1_ZHAO)["in_night_share"] == 1.0
    assert row(df, SHOP_HOTPOT)["in_night_share"] == 0.0


def test_the_amlsim_reader_rejects_a_sample_without_labels(tmp_path: Path) -> None:
    (tmp_path / "nodes.csv").write_text("nodeid,init_balance\n0,1.0\n")
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n0,1,10.5,1\n")
    with pytest.raises(Invalid, match="isFraud"):
        read_amlsim(tmp_path)


def test_the_amlsim_reader_marks_fraud_accounts_with_a_laundering_step_and_only_where_given(
    tmp_path: Path,
) -> None:
    (tmp_path / "nodes.csv").write_text("nodeid,isFraud,fraudStep\n0,1,12\n1,1,-1\n2,0,-1\n")
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n0,1,10.5,12\n")
    s = read_amlsim(tmp_path)
    assert s.labels["own_transfer"].to_list() == [True, False, False]
    assert s.labels["is_mule"].to_list() == [True, True, False]
    (tmp_path / "nodes.csv").write_text("nodeid,isFraud\n0,1\n1,0\n")
    assert "own_transfer" not in read_amlsim(tmp_path).labels.columns


@pytest.mark.skipif(not AMLSIM.exists(), reason="the AMLSim samples live in ../shared/data/amlsim")
def test_the_amlsim_reader_reads_every_sample_with_labels_and_fen() -> None:
    for sample in sorted(p for p in AMLSIM.iterdir() if p.is_dir()):
        s = read_amlsim(sample)
        assert s.labels["is_mule"].sum() > 0
        assert s.transfers["amount_fen"].dtype == pl.Int64
        assert s.transfers["ts"].dtype == pl.Datetime("us", "UTC")


def test_a_model_trained_on_one_ring_finds_the_mules_of_another() -> None:
    rng = np.random.default_rng(3)

    def world(offset: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows = []
        people = np.arange(offset, offset + 300)
        mules = people[:30]
        for minute in range(2_000):
            a, b = rng.choice(people, 2, replace=False)
            rows.append((int(a), int(b), int(rng.integers(100, 600)), minute * 7))
        for m in mules:  # each mule: three victims in, everything out to two others within minutes
            for v in rng.choice(people[30:], 3, replace=False):
                rows.append((int(v), int(m), 1_000, int(rng.integers(0, 10_000))))
            for n in rng.choice(mules, 2, replace=False):
                rows.append((int(m), int(n), 1_490, int(rng.integers(0, 10_000))))
        labels = pl.DataFrame({"account": people.astype(np.int64), "is_mule": np.isin(people, mules)})
        return frame(rows), labels

    train_tx, train_y = world(0)
    test_tx, test_y = world(10_000)
    model = train([graph(train_tx, labels=train_y)], propagation_rounds=1)
    g = graph(test_tx, labels=test_y)
    scored = score(model, g)
    assert g.labels is not None
    assert evaluate(g.labels, scored.scores, model.threshold, 30)["f1"] >= 0.9
    top = int(np.argmax(scored.scores))
    assert scored.reasons(top)


def _by_account(df: pl.DataFrame, column: str) -> dict[int, float]:
    return dict(zip(df["account"].to_list(), df[column].to_list(), strict=True))


def test_ring_members_who_pay_each_other_close_a_triangle_and_strangers_do_not() -> None:
    ring = frame(
        [
            (MULE_T1_ZHAO, MULE_T2_QIAN, 800, 10),
            (MULE_T2_QIAN, MULE_T2_SUN, 800, 20),
            (MULE_T2_SUN, MULE_T1_ZHAO, 800, 30),
            (VICTIM_WANG, SHOP_HOTPOT, 120, 40),
            (VICTIM_LIU, SHOP_HOTPOT, 90, 50),
        ]
    )
    counts = _by_account(triangles(counterparty_pairs(ring)), "triangles")
    assert counts == {MULE_T1_ZHAO: 1.0, MULE_T2_QIAN: 1.0, MULE_T2_SUN: 1.0}


def test_a_triangle_with_suspicious_accounts_weighs_their_product() -> None:
    ring = frame(
        [
            (MULE_T1_ZHAO, MULE_T2_QIAN, 800, 10),
            (MULE_T2_QIAN, MULE_T2_SUN, 800, 20),
            (MULE_T2_SUN, MULE_T1_ZHAO, 800, 30),
        ]
    )
    suspicion = pl.DataFrame({"account": [MULE_T1_ZHAO, MULE_T2_QIAN, MULE_T2_SUN], "s": [0.5, 0.4, 1.0]})
    weighted = _by_account(triangles(counterparty_pairs(ring), suspicion), "triangles_s")
    assert weighted[MULE_T1_ZHAO] == pytest.approx(0.4)
    assert weighted[MULE_T2_SUN] == pytest.approx(0.2)


def test_paying_back_a_payer_counts_as_a_reciprocal_counterparty() -> None:
    tx = frame(
        [
            (MULE_T1_ZHAO, MULE_T2_QIAN, 800, 10),
            (MULE_T2_QIAN, MULE_T1_ZHAO, 790, 20),
            (VICTIM_WANG, MULE_T1_ZHAO, 5_000, 5),
        ]
    )
    back = _by_account(reciprocity(tx), "reciprocal_counterparties")
    assert back == {MULE_T1_ZHAO: 1.0, MULE_T2_QIAN: 1.0}


def test_two_hop_scores_reach_a_quiet_ring_member_through_a_shared_counterparty_once_each() -> None:
    # Sun made no transfer with Zhao, but both trade with Qian; Qian paid Zhao twice.
    tx = frame(
        [
            (MULE_T1_ZHAO, MULE_T2_QIAN, 800, 10),
            (MULE_T1_ZHAO, MULE_T2_QIAN, 700, 15),
            (MULE_T2_SUN, MULE_T2_QIAN, 800, 20),
            (VICTIM_WANG, SHOP_HOTPOT, 120, 40),
        ]
    )
    suspicion = pl.DataFrame({"account": [MULE_T1_ZHAO, MULE_T2_QIAN, MULE_T2_SUN], "s": [0.9, 0.2, 0.1]})
    reach = two_hop(counterparty_pairs(tx), suspicion)
    assert _by_account(reach, "hop2_s_sum") == {
        MULE_T2_SUN: pytest.approx(0.9),
        MULE_T1_ZHAO: pytest.approx(0.1),
    }
    assert _by_account(reach, "hop2_s_over_half") == {MULE_T2_SUN: 1, MULE_T1_ZHAO: 0}


def test_co_activity_counts_accounts_trading_with_the_same_counterparty_on_the_same_day_only() -> None:
    day = 24 * 60
    tx = frame(
        [
            (MULE_T1_ZHAO, MULE_T2_QIAN, 800, 10),
            (MULE_T2_SUN, MULE_T2_QIAN, 800, 20),  # same payee, same day as Zhao
            (VICTIM_WANG, MULE_T2_QIAN, 120, 10 + day),  # same payee, the next day
        ]
    )
    suspicion = pl.DataFrame({"account": [MULE_T1_ZHAO, MULE_T2_SUN, VICTIM_WANG], "s": [0.9, 0.3, 0.8]})
    co = co_activity(tx, suspicion)
    assert _by_account(co, "co_s_max") == {MULE_T2_SUN: pytest.approx(0.9), MULE_T1_ZHAO: pytest.approx(0.3)}


@pytest.mark.skipif(not AMLSIM.exists(), reason="the AMLSim samples live in ../shared/data/amlsim")
def test_mules_amlsim_trains_on_every_sample_given_after_one_train_flag() -> None:
    from typer.testing import CliRunner

    from pingan.cli import app

    cycle, fanin = str(AMLSIM / "20K_cycle200"), str(AMLSIM / "20K_fanin200")
    args = ["mules", "amlsim", "--train", cycle, fanin, "--test", fanin, "--rounds", "0"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    line = json.loads(out.stdout.splitlines()[0])
    assert line["train"] == ["20K_cycle200", "20K_fanin200"]
    assert {"f1", "pr_auc", "precision_at_k", "k"} <= line.keys()


def test_credits_from_reported_victims_are_counted_summed_and_their_payers_counted(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    flagged = pl.DataFrame({"account": [VICTIM_WANG, VICTIM_LIU]})
    df = account_features(zhao_forwards_two_victims, flagged=flagged)
    zhao, qian = row(df, MULE_T1_ZHAO), row(df, MULE_T2_QIAN)
    assert (zhao["in_from_flagged_n"], zhao["in_from_flagged_sum"], zhao["in_from_flagged_payers"]) == (
        2, 800_000, 2,
    )  # fmt: skip
    assert qian["in_from_flagged_n"] == 0  # paid by the mule, not by a victim


def test_without_flagged_payers_the_inflow_from_them_is_missing_not_zero(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    zhao = row(account_features(zhao_forwards_two_victims), MULE_T1_ZHAO)
    assert zhao["in_from_flagged_n"] is None and zhao["in_from_flagged_sum"] is None


def test_account_age_at_the_first_large_credit_counts_from_the_opening_date(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    # Beijing 20 November; Zhao's card was opened three days before its first large credit.
    opened = pl.DataFrame(
        {"account": [MULE_T1_ZHAO, SHOP_HOTPOT], "opened": [date(2026, 11, 17), date(2019, 5, 1)]}
    )
    df = account_features(zhao_forwards_two_victims, opened=opened)
    assert row(df, MULE_T1_ZHAO)["age_at_first_large_inflow_days"] == 3.0


def test_account_age_is_missing_where_the_store_has_no_opening_date(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    opened = pl.DataFrame(
        {"account": [MULE_T1_ZHAO], "opened": [None]}, schema={"account": pl.Int64, "opened": pl.Date}
    )
    assert (
        row(account_features(zhao_forwards_two_victims, opened=opened), MULE_T1_ZHAO)[
            "age_at_first_large_inflow_days"
        ]
        is None
    )
    assert (
        row(account_features(zhao_forwards_two_victims), MULE_T1_ZHAO)["age_at_first_large_inflow_days"]
        is None
    )


def test_the_graph_passes_the_opening_dates_and_flagged_payers_on(
    zhao_forwards_two_victims: pl.DataFrame,
) -> None:
    opened = pl.DataFrame({"account": [MULE_T1_ZHAO], "opened": [date(2026, 11, 1)]})
    flagged = pl.DataFrame({"account": [VICTIM_WANG]})
    g = graph(zhao_forwards_two_victims, opened=opened, flagged=flagged)
    zhao = row(g.features, MULE_T1_ZHAO)
    assert (zhao["age_at_first_large_inflow_days"], zhao["in_from_flagged_n"]) == (19.0, 1.0)


def test_an_imported_store_gives_no_opening_dates_and_no_reported_victims(tmp_path: Path) -> None:
    from pingan.antifraud.mules.district import account_openings, inflow_sources
    from pingan.sim.extract_import import import_extract
    from pingan.sim.extract_mapping import load_mapping

    root = Path(__file__).resolve().parents[3]
    store = tmp_path / "store"
    import_extract(
        root / "tests" / "sim" / "extracts" / "amlsim_small.csv",
        load_mapping(root / "examples" / "mappings" / "amlsim.toml"),
        store,
    )
    assert account_openings(store)["opened"].null_count() == account_openings(store).height > 0
    assert inflow_sources(store) is None


def test_reported_victims_are_the_payer_cards_of_reports_filed_before_the_cut(tmp_path: Path) -> None:
    from pingan.antifraud.mules.district import reported_victims

    store = tmp_path / "store"
    store.mkdir()
    pl.DataFrame(
        {"account_id": [0, 1, 2], "card_number": ["6222020000000001", "6222020000000002", "x"]}
    ).write_parquet(store / "accounts.parquet")
    reports = [
        {"reported_at": "2026-11-20T10:00:00+08:00", "transfers": [{"payer_card": "6222020000000001"}]},
        {"reported_at": "2026-11-22T10:00:00+08:00", "transfers": [{"payer_card": "6222020000000002"}]},
    ]
    (store / "reports.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reports))
    cut = datetime(2026, 11, 21, tzinfo=UTC)
    assert reported_victims(store, until=cut)["account"].to_list() == [0]
    assert reported_victims(store)["account"].to_list() == [0, 1]
