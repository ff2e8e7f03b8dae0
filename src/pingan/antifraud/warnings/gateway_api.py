"""The endpoint where Kannel posts delivery reports (GET /sms-gateway/kannel/dlr).

It is a separate sub-application, mounted by the web app and exempt from role tokens, because Kannel
cannot log in: it calls back the dlr-url pingan gave it. Each such URL carries a token, the HMAC of
the message id under the DLR key (`sms_kannel.dlr_token`), so only URLs pingan wrote are accepted.
A DLR with a missing or bad token, an unknown message id, or an unknown type is refused, logged in
`warning_callback_rejection`, and changes nothing.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.retry import in_transaction
from pingan.antifraud.warnings.settings import warning_settings
from pingan.antifraud.warnings.sms_kannel import verify_dlr_token
from pingan.core.logging import get_logger
from pingan.core.roles import Actor

log = get_logger("warnings.gateway")
KANNEL = Actor.system("kannel")


def _refuse(request: Request, message_key: str | None, reason: str, status: int) -> JSONResponse:
    log.warning("gateway callback refused", path=request.url.path, message_key=message_key, reason=reason)
    remote = request.client.host if request.client else None
    in_transaction(
        lambda session: actions.do_log_callback_rejection(
            session, path=request.url.path, message_key=message_key, remote=remote, reason=reason
        )
    )
    return JSONResponse({"error": "refused", "reason": reason}, status_code=status)


def create_gateway_app() -> FastAPI:
    """The gateway-facing sub-application."""
    app = FastAPI(title="pingan SMS gateway callbacks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/kannel/dlr", response_model=None)
    def kannel_dlr(request: Request) -> PlainTextResponse | JSONResponse:
        q = request.query_params
        key, token, raw_type = q.get("mid"), q.get("t"), q.get("type", "")
        if not key or not token:
            return _refuse(request, key, "missing message id or token", 401)
        if not verify_dlr_token(warning_settings().dlr_key(), key, token):
            return _refuse(request, key, "bad signature", 401)
        if not raw_type.isdigit():
            return _refuse(request, key, f"malformed DLR type {raw_type!r}", 422)
        try:
            state = in_transaction(
                lambda session: (
                    actions.do_record_dlr(
                        session,
                        message_key=key,
                        dlr_type=int(raw_type),
                        answer=q.get("answer", ""),
                        source="kannel",
                        actor=KANNEL,
                    ).state.value
                )
            )
        except actions.CallbackRefused as exc:
            return _refuse(request, key, exc.reason, exc.status)
        return PlainTextResponse(f"ok {state}")

    return app
