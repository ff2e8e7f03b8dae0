"""Warning-quality figures against ground truth: what counts as a true event and as an early flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pingan.antifraud.screening.engine import FLAG_SCHEMA, TS
from pingan.antifraud.screening.quality import evaluate

SCREENING_BEGAN = datetime(2026, 3, 11, tzinfo=UTC)
VICTIM_ZHAO, VICTIM_QIAN = 0, 1  # zhao began paying before screening began, qian after
PERSON_ZHAO, PERSON_QIAN, PERSON_SUN = 100, 101, 102  # sun is no victim


@pytest.fixture
def truth(tmp_path: Path) -> Path:
    (tmp_path / "truth").mkdir()
    pl.DataFrame(
        {"victim_id": [VICTIM_ZHAO, VICTIM_QIAN], "person_id": [PERSON_ZHAO, PERSON_QIAN],
         "typology": ["刷单返利", "冒充公检法"]},
    ).write_parquet(tmp_path / "truth" / "victims.parquet")  # fmt: skip
    payments = [  # (tx_id, victim, time, amount): hop-0 fraudulent payments
        (1, VICTIM_ZHAO, SCREENING_BEGAN - timedelta(days=1), 100_000),
        (2, VICTIM_ZHAO, SCREENING_BEGAN + timedelta(days=1), 200_000),
        (3, VICTIM_QIAN, SCREENING_BEGAN + timedelta(days=2), 500_000),
        (4, VICTIM_QIAN, SCREENING_BEGAN + timedelta(days=4), 900_000),
    ]
    pl.DataFrame(
        {"tx_id": [p[0] for p in payments], "victim_id": [p[1] for p in payments],
         "hop": [0] * len(payments), "ts": [p[2] for p in payments],
         "amount_fen": [p[3] for p in payments]},
        schema_overrides={"hop": pl.Int8(), "ts": TS},
    ).write_parquet(tmp_path / "truth" / "fraud_flows.parquet")  # fmt: skip
    return tmp_path


def flags(rows: list[tuple[int, int, datetime]]) -> pl.DataFrame:
    """Flags as (tx_id, person, time)."""
    n = len(rows)
    return pl.DataFrame(
        {"tx_id": [r[0] for r in rows], "ts": [r[2] for r in rows], "payer_account": [0] * n,
         "payee_account": [9] * n, "payer_bank": ["ICBC"] * n, "payee_bank": ["CCB"] * n,
         "amount_fen": [100_000] * n, "person_id": [r[1] for r in rows], "elderly": [False] * n,
         "reasons": [["P-FIRST-LARGE"]] * n, "typology_guess": ["刷单返利"] * n,
         "amount_at_risk_fen": [100_000] * n},
        schema=FLAG_SCHEMA,
    )  # fmt: skip


def test_an_event_on_a_victim_already_paying_when_screening_began_is_a_true_event(truth: Path) -> None:
    got = evaluate(
        truth,
        flags(
            [
                (2, PERSON_ZHAO, SCREENING_BEGAN + timedelta(days=1)),
                (3, PERSON_QIAN, SCREENING_BEGAN + timedelta(days=2)),
                (77, PERSON_SUN, SCREENING_BEGAN + timedelta(days=3)),
            ]
        ),
        SCREENING_BEGAN,
    )
    assert got["risk_events"] == 3
    assert got["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert got["precision_new_victims_only"] == pytest.approx(1 / 3, abs=1e-4)


def test_only_victims_who_began_paying_after_screening_began_count_for_recall(truth: Path) -> None:
    got = evaluate(truth, flags([(3, PERSON_QIAN, SCREENING_BEGAN + timedelta(days=2))]), SCREENING_BEGAN)
    assert got["victims"] == 1
    assert got["flagged_before_second_payment"] == 1.0
    assert got["loss_after_first_flag_share"] == pytest.approx(900_000 / 1_400_000, abs=1e-4)


def test_a_flag_on_the_second_payment_is_not_before_the_second_payment(truth: Path) -> None:
    got = evaluate(truth, flags([(4, PERSON_QIAN, SCREENING_BEGAN + timedelta(days=4))]), SCREENING_BEGAN)
    assert got["flagged_at_all"] == 1.0
    assert got["flagged_before_second_payment"] == 0.0
