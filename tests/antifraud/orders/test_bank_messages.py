"""Bank messages: signed both ways; malformed, unsigned, stale or replayed ones are refused, logged, and change nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.banks.protocol import (
    NonceCache,
    OrderResult,
    ResultBatch,
    SignatureError,
    bank_key,
    sign,
    verify,
)
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.callbacks import ResultWriter
from pingan.antifraud.orders.choices import OrderState
from pingan.antifraud.orders.model import BankInboundRejection, RestrictionOrder
from pingan.core import db
from pingan.core.roles import Actor
from tests.antifraud.orders.conftest import mule_report, register

PATH = "/bank-interface/callbacks"


@pytest.fixture
def acknowledged_order(client: TestClient, station_yulin: object) -> RestrictionOrder:
    register(mule_report(1))
    with db.transaction() as s:
        order = s.execute(select(RestrictionOrder)).scalar_one()
        actions.do_transition(s, order, OrderState.SENT, actor=Actor.system("test"))
        actions.do_transition(s, order, OrderState.ACKNOWLEDGED, actor=Actor.system("test"))
        return order


def _result(order: RestrictionOrder, **changes: object) -> bytes:
    msg = OrderResult(
        idempotency_key=order.idempotency_key,
        bank_ref="CCB-1",
        bank_code="CCB",
        outcome="executed",
        held_amount_fen=123_400,
        at=datetime.now(UTC),
    )
    return msg.model_copy(update=changes).model_dump_json().encode()


def _post(client: TestClient, body: bytes, headers: dict[str, str]) -> int:
    return client.post(
        PATH, content=body, headers={**headers, "Content-Type": "application/json"}
    ).status_code


def _state(order: RestrictionOrder) -> OrderState:
    with db.transaction() as s:
        o = s.get(RestrictionOrder, order.id)
        assert o is not None
        return o.state


def _rejections() -> list[str]:
    with db.transaction() as s:
        return list(
            s.execute(select(BankInboundRejection.reason).order_by(BankInboundRejection.id)).scalars()
        )


def test_a_signed_result_executes_the_order(client: TestClient, acknowledged_order: RestrictionOrder) -> None:
    body = _result(acknowledged_order)
    assert _post(client, body, sign(bank_key("CCB"), "CCB", "POST", PATH, body)) == 200
    assert _state(acknowledged_order) is OrderState.EXECUTED


def test_an_unsigned_result_is_refused_logged_and_changes_nothing(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    assert _post(client, _result(acknowledged_order), {}) == 401
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert "unsigned" in _rejections()[0]


def test_a_result_signed_with_another_banks_key_is_refused(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    body = _result(acknowledged_order)
    headers = sign(bank_key("ICBC"), "CCB", "POST", PATH, body)
    assert _post(client, body, headers) == 401
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert _rejections() == ["bad signature"]


def test_a_stale_result_is_refused(client: TestClient, acknowledged_order: RestrictionOrder) -> None:
    body = _result(acknowledged_order)
    headers = sign(bank_key("CCB"), "CCB", "POST", PATH, body, now=time.time() - 3600)
    assert _post(client, body, headers) == 401
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert "stale" in _rejections()[0]


def test_a_replayed_result_is_refused(client: TestClient, acknowledged_order: RestrictionOrder) -> None:
    body = _result(acknowledged_order, outcome="rejected", held_amount_fen=0)
    headers = sign(bank_key("CCB"), "CCB", "POST", PATH, body)
    assert _post(client, body, headers) == 200
    assert _post(client, body, headers) == 409
    assert "replayed" in _rejections()[0]


def test_a_malformed_result_is_refused_naming_the_field(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    body = b'{"type": "result", "idempotency_key": "x", "outcome": "stolen"}'
    assert _post(client, body, sign(bank_key("CCB"), "CCB", "POST", PATH, body)) == 422
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert _rejections()[0].startswith("malformed")


def test_a_result_for_an_order_of_another_bank_is_refused(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    body = _result(acknowledged_order, bank_code="ICBC")
    assert _post(client, body, sign(bank_key("ICBC"), "ICBC", "POST", PATH, body)) == 404
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED


def test_a_signature_covers_the_body() -> None:
    headers = sign(bank_key("CCB"), "CCB", "POST", "/x", b'{"held_amount_fen": 1}')
    with pytest.raises(SignatureError, match="bad signature"):
        verify(headers, "POST", "/x", b'{"held_amount_fen": 999}')


def test_the_nonce_cache_refuses_a_nonce_it_has_seen() -> None:
    cache = NonceCache()
    cache.check_and_add("a" * 32)
    with pytest.raises(SignatureError, match="replayed"):
        cache.check_and_add("a" * 32)


@pytest.fixture
def two_acknowledged_orders(client: TestClient, station_yulin: object) -> list[RestrictionOrder]:
    register(mule_report(1))
    register(mule_report(2))
    with db.transaction() as s:
        orders = list(s.execute(select(RestrictionOrder).order_by(RestrictionOrder.id)).scalars())
        for order in orders:
            actions.do_transition(s, order, OrderState.SENT, actor=Actor.system("test"))
            actions.do_transition(s, order, OrderState.ACKNOWLEDGED, actor=Actor.system("test"))
        return orders


def _batch(orders: list[RestrictionOrder], **changes: object) -> bytes:
    results = [OrderResult.model_validate_json(_result(o, **changes)) for o in orders]
    return ResultBatch(results=results).model_dump_json().encode()


def test_a_signed_batch_of_results_records_each_and_answers_each(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder]
) -> None:
    body = _batch(two_acknowledged_orders)
    r = client.post(PATH, content=body, headers=sign(bank_key("CCB"), "CCB", "POST", PATH, body))
    assert r.status_code == 200
    assert [item["status"] for item in r.json()["results"]] == ["ok", "ok"]
    assert [_state(o) for o in two_acknowledged_orders] == [OrderState.EXECUTED, OrderState.EXECUTED]


def test_a_replayed_batch_is_refused_result_by_result(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder]
) -> None:
    body = _batch(two_acknowledged_orders, outcome="rejected", held_amount_fen=0)
    headers = sign(bank_key("CCB"), "CCB", "POST", PATH, body)
    assert client.post(PATH, content=body, headers=headers).status_code == 200
    again = client.post(PATH, content=body, headers=headers)
    assert again.status_code == 207
    assert all("replayed" in item["reason"] for item in again.json()["results"])
    assert len(_rejections()) == 2


def test_a_batch_naming_another_banks_result_is_refused_whole(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder]
) -> None:
    first = OrderResult.model_validate_json(_result(two_acknowledged_orders[0]))
    other = OrderResult.model_validate_json(_result(two_acknowledged_orders[1], bank_code="ICBC"))
    body = ResultBatch(results=[first, other]).model_dump_json().encode()
    assert _post(client, body, sign(bank_key("CCB"), "CCB", "POST", PATH, body)) == 403
    assert [_state(o) for o in two_acknowledged_orders] == [OrderState.ACKNOWLEDGED] * 2
    assert _rejections() == ["result names another bank than the signer"]


# ---- bounded answers -----------------------------------------------------------------------


def _raw_result(order: RestrictionOrder, held: int) -> dict[str, object]:
    raw: dict[str, object] = json.loads(_result(order))
    raw["held_amount_fen"] = held
    return raw


def _ordered(order: RestrictionOrder, amount_fen: int) -> None:
    """The order asked the bank to hold `amount_fen` (as a freeze does)."""
    with db.transaction() as s:
        o = s.get(RestrictionOrder, order.id)
        assert o is not None
        o.amount_fen = amount_fen


def test_a_held_amount_above_the_ordered_amount_is_refused_and_changes_nothing(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    _ordered(acknowledged_order, 100_000)
    body = _result(acknowledged_order, held_amount_fen=100_001)
    assert _post(client, body, sign(bank_key("CCB"), "CCB", "POST", PATH, body)) == 422
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert _rejections() == ["malformed: held_amount_fen 100001 is above the ordered amount 100000"]


def test_a_held_amount_above_2_to_the_53_is_refused_as_malformed(
    client: TestClient, acknowledged_order: RestrictionOrder
) -> None:
    body = json.dumps(_raw_result(acknowledged_order, 2**53 + 1)).encode()
    assert _post(client, body, sign(bank_key("CCB"), "CCB", "POST", PATH, body)) == 422
    assert _state(acknowledged_order) is OrderState.ACKNOWLEDGED
    assert _rejections()[0].startswith("malformed") and "held_amount_fen" in _rejections()[0]


def test_one_malformed_item_of_a_batch_refuses_that_item_alone(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder]
) -> None:
    good, bad = two_acknowledged_orders
    results = [_raw_result(good, 1_000), _raw_result(bad, 2**53 + 1)]
    body = json.dumps({"type": "result_batch", "results": results}).encode()
    r = client.post(PATH, content=body, headers=sign(bank_key("CCB"), "CCB", "POST", PATH, body))
    assert r.status_code == 207
    assert [item.get("status", item.get("error")) for item in r.json()["results"]] == ["ok", "refused"]
    assert r.json()["results"][1]["reason"].startswith("malformed: results.1.held_amount_fen")
    assert [_state(o) for o in two_acknowledged_orders] == [OrderState.EXECUTED, OrderState.ACKNOWLEDGED]
    assert len(_rejections()) == 1


def test_one_item_of_a_batch_above_its_ordered_amount_refuses_that_item_alone(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder]
) -> None:
    good, bad = two_acknowledged_orders
    _ordered(bad, 500)
    body = json.dumps(
        {"type": "result_batch", "results": [_raw_result(good, 900), _raw_result(bad, 900)]}
    ).encode()
    r = client.post(PATH, content=body, headers=sign(bank_key("CCB"), "CCB", "POST", PATH, body))
    assert r.status_code == 207
    assert "above the ordered amount" in r.json()["results"][1]["reason"]
    assert [_state(o) for o in two_acknowledged_orders] == [OrderState.EXECUTED, OrderState.ACKNOWLEDGED]


def test_a_batch_that_fails_to_record_together_is_recorded_one_by_one(
    client: TestClient, two_acknowledged_orders: list[RestrictionOrder], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, batch: object) -> object:
        raise RuntimeError("one bad item the checks missed")

    monkeypatch.setattr(ResultWriter, "_record_together", broken)
    body = _batch(two_acknowledged_orders)
    r = client.post(PATH, content=body, headers=sign(bank_key("CCB"), "CCB", "POST", PATH, body))
    assert r.status_code == 200, r.text
    assert [_state(o) for o in two_acknowledged_orders] == [OrderState.EXECUTED, OrderState.EXECUTED]
