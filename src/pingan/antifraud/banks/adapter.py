"""One interface to every bank, the built-in HTTP+JSON adapter, and the per-bank circuit breaker.

The adapter makes one attempt per call; retries with exponential backoff and jitter are the
outbox sender's (`antifraud.jobs`), so that a waiting retry never holds a thread.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from pingan.antifraud.banks.protocol import (
    AckBatch,
    Acknowledgement,
    OrderRequest,
    OrderResult,
    ReleaseRequest,
    RequestBatch,
    SignatureError,
    bank_key,
    sign,
    verify,
)
from pingan.core.settings import BankSettings


class TransientBankError(Exception):
    """The bank did not answer usefully (timeout, connection refused, 5xx): try again later."""


class PermanentBankError(Exception):
    """The bank refused the message itself (4xx): sending it again will not help."""


class BankAdapter(Protocol):
    """What pingan needs from a bank."""

    def send_request(self, msg: OrderRequest) -> Acknowledgement:
        """Deliver an order request; the answer is the bank's acknowledgement."""
        ...

    def send_requests(self, bank_code: str, msgs: list[OrderRequest]) -> list[Acknowledgement]:
        """Deliver several order requests to one bank at once; one acknowledgement each, in order."""
        ...

    def send_release(self, msg: ReleaseRequest) -> Acknowledgement:
        """Deliver a release."""
        ...

    def inquire(self, bank_code: str, idempotency_key: str) -> OrderResult | None:
        """The bank's view of an order, or None when it never received it."""
        ...


class HttpBankAdapter:
    """The documented HTTP+JSON protocol (docs/bank-protocol.md), signed both ways."""

    def __init__(self, settings: BankSettings) -> None:
        self.settings = settings
        # One connection pool per bank, not one for all: httpcore's pool re-assigns its queue under
        # one lock at every request and response, in time quadratic in its connections, and the
        # sender's threads sharing one pool of ~100 connections spent most of their time waiting on
        # that lock (py-spy, bench/stoppay.py: 81 % of the bank threads' samples). A bank's pool
        # holds only the connections its own messages use; a slow bank no longer shares a queue.
        self._clients: dict[str, httpx.Client] = {}
        self._clients_lock = threading.Lock()
        # Loading the CA store is ~10 ms of CPU: done once, not once per bank's pool.
        self._ssl = httpx.create_ssl_context()

    def _client(self, bank_code: str) -> httpx.Client:
        client = self._clients.get(bank_code)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(bank_code)
                if client is None:
                    limits = httpx.Limits(
                        max_connections=self.settings.concurrency,
                        max_keepalive_connections=self.settings.concurrency,
                    )
                    client = httpx.Client(base_url=self.settings.base_url, limits=limits, verify=self._ssl)
                    self._clients[bank_code] = client
        return client

    def close(self) -> None:
        """Close the connection pools."""
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _timeout(self, bank_code: str) -> float:
        return self.settings.timeouts_s.get(bank_code, self.settings.timeout_s)

    def _call(self, bank_code: str, method: str, path: str, body: bytes) -> httpx.Response:
        headers = sign(bank_key(bank_code, self.settings), bank_code, method, path, body)
        headers["Content-Type"] = "application/json"
        try:
            r = self._client(bank_code).request(
                method, path, content=body, headers=headers, timeout=self._timeout(bank_code)
            )
        except httpx.HTTPError as exc:
            raise TransientBankError(f"{type(exc).__name__}: {exc}") from None
        if r.status_code >= 500 or r.status_code == 429:
            raise TransientBankError(f"HTTP {r.status_code}")
        if r.status_code != 404 and r.status_code >= 400:
            raise PermanentBankError(f"HTTP {r.status_code}: {r.text[:200]}")
        try:
            # Verify the bank's answer too: a forged acknowledgement would mark an order held that is not.
            signer = verify(dict(r.headers), "RESPONSE", path, r.content, settings=self.settings).bank_code
        except SignatureError as exc:
            raise TransientBankError(f"answer refused: {exc.reason}") from None
        if signer != bank_code:
            # Another bank's valid signature is no answer from this one.
            raise TransientBankError(
                f"answer refused: signed by {signer}, not by {bank_code}, the bank called"
            )
        return r

    def send_request(self, msg: OrderRequest) -> Acknowledgement:
        """POST /banks/{bank}/orders."""
        r = self._call(
            msg.bank_code, "POST", f"/banks/{msg.bank_code}/orders", msg.model_dump_json().encode()
        )
        return Acknowledgement.model_validate_json(r.content)

    def send_requests(self, bank_code: str, msgs: list[OrderRequest]) -> list[Acknowledgement]:
        """POST /banks/{bank}/orders/batch: the acknowledgements, checked to answer each request in order."""
        body = RequestBatch(requests=msgs).model_dump_json().encode()
        r = self._call(bank_code, "POST", f"/banks/{bank_code}/orders/batch", body)
        if r.status_code == 404:
            raise PermanentBankError(f"HTTP 404: {r.text[:200]}")
        acks = AckBatch.model_validate_json(r.content).acks
        if [a.idempotency_key for a in acks] != [m.idempotency_key for m in msgs]:
            # Not what was asked: treat as no answer, so that each order is asked about and resent alone.
            raise TransientBankError("batch answer does not acknowledge the requests in order")
        return acks

    def send_release(self, msg: ReleaseRequest) -> Acknowledgement:
        """POST /banks/{bank}/releases."""
        r = self._call(
            msg.bank_code, "POST", f"/banks/{msg.bank_code}/releases", msg.model_dump_json().encode()
        )
        return Acknowledgement.model_validate_json(r.content)

    def inquire(self, bank_code: str, idempotency_key: str) -> OrderResult | None:
        """GET /banks/{bank}/orders/{key}: None on 404 (the bank never received it)."""
        r = self._call(bank_code, "GET", f"/banks/{bank_code}/orders/{idempotency_key}", b"")
        if r.status_code == 404:
            return None
        return OrderResult.model_validate(json.loads(r.content))


@dataclass
class CircuitBreaker:
    """Per-bank breaker: after `threshold` consecutive failures it opens for `open_s`, then lets one probe through.

    While open, that bank's orders wait in the outbox instead of tying up threads on timeouts, so
    other banks are not slowed.
    """

    threshold: int
    open_s: float
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_open(self) -> bool:
        """True while failing (open, or half-open with its probe out)."""
        return self.opened_at is not None

    def allows(self, *, now: float | None = None) -> int:
        """How many messages may go now: unlimited (-1) when closed, 1 probe when half-open, else 0."""
        t = now if now is not None else time.monotonic()
        with self._lock:
            if self.opened_at is None:
                return -1
            if self.probing or t - self.opened_at < self.open_s:
                return 0
            self.probing = True
            return 1

    def record_success(self) -> bool:
        """A success closes the breaker; returns True when it was open."""
        with self._lock:
            was_open = self.opened_at is not None
            self.failures, self.opened_at, self.probing = 0, None, False
            return was_open

    def record_failure(self, *, now: float | None = None) -> bool:
        """Count a failure; returns True when this one opened (or re-opened) the breaker."""
        t = now if now is not None else time.monotonic()
        with self._lock:
            self.failures += 1
            if self.probing or (self.opened_at is None and self.failures >= self.threshold):
                self.opened_at, self.probing = t, False
                return True
            return False
