"""A risk event's reasons as an officer reads them: the scorer's in words with their values."""

from __future__ import annotations

from pingan.antifraud.risk.queries import reasons_in_words
from pingan.antifraud.risk.reasons import FEATURES, reason_in_words
from pingan.antifraud.screening import scorer
from pingan.core.i18n import locale_scope


def test_every_feature_of_the_scorer_has_words() -> None:
    assert set(scorer.FEATURES) == set(FEATURES)


def test_a_scorer_reason_reads_as_a_phrase_with_its_value_in_chinese() -> None:
    with locale_scope("zh_CN"):
        words = reason_in_words("M-SCORE:first_payment=1:+0.81").words
    assert words == "首次向该收款人转账: 是"


def test_values_read_in_their_units() -> None:
    with locale_scope("en"):
        assert reason_in_words("M-SCORE:amount_yuan=25000:+1.2").words == "Amount of the transfer: ¥25,000.00"
        assert reason_in_words("M-SCORE:payee_age_days=3:+0.4").words == "Age of the payee's account: 3 days"
        assert reason_in_words("M-SCORE:channel=5:+0.3").words == "Channel: QR code"
        assert reason_in_words("M-SCORE:own_topup_24h_share=0.4:+0.2").words.endswith(": 40%")
        assert reason_in_words("M-SCORE:payer_age=:+0.2").words == "Payer's age: —"


def test_the_score_reads_as_the_model_score() -> None:
    with locale_scope("en"):
        assert reason_in_words("M-SCORE:0.873").words == "Model score 0.87"


def test_a_rule_id_stays_a_code_and_an_unknown_feature_shows_no_column_name() -> None:
    with locale_scope("en"):
        rule, unknown = reasons_in_words('["WL-PAYEE:reported_payee", "M-SCORE:new_feature_x=3:+0.5"]')
    assert (rule.code, rule.words) == ("WL-PAYEE:reported_payee", "")
    assert "new_feature_x" not in unknown.words and unknown.words
