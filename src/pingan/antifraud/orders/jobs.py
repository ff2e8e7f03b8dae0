"""Background work of the stop-payment robot (`pingan robot run`).

- The outbox sender delivers each queued bank message. A row is marked in flight and committed
  before the HTTP call; a row found in flight after a crash, and every retry of a request, is first
  asked about (`inquire`) and only sent again when the bank never received it. With the bank's
  deduplication on the idempotency key, this is what makes an order reach its bank exactly once
  even when this process is killed between commit and send.
- Several senders may run against one PostgreSQL database: each claims its messages with
  `SELECT ... FOR UPDATE SKIP LOCKED` under a lease (`claimed_by`, `lease_until`), so no two
  senders hold one message; the messages of a sender killed mid-batch go back to the queue when its
  lease runs out, and whoever takes them asks the bank first.
- Failures are retried with exponential backoff and jitter; a per-bank circuit breaker holds a
  failing bank's messages back (and raises an alert) so that the other banks are not slowed.
- A poll asks the bank about acknowledged orders whose result callback has not arrived.
- Maintenance renews stop-payments before they run out, expires those that did, alerts ahead of
  freeze expiry and on overdue releases, and sweeps reports whose event handler never ran.
"""

from __future__ import annotations

import os
import queue
import random
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.orm import Session

from pingan.antifraud.banks.adapter import BankAdapter, CircuitBreaker, PermanentBankError, TransientBankError
from pingan.antifraud.banks.protocol import (
    MAX_BATCH,
    Acknowledgement,
    LegalBasisWire,
    OrderKindWire,
    OrderRequest,
    OrderResult,
    ReleaseRequest,
)
from pingan.antifraud.orders import actions, robot, rules
from pingan.antifraud.orders.choices import (
    AlertKind,
    BasisKind,
    MessageType,
    OrderKind,
    OrderState,
    OutboxStatus,
)
from pingan.antifraud.orders.model import BankOutbox, PoliceFinding, RestrictionOrder
from pingan.core import bulk, clock
from pingan.core.db import get_engine, transaction
from pingan.core.errors import DomainError
from pingan.core.logging import get_logger
from pingan.core.pii import PiiKind, decrypt
from pingan.core.roles import Actor
from pingan.core.settings import BankSettings

log = get_logger("robot.jobs")
SENDER = Actor.system("robot")
# A message still undelivered after this long is given up and its order marked failed for an analyst.
GIVE_UP_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Job:
    """One message to deliver (or one order to ask about)."""

    outbox_id: int | None
    order_id: int
    bank_code: str
    idempotency_key: str
    message: OrderRequest | ReleaseRequest | None
    inquire_first: bool


@dataclass(frozen=True)
class Outcome:
    """What came back for a job."""

    job: Job
    kind: Literal["ack", "result", "unknown", "transient", "permanent"]
    ack: Acknowledgement | None = None
    result: OrderResult | None = None
    error: str = ""
    # Whether a failure counts against the bank's circuit breaker: a failed batch counts once, not
    # once per order in it, and a batch the bank refused as a whole says nothing about its health.
    counts_for_breaker: bool = True


class RobotWorker:
    """The sender, poller and maintenance loop, in one process."""

    def __init__(
        self,
        adapter: BankAdapter,
        settings: BankSettings,
        *,
        batch: int = 200,
        tick_s: float = 0.02,
        poll_after_s: float = 5.0,
        maintenance_every_s: float = 2.0,
        name: str | None = None,
    ) -> None:
        self.adapter = adapter
        # The sender's name on its claims: unique among the running senders (host and process by
        # default). One restarted under the same name takes its earlier claims back at once.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.settings = settings
        self.batch = batch
        self.tick_s = tick_s
        self.poll_after = timedelta(seconds=poll_after_s)
        self.maintenance_every_s = maintenance_every_s
        self.breakers: dict[str, CircuitBreaker] = defaultdict(
            lambda: CircuitBreaker(settings.breaker_failures, settings.breaker_open_s)
        )
        self.pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="bank")
        self.results: queue.Queue[Outcome] = queue.Queue()
        self.in_flight: set[int] = set()
        self.polling: set[int] = set()
        self._rng = random.Random()  # noqa: S311 - retry jitter, not a secret
        self._skip_locked = get_engine().dialect.name == "postgresql"

    # ---- claiming --------------------------------------------------------------------------

    def recover_in_doubt(self, *, starting: bool = True) -> int:
        """Rows left in flight by a dead sender (an expired lease, or, when `starting`, this sender's
        own name from before a restart): their fate is unknown, so they are asked about first.
        Another live sender's claims are left alone."""
        with transaction() as session:
            count = actions.do_requeue_in_flight(session, sender=self.name if starting else None)
        if count:
            log.info("recovered in-doubt messages", count=count)
        return count

    def _message(
        self, session: Session, message_type: MessageType, key: str, order_id: int
    ) -> OrderRequest | ReleaseRequest:
        """The message of an outbox row that needs more than its order's columns (a release's
        reason, a renewal's predecessor), looked up in the claim's transaction."""
        order = actions.get_order(session, order_id)
        if message_type is MessageType.RELEASE:
            return ReleaseRequest(
                idempotency_key=key,
                order_key=order.idempotency_key,
                bank_code=order.bank_code,
                reason=(order.events[-1].note if order.events else "release")[:255] or "release",
            )
        finding = session.get(PoliceFinding, order.finding_id) if order.finding_id else None
        renews = session.get(RestrictionOrder, order.renews_order_id) if order.renews_order_id else None
        return self._request(
            _OrderView.of(order),
            _FindingView.of(finding) if finding is not None else None,
            renews.idempotency_key if renews is not None else None,
        )

    def _request(self, order: _OrderView, finding: _FindingView | None, renews: str | None) -> OrderRequest:
        """The bank request for an order (its number decrypted), from what is loaded already."""
        basis = (
            LegalBasisWire(
                kind="finding",
                reference=f"finding:{finding.id}:{finding.case_ref}",
                approved_by=finding.decided_by,
                article=finding.legal_basis,
            )
            if order.basis_kind is BasisKind.FINDING and finding is not None
            else LegalBasisWire(
                kind="report", reference=f"report:{order.report_id}", article=rules.ARTICLE_REPORT
            )
        )
        assert order.expires_at is not None
        return OrderRequest(
            idempotency_key=order.idempotency_key,
            order_id=order.id,
            bank_code=order.bank_code,
            kind=OrderKindWire(order.kind.value),
            account_number=decrypt(PiiKind.CARD, order.account_cipher),
            amount_fen=order.amount_fen,
            expires_at=order.expires_at,
            renews=renews,
            basis=basis,
            callback_url=self.settings.callback_url,
        )

    def claim(self) -> list[Job]:
        """Mark due messages in flight (committed before any is sent) and return them as jobs.

        Read as plain rows, three queries (outbox, orders, findings): as mapped objects the loads
        were most of the claim (cProfile), and the claim holds SQLite's write lock.
        """
        allowance = {bank: b.allows() for bank, b in self.breakers.items()}
        blocked = [bank for bank, n in allowance.items() if n == 0]
        probes = {bank for bank, n in allowance.items() if n == 1}
        jobs: list[Job] = []
        ob = _OUTBOX
        with transaction() as session:
            q = (
                select(ob.c.id, ob.c.order_id, ob.c.message_type, ob.c.idempotency_key, ob.c.bank_code)
                .add_columns(ob.c.attempts, ob.c.inquiries)
                .where(ob.c.status == OutboxStatus.PENDING, ob.c.next_attempt_at <= clock.now())
                .order_by(ob.c.id)
                .limit(self.batch)
            )
            if blocked:
                q = q.where(ob.c.bank_code.not_in(blocked))
            if self._skip_locked:
                q = q.with_for_update(skip_locked=True)
            probed: set[str] = set()
            rows = list(session.execute(q))
            orders = _order_views(session, {r.order_id for r in rows})
            findings = _finding_views(
                session, {o.finding_id for o in orders.values() if o.finding_id is not None}
            )
            now = clock.now()
            claimed: list[actions.OutboxClaim] = []
            moves: list[actions.Move] = []
            later: list[tuple[int, str, str, _OrderView, bool]] = []
            for row in rows:
                if row.bank_code in probes:
                    if row.bank_code in probed:
                        continue
                    probed.add(row.bank_code)
                order = orders[row.order_id]
                inquire_first = row.message_type is MessageType.REQUEST and row.attempts > 0
                claimed.append(actions.OutboxClaim(row.id, row.attempts + 1, row.inquiries + inquire_first))
                if row.message_type is MessageType.REQUEST:
                    move = actions.plan_sent(order.id, order.state, actor=SENDER, now=now)
                    if move is not None:
                        moves.append(move)
                simple = (
                    row.message_type is MessageType.REQUEST
                    and order.renews_order_id is None
                    and (order.finding_id is None or order.finding_id in findings)
                )
                if simple:  # its request is built after the commit, off SQLite's write lock
                    later.append((row.id, row.bank_code, row.idempotency_key, order, inquire_first))
                    continue
                message = self._message(session, row.message_type, row.idempotency_key, order.id)
                jobs.append(Job(row.id, order.id, row.bank_code, row.idempotency_key, message, inquire_first))
            lease = actions.Lease(self.name, now + timedelta(seconds=self.settings.lease_s))
            actions.do_claim_messages(session, claimed, moves, lease)
        # Decrypting numbers and building messages needs nothing from the database: done after the
        # commit (measured: 40% of the claim transaction, held under SQLite's one write lock).
        for outbox_id, bank, key, order, inquire_first in later:
            finding = findings.get(order.finding_id) if order.finding_id is not None else None
            message = self._request(order, finding, None)
            jobs.append(Job(outbox_id, order.id, bank, key, message, inquire_first))
        jobs.sort(key=lambda j: j.outbox_id or 0)
        for bank in probes - {j.bank_code for j in jobs}:
            self.breakers[bank].probing = False  # nothing to probe with; try again next tick
        return jobs

    def dispatch(self, jobs: list[Job]) -> None:
        """Hand jobs to the thread pool; each puts its outcome on the results queue.

        First requests to one bank go together, up to `MAX_BATCH` a message (`RequestBatch`); an
        inquiry, a retry (asked about first) and a release go alone.
        """
        by_bank: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            if job.outbox_id is not None:
                self.in_flight.add(job.outbox_id)
            if isinstance(job.message, OrderRequest) and not job.inquire_first:
                by_bank[job.bank_code].append(job)
            else:
                self.pool.submit(self._run_job, job)
        for group in by_bank.values():
            for i in range(0, len(group), MAX_BATCH):
                chunk = group[i : i + MAX_BATCH]
                if len(chunk) == 1:
                    self.pool.submit(self._run_job, chunk[0])
                else:
                    self.pool.submit(self._run_batch, chunk)

    def _run_batch(self, jobs: list[Job]) -> None:
        requests = [job.message for job in jobs if isinstance(job.message, OrderRequest)]
        try:
            acks = self.adapter.send_requests(jobs[0].bank_code, requests)
        except TransientBankError as exc:
            # The answer was lost: the bank may hold any of them, so each is asked about before it
            # is sent again, alone. The bank failed once, not once per order.
            for i, job in enumerate(jobs):
                self.results.put(Outcome(job, "transient", error=str(exc), counts_for_breaker=i == 0))
            return
        except PermanentBankError as exc:
            # The bank refused the batch as a whole (one malformed request, say): each is tried alone,
            # so that only the bad one fails.
            for job in jobs:
                self.results.put(Outcome(job, "transient", error=str(exc), counts_for_breaker=False))
            return
        except Exception as exc:  # a bug must not kill the sender; the messages are retried alone
            log.exception("bank batch failed", bank=jobs[0].bank_code, count=len(jobs))
            for i, job in enumerate(jobs):
                error = f"{type(exc).__name__}: {exc}"
                self.results.put(Outcome(job, "transient", error=error, counts_for_breaker=i == 0))
            return
        for job, ack in zip(jobs, acks, strict=True):
            self.results.put(Outcome(job, "ack", ack=ack))

    def _run_job(self, job: Job) -> None:
        try:
            if job.inquire_first or job.message is None:
                found = self.adapter.inquire(job.bank_code, job.idempotency_key)
                if found is not None:
                    self.results.put(Outcome(job, "result", result=found))
                    return
                if job.message is None:
                    self.results.put(Outcome(job, "unknown"))
                    return
            if isinstance(job.message, OrderRequest):
                ack = self.adapter.send_request(job.message)
            else:
                ack = self.adapter.send_release(job.message)
            self.results.put(Outcome(job, "ack", ack=ack))
        except TransientBankError as exc:
            self.results.put(Outcome(job, "transient", error=str(exc)))
        except PermanentBankError as exc:
            self.results.put(Outcome(job, "permanent", error=str(exc)))
        except Exception as exc:  # a bug in one job must not kill the sender; the message is retried
            log.exception("bank job failed", order_id=job.order_id)
            self.results.put(Outcome(job, "transient", error=f"{type(exc).__name__}: {exc}"))

    # ---- recording -------------------------------------------------------------------------

    def record(self, max_items: int = 1000, *, wait_s: float = 0.0) -> int:
        """Write the outcomes waiting on the queue (waiting up to `wait_s` for a first one), in one transaction.

        Should the transaction fail, the outcomes go back on the queue to be written next time: a
        lost outcome would leave its message in flight until the robot restarts.
        """
        outcomes: list[Outcome] = []
        try:
            outcomes.append(self.results.get(timeout=wait_s) if wait_s > 0 else self.results.get_nowait())
        except queue.Empty:
            return 0
        while len(outcomes) < max_items:
            try:
                outcomes.append(self.results.get_nowait())
            except queue.Empty:
                break
        try:
            with transaction() as session:
                self._record_outcomes(session, outcomes)
        except BaseException:
            for o in outcomes:
                self.results.put(o)
            raise
        for o in outcomes:
            if o.job.outbox_id is not None:
                self.in_flight.discard(o.job.outbox_id)
            else:
                self.polling.discard(o.job.order_id)
        return len(outcomes)

    def _breaker_event(self, session: Session, bank: str, *, ok: bool) -> None:
        breaker = self.breakers[bank]
        if ok:
            if breaker.record_success():
                actions.do_resolve_alerts(session, AlertKind.BANK_DOWN, f"bank:{bank}")
                log.info("bank recovered", bank=bank)
        elif breaker.record_failure():
            actions.do_raise_alert(
                session,
                AlertKind.BANK_DOWN,
                f"bank:{bank}",
                f"{bank} is not answering; its orders wait behind the circuit breaker",
            )
            log.warning("bank circuit opened", bank=bank)

    def _record_outcomes(self, session: Session, outcomes: list[Outcome]) -> None:
        """Write a batch of outcomes: a statement per kind of change, not per message (see `do_move_orders`)."""
        outbox_ids = {o.job.outbox_id for o in outcomes if o.job.outbox_id is not None}
        rows = (
            {
                r.id: r
                for r in session.execute(
                    select(
                        _OUTBOX.c.id,
                        _OUTBOX.c.message_type,
                        _OUTBOX.c.attempts,
                        _OUTBOX.c.created_at,
                        _OUTBOX.c.claimed_by,
                    ).where(bulk.any_of(session, _OUTBOX.c.id, outbox_ids))
                )
            }
            if outbox_ids
            else {}
        )
        locked = session.execute(
            # Locked, in id order: a bank callback recording a result for one of these orders
            # waits for this commit (and then reads the new state) instead of failing its
            # guarded update, and the two cannot deadlock (PostgreSQL; SQLite has one writer).
            select(RestrictionOrder.id, RestrictionOrder.state, RestrictionOrder.amount_fen)
            .where(bulk.any_of(session, RestrictionOrder.id, {o.job.order_id for o in outcomes}))
            .order_by(RestrictionOrder.id)
            .with_for_update()
        ).all()
        states: dict[int, OrderState] = {oid: state for oid, state, _ in locked}
        ordered: dict[int, int | None] = {oid: amount for oid, _, amount in locked}
        now = clock.now()
        delivered: list[int] = []
        retry: list[actions.OutboxRetry] = []
        moves: dict[int, actions.Move] = {}
        for o in outcomes:
            job = o.job
            row = rows.get(job.outbox_id) if job.outbox_id is not None else None
            if row is not None and row.claimed_by != self.name:
                # This sender's lease ran out and another sender took the message over: it records
                # its own answer (the bank deduplicated on the key), this one is dropped.
                continue
            if o.kind in ("transient", "permanent"):
                if o.counts_for_breaker:
                    self._breaker_event(session, job.bank_code, ok=False)
                if row is None:
                    continue
                if o.kind == "permanent" or now - clock.ensure_utc(row.created_at) > GIVE_UP_AFTER:
                    actions.do_give_up_message(session, row.id, error=o.error)
                    if row.message_type is MessageType.REQUEST:
                        actions.do_move_orders(session, list(moves.values()))
                        moves.clear()
                        order = actions.get_order(session, job.order_id)
                        actions.do_record_failure(session, order, reason=o.error[:200], actor=SENDER)
                        states[order.id] = order.state
                    continue
                delay = rules.backoff_delay(
                    row.attempts,
                    base_s=self.settings.backoff_base_s,
                    max_s=self.settings.backoff_max_s,
                    jitter=self._rng.random(),
                )
                retry.append(actions.OutboxRetry(row.id, now + timedelta(seconds=delay), o.error))
                continue
            self._breaker_event(session, job.bank_code, ok=True)
            if o.kind == "unknown":
                continue
            if row is not None:
                delivered.append(row.id)
                if row.message_type is MessageType.RELEASE:
                    continue
            if o.result is not None:
                try:
                    actions.check_held_amount(o.result, ordered_fen=ordered.get(job.order_id))
                except DomainError as exc:
                    # A bad answer changes nothing: it is logged, and the poll asks again.
                    actions.do_log_inbound_rejection(
                        session, bank_code=job.bank_code, path="inquiry", reason=f"malformed: {exc.message}"
                    )
                    continue
            move = self._plan(o, states.get(job.order_id), now)
            if move is None:
                continue
            if move.order_id in moves:  # a second answer for one order in this batch: the first goes first
                actions.do_move_orders(session, list(moves.values()))
                moves.clear()
                move = self._plan(o, states[job.order_id], now)
                if move is None:
                    continue
            moves[move.order_id] = move
            states[move.order_id] = move.target
        actions.do_record_deliveries(session, delivered, retry, at=now)
        actions.do_move_orders(session, list(moves.values()))

    @staticmethod
    def _plan(o: Outcome, state: OrderState | None, now: datetime) -> actions.Move | None:
        """The order's move for a bank answer (None when it changes nothing)."""
        if state is None:
            return None
        actor = Actor.system(f"bank:{o.job.bank_code}")
        oid = o.job.order_id
        if o.kind == "ack" and o.ack is not None:
            return actions.plan_ack(oid, state, o.ack, actor=actor, now=now)
        if o.result is None:
            return None
        if o.result.outcome == "pending":
            ack = Acknowledgement(
                idempotency_key=o.job.idempotency_key, bank_ref=o.result.bank_ref, status="accepted"
            )
            return actions.plan_ack(oid, state, ack, actor=actor, now=now)
        return actions.plan_result(oid, state, o.result, actor=actor, now=now)

    # ---- poll and maintenance --------------------------------------------------------------

    def poll(self, limit: int = 200) -> int:
        """Ask the banks about acknowledged orders whose result has not come back by callback."""
        with transaction() as session:
            rows = list(
                session.execute(
                    select(RestrictionOrder.id, RestrictionOrder.bank_code, RestrictionOrder.idempotency_key)
                    .where(
                        RestrictionOrder.state == OrderState.ACKNOWLEDGED,
                        RestrictionOrder.acknowledged_at < clock.now() - self.poll_after,
                    )
                    .order_by(RestrictionOrder.acknowledged_at)
                    .limit(limit)
                )
            )
        jobs = []
        for oid, bank, key in rows:
            if oid in self.polling or self.breakers[bank].is_open:
                continue
            self.polling.add(oid)
            jobs.append(Job(None, oid, bank, key, None, True))
        self.dispatch(jobs)
        return len(jobs)

    def maintain(self) -> None:
        """Renewals, expiries, freeze-expiry and overdue-release alerts, the report sweep, and the
        in-flight messages of senders whose lease ran out."""
        self.recover_in_doubt(starting=False)
        robot.sweep_reports()
        now = clock.now()
        with transaction() as session:
            # Only the orders that may need something now: every executed 48 h stop-payment is within
            # the freeze alert's 7 days, and loading them all every pass (measured: seconds per pass
            # at a few thousand orders, holding SQLite's write lock) starved the sender.
            due = session.execute(
                select(RestrictionOrder).where(
                    RestrictionOrder.state == OrderState.EXECUTED,
                    or_(
                        RestrictionOrder.expires_at <= now,
                        and_(
                            RestrictionOrder.kind == OrderKind.STOP_PAYMENT,
                            RestrictionOrder.expires_at <= now + rules.RENEWAL_LEAD,
                        ),
                        and_(
                            RestrictionOrder.kind == OrderKind.FREEZE,
                            RestrictionOrder.alerted_at.is_(None),
                            RestrictionOrder.expires_at <= now + rules.FREEZE_EXPIRY_ALERT_LEAD,
                        ),
                    ),
                )
            ).scalars()
            for order in list(due):
                actions.do_maintain_order(session, order, actor=SENDER)
            overdue = session.execute(
                select(RestrictionOrder).where(
                    RestrictionOrder.release_due_at < now, RestrictionOrder.live_key.is_not(None)
                )
            ).scalars()
            for order in list(overdue):
                actions.do_raise_alert(
                    session,
                    AlertKind.RELEASE_OVERDUE,
                    f"order:{order.id}",
                    f"order {order.id}: funds found unrelated, release was due {order.release_due_at:%Y-%m-%d %H:%M}",
                )

    # ---- the loop --------------------------------------------------------------------------

    def step(self) -> int:
        """One pass of the claimer: claim and dispatch due messages. Returns messages dispatched.

        The answers are written by the recorder thread (`run`), so that claiming the next messages
        and recording the last ones' answers overlap: one thread doing both, each a transaction, was
        busy 87 % of the time and held the sending back (py-spy, bench/stoppay.py on PostgreSQL).
        """
        if len(self.in_flight) >= self.settings.concurrency * MAX_BATCH // 4:
            return 0
        jobs = self.claim()
        self.dispatch(jobs)
        return len(jobs)

    def _record_until(self, finished: threading.Event) -> None:
        while True:
            try:
                if self.record(wait_s=self.tick_s) == 0 and finished.is_set() and self.results.empty():
                    return
            except Exception:  # a database hiccup: the outcomes went back on the queue
                log.exception("robot could not record bank answers")
                if finished.is_set():
                    return  # stopping: their messages stay in flight, asked about at the next start
                time.sleep(0.5)

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set: claim and send here, record the answers in a thread of their own."""
        self.recover_in_doubt()
        finished = threading.Event()
        # Two recorders on PostgreSQL, for the same reason as the second claimer below: recording
        # mostly waits for the server, and the orders each batch moves are locked in id order.
        recorders = [
            threading.Thread(target=self._record_until, args=(finished,), name=f"robot-recorder-{i}")
            for i in range(2 if self._skip_locked else 1)
        ]
        for r in recorders:
            r.start()
        # On PostgreSQL two more claimers work beside this loop (SKIP LOCKED gives each its own
        # rows): a claim spends most of its time waiting for the server (py-spy), up to 0.5 s for
        # 200 messages with the machine busy, and this loop also polls and maintains. With one extra
        # claimer drafted -> sent p99 was 0.63-0.97 s in bench/stoppay.py, with two 0.52-0.57 s.
        # On SQLite claims would only queue for the one writer.
        claimers = [
            threading.Thread(target=self._claim_until, args=(stop,), name=f"robot-claimer-{i}")
            for i in range(2 if self._skip_locked else 0)
        ]
        for c in claimers:
            c.start()
        next_poll = next_maint = 0.0
        try:
            while not stop.is_set():
                try:
                    sent = self.step()
                    t = time.monotonic()
                    if t >= next_poll:
                        self.poll()
                        next_poll = t + 1.0
                    if t >= next_maint:
                        self.maintain()
                        next_maint = t + self.maintenance_every_s
                except Exception:  # keep the robot alive through a database hiccup; the outbox keeps the work
                    log.exception("robot loop error")
                    time.sleep(0.5)
                    continue
                if not sent:
                    stop.wait(self.tick_s)
        finally:
            for c in claimers:
                c.join()
            self.pool.shutdown(wait=True)
            finished.set()
            for r in recorders:
                r.join()

    def _claim_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.step()
            except Exception:  # as in `run`: the outbox keeps the work
                log.exception("robot claimer error")
                stop.wait(0.5)
                continue
            if not sent:
                stop.wait(self.tick_s)


@dataclass(frozen=True)
class _OrderView:
    """The columns of an order that its bank request needs."""

    id: int
    state: OrderState
    kind: OrderKind
    basis_kind: BasisKind
    report_id: int | None
    finding_id: int | None
    bank_code: str
    account_cipher: str
    idempotency_key: str
    amount_fen: int | None
    expires_at: datetime | None
    renews_order_id: int | None

    @classmethod
    def of(cls, o: Any) -> _OrderView:
        """From a mapped order or a row of the same columns."""
        return cls(*(getattr(o, f) for f in _ORDER_FIELDS))


@dataclass(frozen=True)
class _FindingView:
    """The columns of a finding that a request's legal basis names."""

    id: int
    case_ref: str
    decided_by: str | None
    legal_basis: str

    @classmethod
    def of(cls, f: Any) -> _FindingView:
        """From a mapped finding or a row of the same columns."""
        return cls(f.id, f.case_ref, f.decided_by, f.legal_basis)


_ORDER_FIELDS = tuple(_OrderView.__dataclass_fields__)


def _order_views(session: Session, ids: set[int]) -> dict[int, _OrderView]:
    if not ids:
        return {}
    o = RestrictionOrder
    q = select(*(getattr(o, f) for f in _ORDER_FIELDS)).where(bulk.any_of(session, o.id, ids))
    return {row.id: _OrderView(*row) for row in session.execute(q)}


def _finding_views(session: Session, ids: set[int]) -> dict[int, _FindingView]:
    if not ids:
        return {}
    f = PoliceFinding
    q = select(f.id, f.case_ref, f.decided_by, f.legal_basis).where(bulk.any_of(session, f.id, ids))
    return {row.id: _FindingView(*row) for row in session.execute(q)}


_OUTBOX = cast(Table, BankOutbox.__table__)
