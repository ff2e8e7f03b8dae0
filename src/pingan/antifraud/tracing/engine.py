"""The trace walk (资金追踪): follow seed transfers forward in time through the index.

Only accounts that hold traced money are walked. Their ledger entries are merged in global time order
(a heap keyed by transfer position, the debit side of a transfer before its credit side), so a credit
always sees what the payer's purse attributed to that very transfer, and money only moves forward in
time: a cycle A → B → A just walks A's later entries, and the walk ends at the window's end (one
window after the last seed).

An account's purse opens with the balance the store implies at that moment (its implied opening plus
its net flow so far, as `TraceIndex.balance_before`), untraced. When a FIFO/LIFO purse holds no traced
money the account is put aside; if traced money reaches it again, its purse is re-based on the store's
balance and the walk resumes.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np

from pingan.antifraud.tracing.index import TraceIndex
from pingan.antifraud.tracing.rules import (
    FreezeRecommendation,
    Method,
    Purse,
    TracedAccount,
    new_purse,
    recommend_freeze,
)
from pingan.antifraud.tracing.store import CASHOUT_NAMES, NOT_CASHOUT

_BEIJING = timezone(timedelta(hours=8))
_US = 1_000_000
_SEED = -1  # ledger index of a heap entry that injects a seed transfer


@dataclass(frozen=True)
class Limits:
    """How far a trace goes: transfers from a seed, time after each seed, smallest amount followed.

    The walk ends one window after the last seed: a report's later payments (an escalating scam pays
    over days) get the whole window too, and no seed's money is cut off before it moved.
    """

    max_hops: int = 6
    window: timedelta = timedelta(hours=72)
    min_fen: int = 100_00  # 100 yuan: below it, a bank will not act on a freeze


@dataclass
class AccountFlow:
    """Traced money at one account."""

    account: int
    hop: int
    traced_in: int = 0
    traced_out: int = 0
    held: int = 0
    followed: bool = True
    cashout: str = ""  # set when the account is a cash-out point (merchant, OTC dealer)
    parked: int = 0  # traced money that reached it beyond the hop limit, not walked: held here
    below_min: int = 0  # traced money that reached it in parts below the minimum amount, not followed


@dataclass(frozen=True)
class TracedTransfer:
    """A transfer that carried traced money."""

    tx_id: int
    ts: datetime
    payer: int
    payee: int | None  # None: cash left the banks (ATM)
    amount: int
    traced: int
    hop: int
    cashout: str


@dataclass(frozen=True)
class CashOut:
    """A cash-out point the traced money reached (ATM, merchant, OTC dealer)."""

    tx_id: int
    ts: datetime
    account: int
    point: int | None
    kind: str
    traced: int


@dataclass
class TraceResult:
    """The traced flow graph, its paths, cash-out points and store gaps."""

    method: Method
    limits: Limits
    seeds: tuple[int, ...]
    seed_total: int
    start: datetime
    end: datetime
    accounts: dict[int, AccountFlow] = field(default_factory=dict)
    transfers: list[TracedTransfer] = field(default_factory=list)
    cashouts: list[CashOut] = field(default_factory=list)
    gaps: tuple[date, ...] = ()
    # Traced money that reached an account in parts smaller than the minimum: not followed, and counted
    # here rather than as held (no freeze is sized on it), so held + cashed out + below_min <= seeds.
    below_min_fen: int = 0

    @property
    def held_total(self) -> int:
        """Traced money still held in accounts at the end of the trace."""
        return sum(a.held for a in self.accounts.values())

    @property
    def cashed_out_total(self) -> int:
        """Traced money that reached cash-out points."""
        return sum(c.traced for c in self.cashouts)

    def paths(self, limit: int = 100) -> list[list[TracedTransfer]]:
        """Seed-to-end chains of traced transfers, each step leaving its account after it arrived.

        An end is a transfer whose payee passed on no later traced money. Chains are enumerated depth
        first from the seeds, at most `limit` of them, largest bottleneck amounts first at each step.
        """
        by_payer: dict[int, list[TracedTransfer]] = {}
        for t in self.transfers:
            if t.hop > 0:
                by_payer.setdefault(t.payer, []).append(t)
        for lst in by_payer.values():
            lst.sort(key=lambda t: -t.traced)
        out: list[list[TracedTransfer]] = []

        def walk(chain: list[TracedTransfer]) -> None:
            if len(out) >= limit:
                return
            last = chain[-1]
            # Hops only grow along a chain, so a cycle in the flow cannot make a chain loop.
            later = by_payer.get(last.payee, []) if last.payee is not None else []
            nxt = [t for t in later if t.ts >= last.ts and t.hop > last.hop]
            if not nxt:
                out.append(list(chain))
                return
            for t in nxt:
                walk([*chain, t])

        for t in self.transfers:
            if t.hop == 0:
                walk([t])
        return out

    def recommendations(self, min_fen: int | None = None) -> list[FreezeRecommendation]:
        """Freeze recommendations for the accounts still holding traced money, largest first."""
        floor = self.limits.min_fen if min_fen is None else min_fen
        recs = []
        for a in self.accounts.values():
            found = TracedAccount(a.account, a.hop, a.traced_in, a.traced_out, a.held, a.followed)
            rec = recommend_freeze(found, method=self.method, gaps=len(self.gaps), min_fen=max(1, floor))
            if rec is not None:
                recs.append(rec)
        recs.sort(key=lambda r: (-r.recoverable_fen, r.account))
        return recs

    def as_dict(self, path_limit: int = 20) -> dict[str, object]:
        """JSON-ready form."""

        def ts(x: datetime) -> str:
            return x.isoformat()

        def tdict(t: TracedTransfer) -> dict[str, object]:
            return {
                "tx_id": t.tx_id,
                "ts": ts(t.ts),
                "payer": t.payer,
                "payee": t.payee,
                "amount_fen": t.amount,
                "traced_fen": t.traced,
                "hop": t.hop,
                "cashout": t.cashout,
            }

        return {
            "method": self.method.value,
            "limits": {
                "max_hops": self.limits.max_hops,
                "window_hours": self.limits.window / timedelta(hours=1),
                "min_fen": self.limits.min_fen,
            },
            "seeds": list(self.seeds),
            "seed_total_fen": self.seed_total,
            "start": ts(self.start),
            "end": ts(self.end),
            "held_total_fen": self.held_total,
            "cashed_out_total_fen": self.cashed_out_total,
            "below_min_fen": self.below_min_fen,
            "gaps": [d.isoformat() for d in self.gaps],
            "accounts": [
                {
                    "account": a.account,
                    "hop": a.hop,
                    "traced_in_fen": a.traced_in,
                    "traced_out_fen": a.traced_out,
                    "held_fen": a.held,
                    "below_min_fen": a.below_min,
                    "followed": a.followed,
                    "cashout": a.cashout,
                }
                for a in sorted(self.accounts.values(), key=lambda a: (a.hop, -a.traced_in, a.account))
            ],
            "cashouts": [
                {
                    "tx_id": c.tx_id,
                    "ts": ts(c.ts),
                    "account": c.account,
                    "point": c.point,
                    "kind": c.kind,
                    "traced_fen": c.traced,
                }
                for c in self.cashouts
            ],
            # A step is a whole transfer: where several seeds' money merged, it carries all of it. The
            # path's own traced amount is its narrowest step, never more than its seed.
            "paths": [
                {"traced_fen": min(t.traced for t in p), "steps": [tdict(t) for t in p]}
                for p in self.paths(path_limit)
            ],
            "recommendations": [
                {
                    "account": r.account,
                    "recoverable_fen": r.recoverable_fen,
                    "confidence": r.confidence,
                    "reasons": list(r.reasons),
                }
                for r in self.recommendations()
            ],
        }


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / _US, tz=UTC)


def _beijing_days(start_us: int, end_us: int) -> set[date]:
    first = _utc(start_us).astimezone(_BEIJING).date()
    last = _utc(end_us).astimezone(_BEIJING).date()
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def trace(
    index: TraceIndex, seed_tx_ids: list[int], *, method: Method = Method.FIFO, limits: Limits | None = None
) -> TraceResult:
    """Follow the seed transfers' money forward; NotFound names any seed the store lacks."""
    limits = limits or Limits()
    if not seed_tx_ids:
        raise ValueError("a trace needs at least one seed transfer")
    seed_pos = np.unique(index.positions_of(seed_tx_ids))
    ts, payer_of, payee_of = index.tx_ts, index.tx_payer, index.tx_payee
    amount_of, cash_of, acct_ids = index.tx_amount, index.tx_cashout, index.accounts
    lstart, lpos, opening = index.ledger_start, index.ledger_pos, index.opening
    t0 = int(ts[seed_pos].min())
    t_end = int(ts[seed_pos].max()) + int(limits.window / timedelta(microseconds=1))
    end_pos = int(np.searchsorted(ts, t_end, side="right"))  # positions >= end_pos are outside the window

    result = TraceResult(
        method=method,
        limits=limits,
        seeds=tuple(int(x) for x in index.tx_id[seed_pos]),
        seed_total=int(amount_of[seed_pos].sum()),
        start=_utc(t0),
        end=_utc(t_end),
        gaps=tuple(sorted(set(index.missing_days) & _beijing_days(t0, t_end))) if index.missing_days else (),
    )
    flows: dict[int, AccountFlow] = {}
    purses: dict[int, Purse] = {}
    active: set[int] = set()
    incoming: dict[int, int] = {}  # transfer position -> traced fen its credit carries
    heap: list[tuple[int, int, int, int]] = []  # (position, side 0 debit / 1 credit, account, ledger idx)
    sent: list[tuple[int, int, int, int, int, int]] = []  # (position, payer, payee, traced, hop, cash)

    def flow(a: int, hop: int) -> AccountFlow:
        f = flows.get(a)
        if f is None:
            f = flows[a] = AccountFlow(int(acct_ids[a]), hop)
        return f

    # A walked account's ledger from the transfer that first reached it to the window's end, as Python
    # lists (a walk reads it entry by entry): position, side (1 credit), amount and "self-transfer" of
    # each entry, and the store-implied balance before each entry.
    ledgers: dict[int, tuple[list[int], list[int], list[int], list[bool], np.ndarray]] = {}

    def ledger(a: int, first_pos: int) -> tuple[list[int], list[int], list[int], list[bool], np.ndarray]:
        known = ledgers.get(a)
        if known is not None:
            return known
        lo, hi = int(lstart[a]), int(lstart[a + 1])
        stop = lo + int(np.searchsorted(lpos[lo:hi], end_pos, side="left"))
        seg = np.asarray(lpos[lo:stop], dtype=np.int64)
        own_payer, own_payee = payer_of[seg] == a, payee_of[seg] == a
        to_self = own_payer & own_payee
        # The second entry of a self-transfer (same position as the entry before it) is its credit.
        repeat = np.zeros(seg.size, dtype=bool)
        repeat[1:] = seg[1:] == seg[:-1]
        credit = own_payee & (~own_payer | repeat)
        amounts = amount_of[seg]
        # Balance before each entry: the implied opening plus the net flow of the entries before it.
        signed = np.where(credit, amounts, -amounts)
        before = int(opening[a]) + np.cumsum(signed) - signed
        i = int(np.searchsorted(seg, first_pos, side="left"))
        known = (
            seg[i:].tolist(), credit[i:].astype(np.int8).tolist(), amounts[i:].tolist(), to_self[i:].tolist(),
            before[i:],
        )  # fmt: skip
        ledgers[a] = known
        return known

    def activate(a: int, pos: int, hop: int) -> None:
        """Start walking account `a` at its credit of transfer `pos`."""
        l_pos, l_side, _, _, before = ledger(a, pos)
        k = bisect_left(l_pos, pos)
        while l_pos[k] == pos and not l_side[k]:
            k += 1  # a self-transfer's debit entry comes first; start at its credit
        balance = int(before[k])
        purse = purses.get(a)
        if purse is None:
            purses[a] = new_purse(method, balance)
        else:
            purse.rebase(balance)
        flow(a, hop)
        active.add(a)
        heapq.heappush(heap, (pos, 1, a, k))

    def send(pos: int, payer: int, traced: int, hop: int) -> None:
        """Pass `traced` fen of transfer `pos` on to its payee (hop = the payee's hop)."""
        payee, cash = int(payee_of[pos]), int(cash_of[pos])
        # Recorded raw; turned into TracedTransfer and CashOut rows once, at the end of the walk.
        sent.append((pos, payer, payee, traced, hop - 1, cash))
        if cash != NOT_CASHOUT:
            # Cash-out is where the trace ends: the money left the banks or became goods or crypto.
            if payee >= 0:
                f = flow(payee, hop)
                # Counted once, as cashed out; not also as held at the cash-out account.
                f.traced_in += traced
                f.followed = False
                f.cashout = CASHOUT_NAMES[cash]
            return
        if traced < limits.min_fen or hop > limits.max_hops:
            f = flow(payee, hop)
            f.traced_in += traced
            if payee in active:
                # Already walked: the credit joins its purse, the amount is just not followed separately.
                incoming[pos] = incoming.get(pos, 0) + traced
                return
            f.followed = f.followed and payee in purses
            if traced < limits.min_fen:
                f.below_min += traced
                result.below_min_fen += traced
            else:
                f.parked += traced
            return
        flows_payee = flow(payee, hop)
        flows_payee.traced_in += traced
        incoming[pos] = incoming.get(pos, 0) + traced
        if payee not in active:
            activate(payee, pos, hop)

    # A seed's payer is the victim: its own debit is not walked. Seeds enter the walk in time order, as
    # markers (ledger index -1): a later seed must not land on an account the walk has already let go.
    seed_set = set(seed_pos.tolist())
    for pos in seed_set:
        heapq.heappush(heap, (pos, 0, int(payer_of[pos]), _SEED))

    # Poison never lets go of an account; the haircut lets go below the minimum amount.
    floor = {Method.POISON: 0, Method.PROPORTIONAL: limits.min_fen}.get(method, 1)
    while heap:
        pos, side, a, k = heapq.heappop(heap)
        if k == _SEED:
            send(pos, a, int(amount_of[pos]), 1)
            continue
        l_pos, l_side, l_amount, l_self, _ = ledgers[a]
        purse = purses[a]
        f = flows[a]
        if l_self[k] and pos not in incoming:
            pass  # a transfer to oneself moves no money (a self-paid seed is the exception: it is credited)
        elif side == 1:
            purse.receive(l_amount[k], incoming.pop(pos, 0))
        else:
            traced = purse.pay(l_amount[k])
            if traced > 0 and pos not in seed_set:  # a seed is already followed in full
                f.traced_out += traced
                send(pos, a, traced, f.hop + 1)
        k += 1
        if purse.traced < floor:
            # Nothing (or, for the haircut, less than the minimum) traced left here; if traced money
            # comes again, `activate` resumes the walk.
            active.discard(a)
            continue
        if k < len(l_pos):
            heapq.heappush(heap, (l_pos[k], l_side[k], a, k))
        else:
            active.discard(a)  # the window ends (or the ledger does)
    if sent:
        at = np.array([x[0] for x in sent], dtype=np.int64)
        ids, times, amounts = index.tx_id[at].tolist(), ts[at].tolist(), amount_of[at].tolist()
        payers = [x[1] for x in sent]
        payer_ids = acct_ids[np.maximum(payers, 0)].tolist()
        payee_ids = acct_ids[np.maximum([x[2] for x in sent], 0)].tolist()
        for k, (_, payer, payee, traced, hop, cash) in enumerate(sent):
            when = _utc(times[k])
            src = payer_ids[k] if payer >= 0 else -1
            dst = payee_ids[k] if payee >= 0 else None
            kind = CASHOUT_NAMES[cash]
            result.transfers.append(TracedTransfer(ids[k], when, src, dst, amounts[k], traced, hop, kind))
            if cash != NOT_CASHOUT:
                result.cashouts.append(CashOut(ids[k], when, src, dst, kind, traced))
    for f in flows.values():
        f.held = f.parked
    for a, purse in purses.items():
        flows[a].held += purse.traced
    result.accounts = {f.account: f for f in flows.values()}
    return result
