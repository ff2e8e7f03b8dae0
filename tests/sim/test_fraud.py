"""Fraud campaigns follow the typology parameters, and reports point at the money they lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pingan.sim import params as cfg
from pingan.sim.fraud import FraudPlan, plan_fraud
from pingan.sim.truth import read_labels
from pingan.sim.world import STREAM_FRAUD, build_world, stream


@pytest.fixture(scope="module")
def small_plan() -> FraudPlan:
    """The fraud plan of a small district (about 1,200 victims over 30 days); no files written."""
    world = build_world(cfg.Params(scale=cfg.SCALES["small"], seed=3, days=30))
    return plan_fraud(world, stream(3, STREAM_FRAUD))


def test_case_shares_follow_the_typology_parameters(small_plan: FraudPlan) -> None:
    share = (
        np.bincount(small_plan.victims.typology, minlength=len(cfg.TYPOLOGIES))
        / small_plan.victims.typology.size
    )
    for i, name in enumerate(cfg.TYPOLOGIES):
        assert share[i] == pytest.approx(cfg.TYPOLOGY_PARAMS[name].case_share, abs=0.04), name


def test_order_brushing_is_about_a_third_of_cases_and_investment_the_largest_loss(
    small_plan: FraudPlan,
) -> None:
    pay = small_plan.payments
    typ = small_plan.victims.typology[pay.victim]
    loss = np.bincount(typ, weights=pay.amount, minlength=len(cfg.TYPOLOGIES))
    loss_share = loss / loss.sum()
    cases = np.bincount(small_plan.victims.typology) / small_plan.victims.typology.size
    assert cases[cfg.TYPOLOGIES.index("刷单返利")] == pytest.approx(1 / 3, abs=0.05)
    assert loss_share[cfg.TYPOLOGIES.index("虚假投资理财")] == pytest.approx(1 / 3, abs=0.12)
    assert loss_share.argmax() == cfg.TYPOLOGIES.index("虚假投资理财")


def test_investment_victims_pay_repeatedly_in_rising_amounts(small_plan: FraudPlan) -> None:
    pay = small_plan.payments
    inv = small_plan.victims.typology[pay.victim] == cfg.TYPOLOGIES.index("虚假投资理财")
    victims = pay.victim[inv]
    counts = np.bincount(victims)
    assert counts[counts > 0].mean() >= 3
    rises = falls = 0
    for v in np.unique(victims)[:200]:
        amounts = pay.amount[pay.victim == v]
        rises += int((np.diff(amounts) > 0).sum())
        falls += int((np.diff(amounts) < 0).sum())
    assert rises > 3 * falls


def test_public_security_impersonation_picks_older_victims_than_order_brushing(small_plan: FraudPlan) -> None:
    world_age = build_world(cfg.Params(scale=cfg.SCALES["small"], seed=3, days=30)).persons.age
    v = small_plan.victims
    age = world_age[v.person]
    police = age[v.typology == cfg.TYPOLOGIES.index("冒充公检法")].mean()
    brushing = age[v.typology == cfg.TYPOLOGIES.index("刷单返利")].mean()
    assert police > brushing + 15


def test_mules_pass_money_on_within_minutes(tiny_district: Path) -> None:
    flows = read_labels(tiny_district).fraud_flows
    per_flow = flows.group_by("flow_id").agg((pl.col("ts").max() - pl.col("ts").min()).alias("span"))
    median_minutes = per_flow["span"].dt.total_seconds().median() / 60
    assert 2 < median_minutes < 90


def test_every_report_transfer_is_a_victim_payment_to_a_tier_one_card(tiny_district: Path) -> None:
    accounts = pl.read_parquet(tiny_district / "accounts.parquet")
    flows = read_labels(tiny_district).fraud_flows.filter(pl.col("kind") == "fraud")
    card = dict(zip(accounts["account_id"].to_list(), accounts["card_number"].to_list(), strict=True))
    paid = {
        (r["external_ref"], card[r["payee_account"]], r["amount_fen"]) for r in flows.iter_rows(named=True)
    }
    lines = (tiny_district / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        report = json.loads(line)
        for t in report["transfers"]:
            assert (report["external_ref"], t["payee_account"], t["amount_fen"]) in paid


def test_reports_come_after_the_last_transfer(tiny_district: Path) -> None:
    for line in (tiny_district / "reports.jsonl").read_text(encoding="utf-8").splitlines():
        report = json.loads(line)
        assert report["reported_at"] >= max(t["occurred_at"] for t in report["transfers"])


def test_truth_gives_each_report_its_full_downstream_flow(tiny_district: Path) -> None:
    flows = read_labels(tiny_district).fraud_flows
    ref = flows.filter(pl.col("external_ref").is_not_null())["external_ref"][0]
    mine = flows.filter(pl.col("external_ref") == ref)
    assert set(mine["kind"].unique()) == {"fraud", "layering", "cashout"}
    paid_in = mine.filter(pl.col("kind") == "fraud")["amount_fen"].sum()
    cashed = mine.filter(pl.col("kind") == "cashout")["amount_fen"].sum()
    # ATM withdrawals leave change under 100 yuan per card; everything else is cashed out.
    assert paid_in - 10_000 * mine.filter(pl.col("kind") == "cashout").height <= cashed <= paid_in


def test_order_brushing_victims_are_more_often_students_than_investment_victims(
    small_plan: FraudPlan,
) -> None:
    from pingan.sim.people import STUDENT

    occupation = build_world(cfg.Params(scale=cfg.SCALES["small"], seed=3, days=30)).persons.occupation
    v = small_plan.victims
    students = occupation[v.person] == STUDENT
    brushing = students[v.typology == cfg.TYPOLOGIES.index("刷单返利")].mean()
    investment = students[v.typology == cfg.TYPOLOGIES.index("虚假投资理财")].mean()
    assert brushing > 3 * investment


def _hour_share(plan: FraudPlan, typology: str, hours: range) -> float:
    pay = plan.payments
    first = np.full(plan.victims.person.size, np.iinfo(np.int64).max)
    np.minimum.at(first, pay.victim, pay.ts)
    mine = first[(plan.victims.typology == cfg.TYPOLOGIES.index(typology)) & (first < np.iinfo(np.int64).max)]
    hour = (mine // 3_600_000_000 + 8) % 24
    return float(np.isin(hour, list(hours)).mean())


def test_first_payments_follow_each_typologys_hours(small_plan: FraudPlan) -> None:
    """Brushing runs into the night; impersonated police call in office hours (params.Typology.hours)."""
    night = range(0, 7)
    assert _hour_share(small_plan, "刷单返利", night) > 0.1
    assert _hour_share(small_plan, "冒充公检法", night) < 0.05
    assert _hour_share(small_plan, "冒充公检法", range(9, 17)) > 0.6


def test_a_gang_stops_using_a_card_a_day_or_so_after_it_is_reported(small_plan: FraudPlan) -> None:
    pay, v = small_plan.payments, small_plan.victims
    reported_at: dict[int, int] = {}
    for i in np.argsort(pay.ts).tolist():
        if v.reports[pay.victim[i]]:
            card = int(pay.mule[i])
            reported_at[card] = min(reported_at.get(card, 1 << 62), int(v.report_us[pay.victim[i]]))
    late = [
        (int(pay.ts[i]) - reported_at[int(pay.mule[i])]) / 3.6e9
        for i in range(pay.ts.size)
        if int(pay.mule[i]) in reported_at and pay.ts[i] > reported_at[int(pay.mule[i])]
    ]
    assert reported_at and late
    # After a report the card is used only for the gang's reaction time (log-normal, median 12 h,
    # sd 1: 95 % under 62 h), then the payments move to a fresh card.
    assert float(np.median(late)) < 24
    assert float(np.percentile(late, 95)) < 72


def test_some_victims_move_money_in_before_they_pay(small_plan: FraudPlan) -> None:
    t = small_plan.topups
    assert t.size > 0.2 * small_plan.payments.ts.size
    assert set(np.unique(t.payee)) <= set(small_plan.victims.account.tolist())
    assert (t.campaign == -1).all()


def test_otc_dealers_and_lenders_are_listed_merchants(tiny_district: Path) -> None:
    m = pl.read_parquet(tiny_district / "merchants.parquet")
    assert {"otc_dealer", "lender"} <= set(m["category"])
    assert set(m.filter(pl.col("category") == "otc_dealer")["channel"]) == {"mobile_banking"}
    otc = set(m.filter(pl.col("category") == "otc_dealer")["account_id"])
    flows = read_labels(tiny_district).fraud_flows.filter(pl.col("cashout_method") == "otc")
    assert set(flows["payee_account"]) <= otc


def test_legitimate_collectors_get_several_new_payers_a_week(tiny_district: Path) -> None:
    """Landlords, tutors, 微商, group-buy organisers and clubs: the band a collecting-card rule watches."""
    labels = read_labels(tiny_district).transactions().filter(pl.col("kind") == "collect")
    tx = pl.scan_parquet(tiny_district / "transactions/**/*.parquet").join(labels, on="tx_id").collect()
    weekly = tx.group_by("payee_account").agg(pl.col("payer_account").n_unique() / 2)  # 14 days
    assert weekly.height > 20
    assert 3 <= float(weekly["payer_account"].median()) <= 10  # type: ignore[arg-type]
    assert (tx["channel"] == "qr").mean() > 0.2  # type: ignore[operator]
