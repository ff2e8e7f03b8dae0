"""Account balances over the ledger: what a day does to each account, and the opening balances.

A day's rows, in time order, move money out of the payer and into the payee (an ATM payee, -1, takes
it out of the banking system). `day_moves` gives, for every account the day touches, the day's net
change and the lowest point its running balance reaches within the day, relative to where the day
began. Folding the days in order (`Ledger`) gives each account the least opening balance that keeps
it at or above zero over the whole window; the generator adds a cushion to that and writes it as the
account's `opening_balance_fen` (what a bank's extract states at its start), and `sim check` replays
every account from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DayMoves:
    """Per account touched on a day: net change and the lowest running change (both in fen)."""

    account: np.ndarray  # int64, sorted, unique
    net: np.ndarray  # int64
    low: np.ndarray  # int64, <= 0 when the day's first move is an outflow

    @staticmethod
    def none() -> DayMoves:
        """No accounts touched."""
        empty = np.zeros(0, np.int64)
        return DayMoves(empty, empty, empty)


@dataclass(frozen=True)
class Events:
    """One debit or credit per row and side, grouped by account, each group in time order."""

    account: np.ndarray  # int64
    row: np.ndarray  # int64 index of the row (time order) that made the move
    running: np.ndarray  # int64 change since the day began, after this move
    starts: np.ndarray  # index of the first event of each account's group


def day_events(payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> Events:
    """The day's debits and credits, grouped by account, with each account's running change.

    Rows must be in time order; within a row the debit comes before the credit (they touch different
    accounts, except a transfer to oneself, which then dips before it returns)."""
    n = payer.size
    to_account = payee >= 0
    account = np.concatenate([payer, payee[to_account]]).astype(np.int64)
    delta = np.concatenate([-amount, amount[to_account]]).astype(np.int64)
    row = np.concatenate([np.arange(n, dtype=np.int64), np.flatnonzero(to_account).astype(np.int64)])
    side = np.concatenate([np.zeros(n, np.int8), np.ones(int(to_account.sum()), np.int8)])
    order = np.lexsort((side, row, account))
    account, delta, row = account[order], delta[order], row[order]
    if account.size == 0:
        empty = np.zeros(0, np.int64)
        return Events(empty, empty, empty, empty)
    starts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    total = np.cumsum(delta)
    before = total[starts] - delta[starts]
    counts = np.diff(np.r_[starts, account.size])
    return Events(account, row, total - np.repeat(before, counts), starts)


def day_moves(payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> DayMoves:
    """Net change and lowest running change of every account the day's rows (time order) touch."""
    ev = day_events(payer, payee, amount)
    if ev.account.size == 0:
        empty = np.zeros(0, np.int64)
        return DayMoves(empty, empty, empty)
    ends = np.r_[ev.starts[1:], ev.account.size] - 1
    return DayMoves(ev.account[ev.starts], ev.running[ends], np.minimum.reduceat(ev.running, ev.starts))


class Ledger:
    """Running balances of every account, relative to the opening, folded day by day in time order."""

    def __init__(self, n_accounts: int) -> None:
        self.change = np.zeros(n_accounts, np.int64)  # since the window opened
        self.need = np.zeros(n_accounts, np.int64)  # least opening balance that keeps it >= 0

    def fold(self, moves: DayMoves) -> None:
        """Add one day, the days in order."""
        a = moves.account
        self.need[a] = np.maximum(self.need[a], -(self.change[a] + moves.low))
        self.change[a] += moves.net
