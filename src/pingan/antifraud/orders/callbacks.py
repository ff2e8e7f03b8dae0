"""The signed endpoint where banks report results (POST /bank-interface/callbacks), one or a batch at a time.

It is a separate sub-application, mounted by the web app, because banks authenticate by the HMAC
signature of each message (docs/bank-protocol.md), not by a user's role token. Every refused
message (unsigned, badly signed, stale, replayed, malformed, or naming an unknown order) is stored
with its reason in `bank_inbound_rejection` and changes nothing else. So is a result whose held
amount is above the ordered amount or above 2^53 fen. A batch is never refused as a whole for one
bad item: each item is validated and recorded on its own, and only the bad one is refused.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pingan.antifraud.banks.protocol import (
    HEADER_BANK,
    MAX_BATCH,
    OrderResult,
    SignatureError,
    item_nonce,
    verify,
)
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.model import BankNonce, RestrictionOrder
from pingan.core import bulk, clock
from pingan.core.db import transaction
from pingan.core.errors import DomainError
from pingan.core.logging import get_logger
from pingan.core.roles import Actor
from pingan.core.settings import get_settings

log = get_logger("bank.callbacks")


def _refuse(bank: str | None, path: str, reason: str, status: int) -> JSONResponse:
    log.warning("bank message refused", bank=bank, path=path, reason=reason)
    with transaction() as session:
        actions.do_log_inbound_rejection(session, bank_code=bank, path=path, reason=reason)
    return JSONResponse({"error": "refused", "reason": reason}, status_code=status)


@dataclass(frozen=True)
class _Verified:
    """A signed, well-formed result waiting to be recorded."""

    bank_code: str
    nonce: str
    path: str
    result: OrderResult


class ResultWriter:
    """Records verified results in batches: one transaction, and one commit, for all that are waiting.

    Every answer is a write and SQLite has one writer: one transaction per callback put 40 request
    threads in a queue for the write lock (measured under bench/stoppay.py: the callbacks held the
    whole thread pool and reports waited behind them). The batch's nonces and orders are looked up
    in one query each, and a replayed or unknown result is refused alone; each answer goes back only
    after the commit that holds it. Should another server process record one of the nonces between
    that lookup and this commit (a replay raced to both), the primary key fails the commit and the
    batch is recorded again one by one, a savepoint each, where only the replay is refused. Any
    other failure of the batch (a bad item the checks missed) takes the same path: a batch never
    fails as a whole because of one item.
    """

    MAX_BATCH = 500
    LINGER_S = 0.05

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[_Verified, Future[JSONResponse]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, item: _Verified) -> Future[JSONResponse]:
        """Queue a result; the future holds the answer to send once it is committed (or refused)."""
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bank-results", daemon=True)
                self._thread.start()
        fut: Future[JSONResponse] = Future()
        self._queue.put((item, fut))
        return fut

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Waits a moment for more before writing: results trickle in (a bank's batch job, each
            # bank on its own clock), and a transaction per few results made this writer the
            # largest holder of SQLite's write lock (bench/stoppay.py: 323 transactions of ~15
            # results, 12 ms each). A result is on no one's critical path; its order is stopped.
            deadline = time.monotonic() + self.LINGER_S
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                answers = self._record(batch)
            except Exception as exc:  # the whole batch failed to commit: each caller sees the error
                log.exception("bank results not recorded", count=len(batch))
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            for (_, fut), answer in zip(batch, answers, strict=True):
                fut.set_result(answer)

    def _record(self, batch: list[tuple[_Verified, Future[JSONResponse]]]) -> list[JSONResponse]:
        try:
            return self._record_together(batch)
        except IntegrityError:
            return self._record_one_by_one(batch)
        except Exception:
            log.exception("bank results batch failed; recording one by one", count=len(batch))
            return self._record_one_by_one(batch)

    def _record_together(self, batch: list[tuple[_Verified, Future[JSONResponse]]]) -> list[JSONResponse]:
        answers: list[JSONResponse] = []
        with transaction() as session:
            seen = set(
                session.execute(
                    select(BankNonce.nonce).where(
                        bulk.any_of(session, BankNonce.nonce, {v.nonce for v, _ in batch})
                    )
                ).scalars()
            )
            keys = {v.result.idempotency_key for v, _ in batch}
            o = RestrictionOrder
            rows = session.execute(
                # Locked in id order, as the robot's recorder locks them (see `RobotWorker`).
                select(o.id, o.idempotency_key, o.bank_code, o.state, o.amount_fen)
                .where(bulk.any_of(session, o.idempotency_key, keys))
                .order_by(o.id)
                .with_for_update()
            ).all()
            orders = {key: (oid, bank, state) for oid, key, bank, state, _ in rows}
            ordered = {key: amount for _, key, _, _, amount in rows}
            now = clock.now()
            nonces: list[str] = []
            moves: list[actions.Move] = []
            for v, _ in batch:
                if v.nonce in seen:
                    answers.append(
                        _refusal(session, v.bank_code, v.path, "replayed message: nonce seen before", 409)
                    )
                    continue
                found = orders.get(v.result.idempotency_key)
                if found is None or found[1] != v.bank_code:
                    answers.append(_refusal(session, v.bank_code, v.path, "no such order at this bank", 404))
                    continue
                try:
                    actions.check_held_amount(v.result, ordered_fen=ordered.get(v.result.idempotency_key))
                except DomainError as exc:
                    answers.append(_refusal(session, v.bank_code, v.path, f"malformed: {exc.message}", 422))
                    continue
                # The nonce row is the replay guard, here and across server processes.
                seen.add(v.nonce)
                nonces.append(v.nonce)
                oid, bank, state = found
                move = actions.plan_result(oid, state, v.result, actor=Actor.system(f"bank:{bank}"), now=now)
                if move is not None:
                    moves.append(move)
                    orders[v.result.idempotency_key] = (oid, bank, move.target)
                answers.append(JSONResponse({"status": "ok", "changed": move is not None}))
            actions.do_record_nonces(session, nonces)
            actions.do_move_orders(session, moves)
        return answers

    def _record_one_by_one(self, batch: list[tuple[_Verified, Future[JSONResponse]]]) -> list[JSONResponse]:
        answers: list[JSONResponse] = []
        with transaction() as session:
            for v, _ in batch:
                try:
                    with session.begin_nested():
                        # The nonce row is the replay guard: a second insert of the same nonce fails.
                        actions.do_record_nonces(session, [v.nonce])
                        order = actions.order_by_key(session, v.result.idempotency_key)
                        if order is None or order.bank_code != v.bank_code:
                            raise LookupError("no such order at this bank")
                        actions.check_held_amount(v.result, ordered_fen=order.amount_fen)
                        changed = actions.do_record_result(
                            session, order, v.result, actor=Actor.system(f"bank:{v.bank_code}")
                        )
                    answers.append(JSONResponse({"status": "ok", "changed": changed}))
                except IntegrityError:
                    answers.append(
                        _refusal(session, v.bank_code, v.path, "replayed message: nonce seen before", 409)
                    )
                except LookupError as exc:
                    answers.append(_refusal(session, v.bank_code, v.path, str(exc), 404))
                except DomainError as exc:
                    answers.append(
                        _refusal(session, v.bank_code, v.path, f"malformed: {exc.message}", exc.status)
                    )
                except Exception as exc:  # this item alone is refused; the others are recorded
                    log.exception("bank result not recorded", bank=v.bank_code)
                    answers.append(
                        _refusal(session, v.bank_code, v.path, f"not recorded: {type(exc).__name__}", 422)
                    )
        return answers


def _refusal(session: Session, bank: str | None, path: str, reason: str, status: int) -> JSONResponse:
    log.warning("bank message refused", bank=bank, path=path, reason=reason)
    actions.do_log_inbound_rejection(session, bank_code=bank, path=path, reason=reason)
    return JSONResponse({"error": "refused", "reason": reason}, status_code=status)


def create_callback_app() -> FastAPI:
    """The bank-facing sub-application."""
    app = FastAPI(title="pingan bank interface", docs_url=None, redoc_url=None, openapi_url=None)
    writer = ResultWriter()
    # Read once: building the settings reads the environment and `.env` (measured: 8 % of a server
    # process's busy time when it was built per callback).
    settings = get_settings().bank

    @app.post("/callbacks")
    async def receive_result(request: Request) -> JSONResponse:
        body = await request.body()
        # Verification is quick, but a refusal is written to the database: off the event loop.
        checked = await run_in_threadpool(_check, dict(request.headers), request.url.path, body)
        if isinstance(checked, JSONResponse):
            return checked
        # Recorded by the writer thread, in a batch; the event loop and the thread pool stay free.
        items, batch = checked
        # A refused item of a batch is answered at its position; the others wait for their commit.
        futures = [asyncio.wrap_future(writer.submit(i)) if isinstance(i, _Verified) else i for i in items]
        answers = [await f if isinstance(f, asyncio.Future) else f for f in futures]
        if not batch:
            return answers[0]
        # A batch: each result's answer at its position; 200 when every one was recorded.
        status = 200 if all(a.status_code == 200 for a in answers) else 207
        return JSONResponse(
            {
                "status": "ok" if status == 200 else "partial",
                "results": [json.loads(bytes(a.body)) for a in answers],
            },
            status_code=status,
        )

    def _check(
        headers: dict[str, str], path: str, body: bytes
    ) -> tuple[list[_Verified | JSONResponse], bool] | JSONResponse:
        claimed = headers.get(HEADER_BANK.lower())
        try:
            v = verify(headers, "POST", path, body, settings=settings)
        except SignatureError as exc:
            return _refuse(claimed, path, exc.reason, 401)
        try:
            message = _CALLBACK.validate_json(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            return _refuse(
                v.bank_code, path, f"malformed: {'.'.join(map(str, err['loc']))}: {err['msg']}", 422
            )
        if isinstance(message, OrderResult):
            if message.bank_code != v.bank_code:
                return _refuse(v.bank_code, path, "result names another bank than the signer", 403)
            return [_Verified(v.bank_code, v.nonce, path, message)], False
        # A signer speaking for another bank is no bad item but a bad sender: the whole batch goes.
        if any(raw.get("bank_code") != v.bank_code for raw in message.results):
            return _refuse(v.bank_code, path, "result names another bank than the signer", 403)
        # A batch: each item is validated alone, and a bad one is refused alone (logged, answered
        # at its position); the others are recorded.
        items: list[_Verified | JSONResponse] = []
        refused: list[tuple[str, int]] = []
        for i, raw in enumerate(message.results):
            try:
                result = OrderResult.model_validate(raw)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(map(str, ("results", i, *err["loc"])))
                refused.append((f"malformed: {where}: {err['msg']}", 422))
            else:
                items.append(_Verified(v.bank_code, item_nonce(v.nonce, i), path, result))
                continue
            reason, status = refused[-1]
            log.warning("bank message refused", bank=v.bank_code, path=path, reason=reason)
            items.append(JSONResponse({"error": "refused", "reason": reason}, status_code=status))
        if refused:
            with transaction() as session:
                for reason, _status in refused:
                    actions.do_log_inbound_rejection(session, bank_code=v.bank_code, path=path, reason=reason)
        return items, True

    return app


def _message_type(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "result"))
    return str(getattr(value, "type", "result"))


class _ResultItems(BaseModel):
    """A `ResultBatch` whose items are not validated yet: each is validated alone (`_check`)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["result_batch"] = "result_batch"
    results: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


# A callback carries one result, or several of one bank (`ResultBatch`), told apart by `type`
# (absent: one result, as `OrderResult` defaults it).
_CALLBACK: TypeAdapter[OrderResult | _ResultItems] = TypeAdapter(
    Annotated[
        Annotated[OrderResult, Tag("result")] | Annotated[_ResultItems, Tag("result_batch")],
        Discriminator(_message_type),
    ]
)
