"""Pure decisions about restriction orders: the state machine, legal basis, sizing, expiry and renewal.

No I/O here; time comes in as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pingan.antifraud.orders.choices import BasisKind, OrderKind, OrderReason, OrderState

S = OrderState

# The whole state machine. "sent" means handed to the transport; "acknowledged" that the bank has
# taken the order; "executed" that it holds money. A failed order (transport given up) may be sent
# again by an analyst. A stop-payment the bank has taken may be converted into a freeze.
# expired, renewed, released, converted and rejected are final.
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    S.DRAFTED: frozenset({S.SENT, S.FAILED}),
    S.SENT: frozenset({S.ACKNOWLEDGED, S.REJECTED, S.FAILED}),
    S.ACKNOWLEDGED: frozenset({S.EXECUTED, S.REJECTED, S.RELEASED, S.CONVERTED}),
    S.EXECUTED: frozenset({S.EXPIRED, S.RENEWED, S.RELEASED, S.CONVERTED}),
    S.FAILED: frozenset({S.SENT}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.RENEWED: frozenset(),
    S.RELEASED: frozenset(),
    S.CONVERTED: frozenset(),
}

# States in which an order restricts, or may soon restrict, the account: a second order on the
# same account is refused while one of these holds.
LIVE_STATES = frozenset({S.DRAFTED, S.SENT, S.ACKNOWLEDGED, S.EXECUTED, S.FAILED})
FINAL_STATES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

STOP_PAYMENT_TERM = timedelta(hours=48)
MAX_STOP_PAYMENT_RENEWALS = 2
FREEZE_TERM = timedelta(days=183)  # six months
MAJOR_FREEZE_TERM = timedelta(days=365)  # one year for a major case
# Renew a stop-payment this long before it runs out, so a slow bank still has it before expiry.
RENEWAL_LEAD = timedelta(hours=6)
FREEZE_EXPIRY_ALERT_LEAD = timedelta(days=7)
UNRELATED_RELEASE_DUE = timedelta(days=3)
APPEAL_DECISION_DUE = timedelta(days=7)
# The most a bank may report held: above 2^53 a JSON number loses integer precision in many readers.
MAX_HELD_FEN = 2**53

# Anti-Telecom and Online Fraud Law art. 20: emergency stop-payment, rapid freeze, timely release (art. 31
# is the ban on renting out cards and accounts, not a basis for stopping them).
# Recorded on each order and sent to its bank in the bank's language: Chinese.
ARTICLE_REPORT = "受案登记：《公安机关办理刑事案件程序规定》及《反电信网络诈骗法》第二十条紧急止付"
ARTICLE_FINDING = "《反电信网络诈骗法》第二十条（公安机关认定涉案账户）"

# The provision each decision on the order page rests on, shown beside its form with the basis the
# order itself records. Anti-Telecom and Online Fraud Law art. 20 sets up the emergency stop-payment,
# rapid freeze and timely release of involved funds; the freeze terms (6 months, 1 year for a major
# case, renewable) are those of the Ministry's criminal-procedure rules on freezing deposits.
ACTION_ARTICLES: dict[str, str] = {
    "convert": "《反电信网络诈骗法》第二十条 快速冻结; 《公安机关办理刑事案件程序规定》冻结存款、汇款 (6 个月, 重大案件 1 年)",
    "renew": "《反电信网络诈骗法》第二十条 紧急止付 (48 小时, 至多续期 2 次); 《公安机关办理刑事案件程序规定》续行冻结",
    "release": "《反电信网络诈骗法》第二十条 及时解冻; 与案件无关的财物 3 日内解除",
    "appeal": "《反电信网络诈骗法》第三十二条 申诉; 7 日内作出决定",
}


@dataclass(frozen=True)
class TransitionRefused:
    """Why a move is not allowed."""

    from_state: OrderState
    to_state: OrderState

    @property
    def message(self) -> str:
        """The refusal in words."""
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[self.from_state])) or "none: it is final"
        return f"an order {self.from_state.value} cannot become {self.to_state.value} (allowed: {allowed})"


def transition_problem(current: OrderState, target: OrderState) -> TransitionRefused | None:
    """None when `current` → `target` is allowed, else the refusal."""
    return None if target in TRANSITIONS[current] else TransitionRefused(current, target)


@dataclass(frozen=True)
class BasisInput:
    """What an order would rest on."""

    kind: OrderKind
    reason: OrderReason
    report_registered: bool
    finding_approved: bool
    from_model_score: bool = False


def basis_problem(b: BasisInput) -> str | None:
    """None when the order has a sufficient legal basis, else the reason it has none.

    A registered report suffices only for a stop-payment on an account the report itself names
    (受案登记 by the receiving officer). Holder-linked stops and every freeze need an approved
    finding (认定; Anti-Telecom and Online Fraud Law art. 31). A model score is never a basis.
    """
    if b.from_model_score:
        return "a model score can raise a warning, never an order"
    if b.kind is OrderKind.FREEZE:
        return None if b.finding_approved else "a freeze needs a police finding approved by a supervisor"
    if b.reason is OrderReason.DIRECT_PAYEE:
        if b.report_registered or b.finding_approved:
            return None
        return "a stop-payment needs a registered report naming the account, or an approved finding"
    return None if b.finding_approved else f"a {b.reason.value} stop-payment needs an approved police finding"


def basis_kind(b: BasisInput) -> BasisKind:
    """The basis an allowed order records: the finding when there is one, else the report."""
    return BasisKind.FINDING if b.finding_approved else BasisKind.REPORT


def term(kind: OrderKind, *, major_case: bool) -> timedelta:
    """How long an order lasts: 48 h for a stop-payment, 6 months (1 year if major) for a freeze."""
    if kind is OrderKind.STOP_PAYMENT:
        return STOP_PAYMENT_TERM
    return MAJOR_FREEZE_TERM if major_case else FREEZE_TERM


def expires_at(kind: OrderKind, issued_at: datetime, *, major_case: bool) -> datetime:
    """When an order issued at `issued_at` runs out."""
    return issued_at + term(kind, major_case=major_case)


def conversion_problem(kind: OrderKind, state: OrderState) -> str | None:
    """None when this order may be converted into a freeze (止付转冻结), else why not.

    Only a stop-payment its bank has taken (acknowledged or executed) is converted: the freeze names
    it, and the bank carries its hold over to the freeze. One still on its way would leave the bank
    a freeze replacing an order it has not seen.
    """
    if kind is not OrderKind.STOP_PAYMENT:
        return f"only a stop-payment is converted into a freeze, this order is a {kind.value}"
    if state not in (OrderState.ACKNOWLEDGED, OrderState.EXECUTED):
        return f"the stop-payment is {state.value}: it is converted once its bank has taken it"
    return None


def renewal_problem(kind: OrderKind, state: OrderState, renewals: int) -> str | None:
    """None when an officer may renew this order now, else why not.

    A renewal replaces an executed order with a new one whose term runs from the renewal. A
    stop-payment is renewed at most twice (48 h each), then it must become a freeze; a freeze is
    renewed for a new term of 6 months (1 year in a major case) each time.
    """
    if state is not OrderState.EXECUTED:
        return f"only an executed order is renewed, this one is {state.value}"
    if kind is OrderKind.STOP_PAYMENT and renewals >= MAX_STOP_PAYMENT_RENEWALS:
        return f"a stop-payment is renewed at most {MAX_STOP_PAYMENT_RENEWALS} times: convert it to a freeze"
    return None


def major_case_problem(major_case: bool, reason: str | None) -> str | None:
    """A major case (重大案件: a freeze of 1 year) is marked with its reason; None when the marking holds."""
    if major_case and len((reason or "").strip()) < 4:
        return "a major case needs its reason (at least 4 characters)"
    return None


def held_amount_problem(held_fen: int, ordered_fen: int | None) -> str | None:
    """None when a bank's reported hold is believable, else why it is refused as a bad message.

    A bank never holds more than it was ordered to (a freeze names its amount; a stop-payment holds
    the balance, unbounded here), and no amount above 2^53 fen is accepted at all.
    """
    if held_fen < 0 or held_fen > MAX_HELD_FEN:
        return f"held_amount_fen {held_fen} is outside 0..2^53"
    if ordered_fen is not None and held_fen > ordered_fen:
        return f"held_amount_fen {held_fen} is above the ordered amount {ordered_fen}"
    return None


def freeze_amount(requested_fen: int | None, traced_fen: int | None) -> tuple[int | None, str | None]:
    """The amount to freeze and, when it was cut, why. Never more than the traced amount where known."""
    if traced_fen is None:
        return requested_fen, None
    if requested_fen is None or requested_fen > traced_fen:
        return traced_fen, f"capped at the traced amount {traced_fen} fen"
    return requested_fen, None


@dataclass(frozen=True)
class RenewalDecision:
    """What to do with an executed stop-payment near its expiry."""

    action: str  # "renew", "alert" (renewals used up) or "wait"
    reason: str


def renewal_decision(
    *,
    kind: OrderKind,
    state: OrderState,
    renewals: int,
    expires: datetime | None,
    case_open: bool,
    now: datetime,
) -> RenewalDecision:
    """Renew an executed stop-payment before its 48 h run out while the case needs it, twice at most.

    After the second renewal the analyst must convert it to a freeze (which needs a finding) or let
    it lapse: the robot alerts instead of renewing a third time.
    """
    if kind is not OrderKind.STOP_PAYMENT or state is not OrderState.EXECUTED or expires is None:
        return RenewalDecision("wait", "not an executed stop-payment")
    if expires - now > RENEWAL_LEAD:
        return RenewalDecision("wait", "not yet due")
    if not case_open:
        return RenewalDecision("wait", "case no longer needs it: let it lapse")
    if renewals >= MAX_STOP_PAYMENT_RENEWALS:
        return RenewalDecision(
            "alert", f"renewed {renewals} times already (limit {MAX_STOP_PAYMENT_RENEWALS})"
        )
    return RenewalDecision("renew", f"renewal {renewals + 1} of {MAX_STOP_PAYMENT_RENEWALS}")


def is_expired(state: OrderState, expires: datetime | None, now: datetime) -> bool:
    """An executed order whose term has run out."""
    return state is OrderState.EXECUTED and expires is not None and expires <= now


def freeze_expiry_alert_due(
    kind: OrderKind, state: OrderState, expires: datetime | None, now: datetime
) -> bool:
    """Alert ahead of a freeze's expiry so that it is renewed or deliberately let lapse."""
    return (
        kind is OrderKind.FREEZE
        and state is OrderState.EXECUTED
        and expires is not None
        and now < expires <= now + FREEZE_EXPIRY_ALERT_LEAD
    )


def backoff_delay(attempt: int, *, base_s: float, max_s: float, jitter: float) -> float:
    """Exponential backoff with jitter: between half and all of min(max, base·2^(attempt-1)).

    `jitter` in [0, 1) is the random draw, passed in to keep this pure. Jitter spreads the retries
    of many orders to one recovering bank so that they do not arrive as one burst.
    """
    ceiling: float = min(max_s, base_s * 2.0 ** max(0, attempt - 1))
    return ceiling * (0.5 + jitter / 2)


@dataclass(frozen=True)
class Countdown:
    """What is left of an order's term: whole days and hours, or `expired`."""

    days: int
    hours: int
    expired: bool


def countdown(expires: datetime | None, now: datetime) -> Countdown | None:
    """The time left until `expires` (None when the order has no term), rounded down to the hour."""
    if expires is None:
        return None
    left = expires - now
    if left <= timedelta(0):
        return Countdown(0, 0, expired=True)
    hours = int(left.total_seconds() // 3600)
    return Countdown(hours // 24, hours % 24, expired=False)
