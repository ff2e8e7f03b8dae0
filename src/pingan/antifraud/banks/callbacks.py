"""The signed endpoint where banks report results (POST /bank-interface/callbacks).

It is a separate sub-application, mounted by the web app, because banks authenticate by the HMAC
signature of each message (docs/bank-protocol.md), not by a user's role token. Every refused
message (unsigned, badly signed, stale, replayed, malformed, or naming an unknown order) is stored
with its reason in `bank_inbound_rejection` and changes nothing else.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from pingan.antifraud.banks.protocol import HEADER_BANK, OrderResult, SignatureError, bank_settings, verify
from pingan.antifraud.orders import actions
from pingan.antifraud.orders.model import BankNonce
from pingan.core import clock
from pingan.core.db import transaction
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

log = get_logger("bank.callbacks")


def _refuse(bank: str | None, path: str, reason: str, status: int) -> JSONResponse:
    log.warning("bank message refused", bank=bank, path=path, reason=reason)
    with transaction() as session:
        actions.do_log_inbound_rejection(session, bank_code=bank, path=path, reason=reason)
    return JSONResponse({"error": "refused", "reason": reason}, status_code=status)


def create_callback_app() -> FastAPI:
    """The bank-facing sub-application."""
    app = FastAPI(title="pingan bank interface", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/callbacks")
    async def receive_result(request: Request) -> JSONResponse:
        body = await request.body()
        # The database work blocks (on SQLite it waits for the write lock): keep it off the event loop,
        # which must stay free to finish the requests that hold that lock.
        return await run_in_threadpool(_handle, dict(request.headers), request.url.path, body)

    def _handle(headers: dict[str, str], path: str, body: bytes) -> JSONResponse:
        claimed = headers.get(HEADER_BANK.lower())
        try:
            v = verify(headers, "POST", path, body, settings=bank_settings())
        except SignatureError as exc:
            return _refuse(claimed, path, exc.reason, 401)
        try:
            result = OrderResult.model_validate_json(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            return _refuse(
                v.bank_code, path, f"malformed: {'.'.join(map(str, err['loc']))}: {err['msg']}", 422
            )
        if result.bank_code != v.bank_code:
            return _refuse(v.bank_code, path, "result names another bank than the signer", 403)
        try:
            with transaction() as session:
                # The nonce row is the replay guard: a second insert of the same nonce fails the whole write.
                session.add(BankNonce(nonce=v.nonce, seen_at=clock.now()))
                session.flush()
                order = actions.order_by_key(session, result.idempotency_key)
                if order is None or order.bank_code != v.bank_code:
                    raise LookupError("no such order at this bank")
                changed = actions.do_record_result(
                    session, order, result, actor=Actor.system(f"bank:{v.bank_code}")
                )
        except IntegrityError:
            return _refuse(v.bank_code, path, "replayed message: nonce seen before", 409)
        except LookupError as exc:
            return _refuse(v.bank_code, path, str(exc), 404)
        return JSONResponse({"status": "ok", "changed": changed})

    return app
