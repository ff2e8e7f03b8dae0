"""The endpoint where Kannel posts delivery reports (GET /sms-gateway/kannel/dlr).

It is a separate sub-application, mounted by the web app and exempt from role tokens, because Kannel
cannot log in: it calls back the dlr-url pingan gave it. Each such URL carries a token, the HMAC of
the message id and the URL's expiry under the DLR key (`sms_kannel.dlr_token`), so only URLs pingan
wrote are accepted, and only while the text can still get a report. The DLR type is filled in by
Kannel after signing, so reports are also accepted only from the gateway's addresses
(`PINGAN_WARNINGS_DLR_SOURCES`); `sms_kannel`'s docstring states what is left of the risk.
A DLR from another address, with a missing, bad or expired token, an unknown message id, or an
unknown type is refused, logged in `warning_callback_rejection`, and changes nothing.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from pingan.antifraud.warnings import actions
from pingan.antifraud.warnings.choices import MessageState
from pingan.antifraud.warnings.retry import in_transaction
from pingan.antifraud.warnings.sms_kannel import verify_dlr_token
from pingan.core import clock
from pingan.core.logging import get_logger
from pingan.core.roles import Actor
from pingan.core.settings import WarningSettings, get_settings

log = get_logger("warnings.gateway")
KANNEL = Actor.system("kannel")


@lru_cache(maxsize=256)
def dlr_source_allowed(networks: tuple[IPv4Network | IPv6Network, ...], remote: str | None) -> bool:
    """True when `remote` (the caller's address) is inside one of `networks` (cached: a gateway calls
    from a handful of addresses)."""
    if remote is None:
        return False
    try:
        address = ip_address(remote)
    except ValueError:
        return False
    return any(address in n for n in networks)


def _log_refusal(path: str, message_key: str | None, remote: str | None, reason: str) -> None:
    in_transaction(
        lambda session: actions.do_log_callback_rejection(
            session, path=path, message_key=message_key, remote=remote, reason=reason
        )
    )


async def _refuse(request: Request, message_key: str | None, reason: str, status: int) -> JSONResponse:
    log.warning("gateway callback refused", path=request.url.path, message_key=message_key, reason=reason)
    remote = request.client.host if request.client else None
    await asyncio.to_thread(_log_refusal, request.url.path, message_key, remote, reason)
    return JSONResponse({"error": "refused", "reason": reason}, status_code=status)


DlrOutcome = MessageState | actions.CallbackRefused


class DlrBatcher:
    """Applies delivery reports in batched transactions (group commit) and answers each after its commit.

    Kannel posts two reports per text (SMSC accepted, then delivered); one transaction each, every
    one with its audit entry, made the DLR endpoint the bottleneck on SQLite's single writer (43
    texts/s in bench/channels.py). Reports that arrive while a batch is being written wait and go
    into the next one, so a lone report is written at once and a flood is written hundreds at a
    time. Kannel gets its answer only after the batch committed; if the batch fails it gets a 503
    and retries the report (smsbox `http-request-retry`), so no report is lost.
    """

    def __init__(self, *, max_batch: int = 500) -> None:
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[actions.Dlr, asyncio.Future[DlrOutcome]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, dlr: actions.Dlr) -> DlrOutcome:
        """Queue one report and wait until its batch is committed; returns the message's state or the refusal."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._worker is None or self._worker.done() or self._loop is not loop:
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(self._queue))
        future: asyncio.Future[DlrOutcome] = loop.create_future()
        await self._queue.put((dlr, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[actions.Dlr, asyncio.Future[DlrOutcome]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            dlrs = [d for d, _ in batch]
            try:
                outcomes = await asyncio.to_thread(
                    in_transaction,
                    lambda session, dlrs=dlrs: actions.do_record_dlrs(
                        session, dlrs, source="kannel", actor=KANNEL
                    ),
                )
            except Exception as exc:  # the batch rolled back whole: every sender is told to retry
                log.exception("writing a batch of delivery reports failed", n=len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


class GatewayApp:
    """The gateway-facing ASGI application: GET /kannel/dlr, and 404 for anything else.

    A bare ASGI callable rather than a FastAPI sub-application: Kannel posts two reports per text,
    and FastAPI's middleware, dependency and routing layers cost about 0.6 ms of CPU a report
    (py-spy --gil in bench/channels.py), as much as applying the report itself. The query string
    is all there is to parse.
    """

    def __init__(self, *, prefix: str = "") -> None:
        self.batcher = DlrBatcher()
        self.prefix = prefix.rstrip("/")
        self._networks: dict[str, tuple[IPv4Network | IPv6Network, ...]] = {}
        self._key: tuple[WarningSettings, bytes] | None = None

    def _dlr_key(self) -> bytes:
        """The DLR key of the current settings, derived once per settings object."""
        settings = get_settings().warnings
        if self._key is None or self._key[0] is not settings:
            self._key = (settings, settings.dlr_key())
        return self._key[1]

    def _sources(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The allowed gateway networks, parsed once per settings value."""
        settings = get_settings().warnings
        if settings.dlr_sources not in self._networks:
            self._networks[settings.dlr_sources] = settings.dlr_networks()
        return self._networks[settings.dlr_sources]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (lifespan events are not forwarded to a mounted app)."""
        if scope["type"] != "http":
            return
        root, path = scope.get("root_path", ""), scope["path"]
        if root and path.startswith(root):
            path = path[len(root) :]
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        if path != "/kannel/dlr":
            response: Response = JSONResponse({"error": "not found"}, status_code=404)
        elif scope["method"] not in ("GET", "HEAD"):
            response = JSONResponse({"error": "method not allowed"}, status_code=405)
        else:
            response = await self.kannel_dlr(Request(scope))
        await response(scope, receive, send)

    async def kannel_dlr(self, request: Request) -> Response:
        """Verify one DLR's token and apply it in the next batch; Kannel gets its answer after the commit."""
        # The query parsed once, straight from the scope; the key derived once per settings: Starlette's
        # QueryParams and URL objects and the per-request key derivation were a quarter of the
        # endpoint's own CPU (py-spy --gil, bench/channels.py).
        q = dict(urllib.parse.parse_qsl(request.scope.get("query_string", b"").decode("latin-1")))
        key, token, raw_type, raw_exp = q.get("mid"), q.get("t"), q.get("type", ""), q.get("exp", "")
        remote = request.client.host if request.client else None
        if not dlr_source_allowed(self._sources(), remote):
            return await _refuse(request, key, "not from a gateway address", 403)
        if not key or not token or not raw_exp.isdigit():
            return await _refuse(request, key, "missing message id, expiry or token", 401)
        if not verify_dlr_token(self._dlr_key(), key, int(raw_exp), token):
            return await _refuse(request, key, "bad signature", 401)
        if int(raw_exp) < clock.now().timestamp():
            return await _refuse(request, key, "expired dlr-url", 401)
        if not raw_type.isdigit():
            return await _refuse(request, key, f"malformed DLR type {raw_type!r}", 422)
        dlr = actions.Dlr(
            message_key=key,
            dlr_type=int(raw_type),
            answer=q.get("answer", ""),
            path=request.scope["path"],
            remote=remote,
        )
        try:
            outcome = await self.batcher.submit(dlr)
        except Exception:
            return JSONResponse({"error": "not recorded, retry"}, status_code=503)
        if isinstance(outcome, actions.CallbackRefused):
            log.warning("gateway callback refused", path=dlr.path, message_key=key, reason=outcome.reason)
            return JSONResponse({"error": "refused", "reason": outcome.reason}, status_code=outcome.status)
        return PlainTextResponse(f"ok {outcome.value}")


def create_gateway_app(*, prefix: str = "") -> GatewayApp:
    """The gateway-facing sub-application, to be mounted at /sms-gateway; or, with `prefix`
    "/sms-gateway", served on its own (`pingan warnings gateway`) at the same URLs."""
    return GatewayApp(prefix=prefix)
