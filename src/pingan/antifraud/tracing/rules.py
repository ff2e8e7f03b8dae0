"""Attribution rules of fund tracing (资金追踪): which part of an outflow is the traced (stolen) money.

Pure logic, no I/O. An account's balance is a *purse* holding traced and untraced money. Money arrives
(`receive`) and leaves (`pay`); the purse says how much of each outflow was traced money. Four methods:

- **FIFO** (first in, first out): the balance is a queue of lots in order of arrival; an outflow takes
  the oldest lots first. The usual rule of Chinese bank investigations (先进先出) and the default.
- **LIFO** (last in, first out): an outflow takes the newest lots first. It suits mules that forward
  each receipt at once while an older balance of their own stays put.
- **Proportional** (haircut, 按比例): every outflow carries traced money in the proportion the purse
  holds at that moment. Fen are integers: the traced part of an outflow is rounded down, so the traced
  amount never grows by rounding.
- **Poison** (污染): once any traced money arrives the whole purse is tainted and every later outflow is
  traced in full. It over-attributes by design; it answers "where could the money have gone", never
  "how much is there", so its amounts are ceilings, not estimates.

Money is integer fen. A purse never pays more than it holds: an outflow above the balance is a caller
error (the engine opens each purse with the balance the transaction store implies).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pingan.core.i18n import N_, register_labels


class Method(StrEnum):
    """Attribution method (归属方法)."""

    FIFO = "fifo"
    LIFO = "lifo"
    PROPORTIONAL = "proportional"
    POISON = "poison"


register_labels(
    Method,
    {
        Method.FIFO: N_("first in, first out"),
        Method.LIFO: N_("last in, first out"),
        Method.PROPORTIONAL: N_("proportional"),
        Method.POISON: N_("whole balance tainted"),
    },
)


class Purse(Protocol):
    """An account's balance split into traced and untraced money."""

    @property
    def balance(self) -> int:
        """Everything the account holds, in fen."""
        ...

    @property
    def traced(self) -> int:
        """The traced part of the balance, in fen."""
        ...

    def receive(self, amount: int, traced: int) -> None:
        """Credit `amount` fen of which `traced` fen is traced money (0 <= traced <= amount)."""
        ...

    def pay(self, amount: int) -> int:
        """Debit `amount` fen; return how many of them are traced money."""
        ...

    def rebase(self, balance: int) -> None:
        """Set the untraced part so that the balance is `balance` (never below the traced part)."""
        ...


def _check_credit(amount: int, traced: int) -> None:
    if amount < 0 or not 0 <= traced <= amount:
        raise ValueError(f"bad credit: amount={amount} traced={traced}")


def _check_debit(amount: int, balance: int) -> None:
    if amount < 0 or amount > balance:
        raise ValueError(f"bad debit: amount={amount} exceeds balance={balance}")


class QueuePurse:
    """FIFO or LIFO purse: a queue of lots `[amount, traced?]`, adjacent lots of one kind merged."""

    def __init__(self, opening: int = 0, *, lifo: bool = False) -> None:
        self.lifo = lifo
        # The opening balance arrived before anything traced: oldest lot, untraced.
        self.lots: deque[list[int]] = deque([[opening, 0]] if opening > 0 else [])
        self._balance = opening
        self._traced = 0

    @property
    def balance(self) -> int:
        """Everything the account holds, in fen."""
        return self._balance

    @property
    def traced(self) -> int:
        """The traced part of the balance, in fen."""
        return self._traced

    def _push(self, amount: int, flag: int) -> None:
        if amount <= 0:
            return
        if self.lots and self.lots[-1][1] == flag:
            self.lots[-1][0] += amount
        else:
            self.lots.append([amount, flag])

    def receive(self, amount: int, traced: int) -> None:
        """Append the credit as lots.

        Inside one credit that mixes traced and untraced money the order is a choice: the traced part is
        put where it leaves first (oldest under FIFO, newest under LIFO). The victim's claim comes first,
        and it is how the money moved at the payer, where the traced part also left first.
        """
        _check_credit(amount, traced)
        first, second = (
            ((amount - traced, 0), (traced, 1)) if self.lifo else ((traced, 1), (amount - traced, 0))
        )
        self._push(*first)
        self._push(*second)
        self._balance += amount
        self._traced += traced

    def pay(self, amount: int) -> int:
        """Take `amount` from the oldest lots (FIFO) or the newest (LIFO); return the traced fen taken."""
        _check_debit(amount, self._balance)
        need, taken = amount, 0
        while need > 0:
            lot = self.lots[-1] if self.lifo else self.lots[0]
            part = min(need, lot[0])
            lot[0] -= part
            need -= part
            taken += part * lot[1]
            if lot[0] == 0:
                if self.lifo:
                    self.lots.pop()
                else:
                    self.lots.popleft()
        self._balance -= amount
        self._traced -= taken
        return taken

    def rebase(self, balance: int) -> None:
        """Resize the untraced money to match `balance`; it is put in front (oldest) of the queue."""
        untraced = max(0, balance - self._traced)
        self.lots = deque(lot for lot in self.lots if lot[1] == 1)
        if untraced:
            self.lots.appendleft([untraced, 0])
        self._balance = untraced + self._traced


class ProportionalPurse:
    """Haircut purse: every outflow carries traced money in the proportion held, rounded down."""

    def __init__(self, opening: int = 0) -> None:
        self._balance = opening
        self._traced = 0

    @property
    def balance(self) -> int:
        """Everything the account holds, in fen."""
        return self._balance

    @property
    def traced(self) -> int:
        """The traced part of the balance, in fen."""
        return self._traced

    def receive(self, amount: int, traced: int) -> None:
        """Add the credit to the pool."""
        _check_credit(amount, traced)
        self._balance += amount
        self._traced += traced

    def pay(self, amount: int) -> int:
        """Traced part = amount × traced / balance, rounded down to whole fen."""
        _check_debit(amount, self._balance)
        taken = amount * self._traced // self._balance if self._balance else 0
        self._balance -= amount
        self._traced -= taken
        return taken

    def rebase(self, balance: int) -> None:
        """Resize the untraced pool to match `balance`."""
        self._balance = max(balance, self._traced)


class PoisonPurse:
    """Poison purse: tainted by the first traced credit; from then on every outflow is traced in full."""

    def __init__(self, opening: int = 0) -> None:
        self._balance = opening
        self.tainted = False

    @property
    def balance(self) -> int:
        """Everything the account holds, in fen."""
        return self._balance

    @property
    def traced(self) -> int:
        """All of a tainted balance; nothing before the taint."""
        return self._balance if self.tainted else 0

    def receive(self, amount: int, traced: int) -> None:
        """Credit; any traced fen taints the purse."""
        _check_credit(amount, traced)
        self._balance += amount
        self.tainted = self.tainted or traced > 0

    def pay(self, amount: int) -> int:
        """All of the outflow once tainted, else nothing."""
        _check_debit(amount, self._balance)
        self._balance -= amount
        return amount if self.tainted else 0

    def rebase(self, balance: int) -> None:
        """Take the balance the store implies."""
        self._balance = max(balance, 0)


def new_purse(method: Method, opening: int = 0) -> Purse:
    """An empty purse of `method` holding `opening` fen of untraced money."""
    if method is Method.FIFO:
        return QueuePurse(opening)
    if method is Method.LIFO:
        return QueuePurse(opening, lifo=True)
    if method is Method.PROPORTIONAL:
        return ProportionalPurse(opening)
    return PoisonPurse(opening)


# --- freeze recommendations (冻结建议) -------------------------------------------------------------

# Confidence that the traced amount held is really the victim's money, by method. FIFO and LIFO follow
# the order banks and courts use; the haircut smears; poison only bounds.
_METHOD_CONFIDENCE = {Method.FIFO: 0.9, Method.LIFO: 0.85, Method.PROPORTIONAL: 0.7, Method.POISON: 0.3}


@dataclass(frozen=True)
class TracedAccount:
    """What the trace found at one account (input of a recommendation)."""

    account: int
    hop: int
    traced_in: int
    traced_out: int
    held: int
    followed: bool  # False: reached beyond a limit (hops, minimum amount), its own outflows not walked


@dataclass(frozen=True)
class FreezeRecommendation:
    """A suggested freeze (冻结建议): never an order by itself; an analyst turns it into one."""

    account: int
    recoverable_fen: int
    confidence: float
    reasons: tuple[str, ...]


def recommend_freeze(
    found: TracedAccount, *, method: Method, gaps: int = 0, min_fen: int = 1
) -> FreezeRecommendation | None:
    """Recommend freezing the traced money still held at the account, or nothing.

    The recoverable amount is the traced amount still held, and never more than the traced amount that
    reached the account (a freeze is never larger than the traced amount: DESIGN.md, legal basis).
    """
    if not found.followed:
        # Its own outflows were not walked: what arrived is an upper bound of what is held.
        recoverable = min(found.held, found.traced_in)
        reasons = ["traced_in_not_followed", f"hop:{found.hop}", f"method:{method.value}"]
        confidence = 0.3
    else:
        recoverable = min(found.held, found.traced_in)
        reasons = ["traced_held", f"hop:{found.hop}", f"method:{method.value}"]
        # Each hop adds a mixing step where attribution is a choice, not a fact.
        confidence = _METHOD_CONFIDENCE[method] * (0.97 ** max(0, found.hop - 1))
    if recoverable < min_fen:
        return None
    if gaps:
        reasons.append(f"store_gaps:{gaps}")
        confidence *= 0.8
    return FreezeRecommendation(found.account, recoverable, round(confidence, 3), tuple(reasons))
