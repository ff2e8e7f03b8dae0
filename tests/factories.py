"""Small builders of valid domain input, named after the people in the tests."""

from __future__ import annotations

import copy
from typing import Any

from pingan.core.pii import luhn_check_digit, national_id_check_char


def card(prefix: str, serial: int, length: int = 19) -> str:
    """A Luhn-valid card number: `prefix`, zero-padded `serial`, check digit."""
    body = f"{prefix}{serial:0{length - len(prefix) - 1}d}"
    return body + luhn_check_digit(body)


def national_id(first17: str = "51010719650312002") -> str:
    """A valid resident ID with the right check character."""
    return first17 + national_id_check_char(first17)


VICTIM_WANG = {"name": "王芳", "national_id": national_id(), "phone": "13812345678"}
MULE_CARD_CCB = card("621700", 1)
MULE_CARD_ICBC = card("622202", 2)
WANG_CARD = card("622588", 3)


def report_payload(**overrides: Any) -> dict[str, Any]:
    """A valid fraud report of victim Wang paying one mule card; keyword overrides replace top-level keys."""
    body: dict[str, Any] = {
        "external_ref": "510107-2026-000001",
        "victim": dict(VICTIM_WANG),
        "fraud_started_at": "2026-11-20T09:15:00+08:00",
        "reported_at": "2026-11-20T14:02:00+08:00",
        "station_code": "WH-YL",
        "officer": "李强",
        "typology": "刷单返利",
        "narrative": "受害人被拉入刷单群，连续垫付任务款。",
        "transfers": [
            {
                "occurred_at": "2026-11-20T09:40:00+08:00",
                "amount_fen": 500_000,
                "payer_card": WANG_CARD,
                "payer_bank": "CMB",
                "payee_account": MULE_CARD_CCB,
                "payee_bank": "CCB",
                "channel": "mobile_banking",
            }
        ],
        "suspects": [{"kind": "phone", "value": "17012345678"}],
    }
    body = copy.deepcopy(body)
    body.update(overrides)
    return body
