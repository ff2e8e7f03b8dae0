"""Fraud campaigns follow the typology parameters, and reports point at the money they lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pingan.sim import params as cfg
from pingan.sim.fraud import FraudPlan, plan_fraud
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
    flows = pl.read_parquet(tiny_district / "truth/fraud_flows.parquet")
    per_flow = flows.group_by("flow_id").agg((pl.col("ts").max() - pl.col("ts").min()).alias("span"))
    median_minutes = per_flow["span"].dt.total_seconds().median() / 60
    assert 2 < median_minutes < 90


def test_every_report_transfer_is_a_victim_payment_to_a_tier_one_card(tiny_district: Path) -> None:
    accounts = pl.read_parquet(tiny_district / "accounts.parquet")
    flows = pl.read_parquet(tiny_district / "truth/fraud_flows.parquet").filter(pl.col("kind") == "fraud")
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
    flows = pl.read_parquet(tiny_district / "truth/fraud_flows.parquet")
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
