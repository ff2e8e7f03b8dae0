"""`pingan bank-sim`: a separate process playing every bank of the directory over the bank protocol.

It holds account balances and stops or freezes the amount it actually holds; answers after a
configurable latency; fails transiently, rejects with reasons, or goes down for a window when told;
counts the duplicate requests it receives (same idempotency key); and reports results to pingan's
signed callback endpoint. Run with `pingan bank-sim --port 8700`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from pingan.antifraud.banks.directory import BANKS_BY_CODE
from pingan.antifraud.banks.protocol import (
    MAX_BATCH,
    AckBatch,
    Acknowledgement,
    NonceCache,
    OrderRequest,
    OrderResult,
    RejectReason,
    ReleaseRequest,
    RequestBatch,
    ResultBatch,
    SignatureError,
    bank_key,
    sign,
    verify,
)
from pingan.core.settings import BankSettings, get_settings

# Connections bank-sim opens to pingan's callback endpoint, and callbacks it has in flight at once.
CALLBACK_CONNECTIONS = 32
_M = TypeVar("_M", bound=BaseModel)
REJECT_REASONS = (RejectReason.NAME_MISMATCH, RejectReason.ACCOUNT_CLOSED, RejectReason.INSUFFICIENT_BALANCE)


class SimConfig(BaseModel):
    """How the simulated banks behave; changeable at run time through `POST /admin/config`."""

    latency_ms: float = 50.0
    latency_sigma: float = 0.5
    result_delay_ms: float = 50.0
    error_rate: float = 0.0
    reject_rate: float = 0.0
    callback_loss_rate: float = 0.0
    callback_url: str | None = None
    seed: int | None = None


@dataclass
class SimOrder:
    """An order as a simulated bank holds it."""

    request: OrderRequest
    bank_ref: str
    ack: Acknowledgement
    result: OrderResult


@dataclass
class SimState:
    """Everything the simulator holds in memory."""

    config: SimConfig
    settings: BankSettings
    orders: dict[str, SimOrder] = field(default_factory=dict)
    received: int = 0
    duplicates: int = 0
    releases: int = 0
    inquiries: int = 0
    refused: list[str] = field(default_factory=list)
    callbacks_sent: int = 0
    callbacks_failed: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    down: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_bank: dict[str, int] = field(default_factory=dict)
    nonces: NonceCache = field(default_factory=NonceCache)
    rng: random.Random = field(default_factory=random.Random)


def default_balance(account_number: str) -> int:
    """A deterministic balance for an account nobody loaded: 0 to ¥50,000 in fen, zero for one in twenty."""
    h = int.from_bytes(hashlib.sha256(account_number.encode()).digest()[:8], "big")
    return 0 if h % 20 == 0 else h % 5_000_000


def _now() -> datetime:
    return datetime.now(UTC)


def create_sim_app(config: SimConfig, settings: BankSettings | None = None) -> FastAPI:
    """The bank simulator as an ASGI app."""
    st = SimState(config=config, settings=settings or get_settings().bank)
    if config.seed is not None:
        st.rng.seed(config.seed)
    app = FastAPI(title="pingan bank-sim", docs_url=None, redoc_url=None)
    app.state.sim = st
    client_holder: dict[str, httpx.AsyncClient] = {}
    # Callbacks in flight are bounded here, at the pool's size: httpcore re-assigns its whole queue
    # to its connections at every request and response (time: queued x connections), and with the
    # callbacks of a burst queued inside the pool that loop took 90 % of bank-sim's CPU (py-spy),
    # which slowed every bank's answers to pingan. Waiting on a semaphore costs nothing per waiter.
    callback_slots = asyncio.Semaphore(CALLBACK_CONNECTIONS)

    def signed_json(bank: str, path: str, model: BaseModel, status: int = 200) -> Response:
        body = model.model_dump_json().encode()
        headers = sign(bank_key(bank, st.settings), bank, "RESPONSE", path, body)
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    async def authenticate(request: Request, bank: str) -> bytes | Response:
        try:
            body = await request.body()
        except ClientDisconnect:
            # The client gave up (its timeout) while we were slow on purpose: nothing to answer.
            return Response(status_code=499)
        try:
            v = verify(dict(request.headers), request.method, request.url.path, body, settings=st.settings)
            if v.bank_code != bank:
                raise SignatureError("signed for another bank")
            st.nonces.check_and_add(v.nonce)
        except SignatureError as exc:
            st.refused.append(exc.reason)
            return JSONResponse({"error": "unauthorized", "reason": exc.reason}, status_code=401)
        return body

    def down_now(bank: str) -> Response | None:
        if bank not in BANKS_BY_CODE:
            return JSONResponse({"error": "unknown bank"}, status_code=404)
        start, end = st.down.get(bank, (0.0, 0.0))
        if start <= time.monotonic() < end:
            return JSONResponse({"error": "down for maintenance"}, status_code=503)
        return None

    async def latency_then_transient() -> Response | None:
        await asyncio.sleep(st.rng.lognormvariate(0, st.config.latency_sigma) * st.config.latency_ms / 1000)
        if st.rng.random() < st.config.error_rate:
            return JSONResponse({"error": "transient"}, status_code=503)
        return None

    async def unavailable(bank: str) -> Response | None:
        return down_now(bank) or await latency_then_transient()

    # Results waiting for their callback, by (callback URL, bank): a bank reports the results that
    # fall due together in one signed message (`ResultBatch`), as a bank's batch job would.
    due: dict[tuple[str, str], list[OrderResult]] = {}

    def callback(order: SimOrder) -> None:
        url = order.request.callback_url or st.config.callback_url
        if not url or st.rng.random() < st.config.callback_loss_rate:
            return  # the callback is lost; pingan's poll finds the result
        key = (url, order.request.bank_code)
        waiting = due.setdefault(key, [])
        waiting.append(order.result)
        if len(waiting) == 1:
            asyncio.get_running_loop().call_later(st.config.result_delay_ms / 1000, start_posting, key)

    posting: set[asyncio.Task[None]] = set()  # held, so that a task in flight is not collected

    def start_posting(key: tuple[str, str]) -> None:
        task = asyncio.ensure_future(post_results(key))
        posting.add(task)
        task.add_done_callback(posting.discard)

    async def post_results(key: tuple[str, str]) -> None:
        url, bank = key
        results = due.pop(key, [])
        for i in range(0, len(results), MAX_BATCH):
            await post_callback(url, bank, results[i : i + MAX_BATCH])

    async def post_callback(url: str, bank: str, results: list[OrderResult]) -> None:
        message: BaseModel = results[0] if len(results) == 1 else ResultBatch(results=results)
        body = message.model_dump_json().encode()
        headers = sign(bank_key(bank, st.settings), bank, "POST", httpx.URL(url).path, body)
        headers["Content-Type"] = "application/json"
        # One client for the process: `setdefault(..., AsyncClient())` built (and threw away) a client,
        # with its TLS context, per callback: measured with py-spy as most of bank-sim's CPU.
        client = client_holder.get("c")
        if client is None:
            client = client_holder["c"] = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=CALLBACK_CONNECTIONS)
            )
        async with callback_slots:
            try:
                r = await client.post(url, content=body, headers=headers, timeout=5)
                if r.status_code < 300:
                    st.callbacks_sent += len(results)
                    return
            except httpx.HTTPError:
                pass
        st.callbacks_failed += len(results)

    def decide(req: OrderRequest) -> tuple[Acknowledgement, OrderResult]:
        ref = f"{req.bank_code}-{secrets.token_hex(6)}"
        number = req.account_number
        balance = st.balances.setdefault(number, default_balance(number))
        reason: RejectReason | None = None
        if st.rng.random() < st.config.reject_rate:
            reason = st.rng.choice(REJECT_REASONS)
        elif req.kind == "freeze" and balance == 0:
            reason = RejectReason.INSUFFICIENT_BALANCE
        if reason is RejectReason.ACCOUNT_CLOSED:
            ack = Acknowledgement(
                idempotency_key=req.idempotency_key,
                bank_ref=ref,
                status="rejected",
                reason_code=reason,
                reason_text="账户已销户 account closed",
            )
            res = OrderResult(
                idempotency_key=req.idempotency_key,
                bank_ref=ref,
                bank_code=req.bank_code,
                outcome="rejected",
                reason_code=reason,
                reason_text=ack.reason_text,
                at=_now(),
            )
            return ack, res
        ack = Acknowledgement(idempotency_key=req.idempotency_key, bank_ref=ref, status="accepted")
        if reason is not None:
            text = {"name_mismatch": "户名不符 name mismatch", "insufficient_balance": "余额不足 no balance"}
            res = OrderResult(
                idempotency_key=req.idempotency_key,
                bank_ref=ref,
                bank_code=req.bank_code,
                outcome="rejected",
                reason_code=reason,
                reason_text=text.get(reason.value, reason.value),
                at=_now(),
            )
            return ack, res
        # Hold what is actually there: a stop-payment holds the whole balance, a freeze at most its amount.
        available = balance - st.held.get(number, 0)
        if req.renews and req.renews in st.orders:
            available += st.orders[req.renews].result.held_amount_fen
        amount = available if req.amount_fen is None else min(available, req.amount_fen)
        amount = max(0, amount)
        st.held[number] = st.held.get(number, 0) + amount
        if req.renews and req.renews in st.orders:
            st.held[number] -= st.orders[req.renews].result.held_amount_fen
        res = OrderResult(
            idempotency_key=req.idempotency_key,
            bank_ref=ref,
            bank_code=req.bank_code,
            outcome="executed",
            held_amount_fen=amount,
            at=_now(),
        )
        return ack, res

    def take(bank: str, req: OrderRequest) -> SimOrder:
        """Receive one request: the order first received under its key (a repeat is a duplicate)."""
        st.received += 1
        seen = st.orders.get(req.idempotency_key)
        if seen is not None:
            st.duplicates += 1
            return seen
        # The bank records the key as it receives the request, before its processing time: an inquiry
        # meanwhile finds the order (pending), where it answered 404 "never received" before, and
        # under load that made pingan send again a request the bank was still working on
        # (docs/bank-protocol.md: 404 is for a key the bank never received).
        ack, res = decide(req)
        order = SimOrder(req, ack.bank_ref, ack, res)
        st.orders[req.idempotency_key] = order
        st.by_bank[bank] = st.by_bank.get(bank, 0) + 1
        if ack.status == "accepted":
            callback(order)
        return order

    def malformed(exc: ValidationError) -> JSONResponse:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        return JSONResponse({"error": "malformed", "reason": f"{where}: {err['msg']}"}, status_code=422)

    async def admit(bank: str, request: Request, message: type[_M]) -> _M | Response:
        """The request's message, or the answer refusing it (bank down, bad signature, malformed)."""
        await request.body()  # read before the simulated latency, so a client that times out is seen as such
        down = down_now(bank)
        if down is not None:
            return down
        body = await authenticate(request, bank)
        if isinstance(body, Response):
            return body
        try:
            return message.model_validate_json(body)
        except ValidationError as exc:
            return malformed(exc)

    @app.post("/banks/{bank}/orders")
    async def receive_order(bank: str, request: Request) -> Response:
        req = await admit(bank, request, OrderRequest)
        if isinstance(req, Response):
            return req
        order = take(bank, req)
        # A transient error now is an answer lost after the bank acted, as at a real bank: the order
        # stands, its result is still called back, and pingan's inquiry before any resend finds it.
        lost = await latency_then_transient()
        return lost or signed_json(bank, request.url.path, order.ack)

    @app.post("/banks/{bank}/orders/batch")
    async def receive_orders(bank: str, request: Request) -> Response:
        batch = await admit(bank, request, RequestBatch)
        if isinstance(batch, Response):
            return batch
        if any(req.bank_code != bank for req in batch.requests):
            return JSONResponse(
                {"error": "malformed", "reason": "a request names another bank"}, status_code=422
            )
        acks = [take(bank, req).ack for req in batch.requests]
        # One processing time and one chance of a lost answer for the whole batch, as for one request.
        lost = await latency_then_transient()
        return lost or signed_json(bank, request.url.path, AckBatch(acks=acks))

    @app.get("/banks/{bank}/orders/{key}")
    async def inquire(bank: str, key: str, request: Request) -> Response:
        down = await unavailable(bank)
        if down is not None:
            return down
        body = await authenticate(request, bank)
        if isinstance(body, Response):
            return body
        st.inquiries += 1
        order = st.orders.get(key)
        if order is None or order.request.bank_code != bank:
            return signed_json(
                bank,
                request.url.path,
                Acknowledgement(idempotency_key=key, bank_ref="", status="rejected"),
                status=404,
            )
        result = order.result
        if (_now() - result.at).total_seconds() * 1000 < st.config.result_delay_ms:
            result = result.model_copy(update={"outcome": "pending", "held_amount_fen": 0})
        return signed_json(bank, request.url.path, result)

    @app.post("/banks/{bank}/releases")
    async def release(bank: str, request: Request) -> Response:
        down = await unavailable(bank)
        if down is not None:
            return down
        body = await authenticate(request, bank)
        if isinstance(body, Response):
            return body
        msg = ReleaseRequest.model_validate_json(body)
        order = st.orders.get(msg.order_key)
        if order is not None and order.result.outcome == "executed":
            number = order.request.account_number
            st.held[number] = max(0, st.held.get(number, 0) - order.result.held_amount_fen)
            order.result = order.result.model_copy(update={"outcome": "released", "at": _now()})
            st.releases += 1
        ack = Acknowledgement(
            idempotency_key=msg.idempotency_key, bank_ref=order.bank_ref if order else "", status="accepted"
        )
        return signed_json(bank, request.url.path, ack)

    @app.get("/admin/stats")
    async def stats() -> dict[str, Any]:
        return {
            "received": st.received,
            "unique": len(st.orders),
            "duplicates": st.duplicates,
            "releases": st.releases,
            "inquiries": st.inquiries,
            "refused": len(st.refused),
            "refused_reasons": st.refused[-20:],
            "callbacks_sent": st.callbacks_sent,
            "callbacks_failed": st.callbacks_failed,
            "by_bank": st.by_bank,
            "held_fen": sum(st.held.values()),
            "keys": list(st.orders),
        }

    @app.post("/admin/downtime")
    async def downtime(body: dict[str, Any]) -> dict[str, Any]:
        bank, seconds = str(body["bank"]), float(body["seconds"])
        after = float(body.get("after", 0.0))
        st.down[bank] = (time.monotonic() + after, time.monotonic() + after + seconds)
        return {"bank": bank, "down_for_s": seconds}

    @app.post("/admin/config")
    async def reconfigure(body: dict[str, Any]) -> dict[str, Any]:
        st.config = st.config.model_copy(update=body)
        return st.config.model_dump()

    @app.post("/admin/balances")
    async def balances(body: dict[str, int]) -> dict[str, int]:
        st.balances.update(body)
        return {"loaded": len(body)}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def run_sim(
    config: SimConfig, *, host: str, port: int, down: list[tuple[str, float, float]] | None = None
) -> None:
    """Serve the simulator until interrupted; `down` lists (bank, start after s, for s) windows."""
    import uvicorn

    app = create_sim_app(config)
    st: SimState = app.state.sim
    start = time.monotonic()
    for bank, after, length in down or []:
        st.down[bank] = (start + after, start + after + length)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
