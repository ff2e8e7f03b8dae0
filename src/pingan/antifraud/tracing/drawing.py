"""The trace page's drawing: a layered flow graph whose nodes read as masked cards at named banks.

Victim accounts (hop 0) are drawn left, each mule tier right of the one before, cash-outs last. A node
is labelled with its masked card number and its bank's name, never the transaction store's account
id. Each flow's amount is placed along its edge where it collides with no node and no other label
(tried at the middle first, then nearer either end); one that fits nowhere is left off the drawing.
Every flow is also listed in the table beside it, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pingan.antifraud.banks.directory import bank_name
from pingan.antifraud.tracing.engine import AccountFlow, TraceResult
from pingan.core.pages import yuan
from pingan.core.pii import PiiKind, mask

NODE_W = 180
NODE_H = 48
ROW = 72
COLUMN = NODE_W + 200  # the gap between tiers holds the amount labels
MARGIN = 20
LABEL_H = 16
# An average glyph of the 11 px label font is under 7 px wide; the box errs on the wide side.
_GLYPH_W = 7
# Where along an edge a label is tried, in order: the middle, then nearer the ends.
_LABEL_SPOTS = (0.5, 0.35, 0.65, 0.25, 0.75)


@dataclass(frozen=True)
class Card:
    """How an account is shown: its masked card number and its bank's name."""

    masked: str
    bank: str

    @classmethod
    def of(cls, bank_code: str, number: str) -> Card:
        """The masked card and the bank's name from the bank directory (its code if not listed)."""
        return cls(mask(PiiKind.CARD, number), bank_name(bank_code))


@dataclass(frozen=True)
class Box:
    """A rectangle of the drawing: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share any area."""
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class Node:
    """An account of the trace, placed: its card (None when the store has no card for it) and flow."""

    box: Box
    card: Card | None
    flow: AccountFlow | None  # None: a victim's account (the trace starts there) or an ATM
    atm: bool = False  # cash left the banks here

    @property
    def victim(self) -> bool:
        """Whether this is a victim's account (the layer the trace starts from)."""
        return not self.atm and (self.flow is None or self.flow.hop == 0)


@dataclass(frozen=True)
class Edge:
    """A traced transfer drawn from one node's right side to another's left, with its amount label."""

    number: int
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_box: Box | None  # None: no free spot on the edge; the table lists it


@dataclass(frozen=True)
class Flow:
    """A row of the table beside the drawing: one traced transfer."""

    number: int
    at: datetime
    payer: Card | None
    payee: Card | None  # None with `atm`: cash withdrawn
    atm: bool
    traced_fen: int
    hop: int
    cashout: str


@dataclass(frozen=True)
class Drawing:
    """The drawing's nodes and edges, its size, and the flows listed beside it."""

    nodes: list[Node]
    edges: list[Edge]
    flows: list[Flow]
    width: int
    height: int


def _label_box(x1: float, y1: float, x2: float, y2: float, t: float, text: str) -> Box:
    w = _GLYPH_W * len(text) + 8
    cx, cy = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
    return Box(cx - w / 2, cy - LABEL_H / 2, w, LABEL_H)


def accounts_shown(result: TraceResult) -> set[int]:
    """The store accounts the drawing shows: the traced ones and the victims' accounts they came from."""
    return set(result.accounts) | {t.payer for t in result.transfers}


def layered_graph(result: TraceResult, cards: Mapping[int, Card]) -> Drawing:
    """Place the trace's accounts in layers by hop and its transfers as labelled edges between them."""
    victims = sorted({t.payer for t in result.transfers if t.payer not in result.accounts})
    layers: dict[int, list[int]] = {0: victims} if victims else {}
    for acc in sorted(result.accounts.values(), key=lambda a: (a.hop, -a.traced_in)):
        layers.setdefault(acc.hop, []).append(acc.account)
    last = max(layers, default=0) + 1
    at: dict[int, Box] = {
        a: Box(MARGIN + h * COLUMN, MARGIN + i * ROW, NODE_W, NODE_H)
        for h, accounts in layers.items()
        for i, a in enumerate(accounts)
    }
    atm_transfers = [t for t in result.transfers if t.payee is None]
    sinks = {
        t.tx_id: Box(MARGIN + last * COLUMN, MARGIN + i * ROW, NODE_W, NODE_H)
        for i, t in enumerate(atm_transfers)
    }
    nodes = [Node(box, cards.get(a), result.accounts.get(a)) for a, box in at.items()]
    nodes += [Node(box, None, None, atm=True) for box in sinks.values()]
    taken = [n.box for n in nodes]
    edges: list[Edge] = []
    flows: list[Flow] = []
    for t in sorted(result.transfers, key=lambda t: (t.ts, t.tx_id)):
        if t.payer not in at:
            continue
        end = at.get(t.payee) if t.payee is not None else sinks.get(t.tx_id)
        if end is None:
            continue
        number = len(flows) + 1
        flows.append(
            Flow(
                number=number,
                at=t.ts,
                payer=cards.get(t.payer),
                payee=cards.get(t.payee) if t.payee is not None else None,
                atm=t.payee is None,
                traced_fen=t.traced,
                hop=t.hop,
                cashout=t.cashout,
            )
        )
        start = at[t.payer]
        x1, y1 = start.x + start.w, start.y + start.h / 2
        x2, y2 = end.x, end.y + end.h / 2
        text = f"{number} · {yuan(t.traced)}"
        spot = next(
            (
                box
                for box in (_label_box(x1, y1, x2, y2, s, text) for s in _LABEL_SPOTS)
                if not any(box.overlaps(other) for other in taken)
            ),
            None,
        )
        if spot is not None:
            taken.append(spot)
        edges.append(Edge(number, x1, y1, x2, y2, text, spot))
    rows = max([len(v) for v in layers.values()] + [len(atm_transfers), 1])
    return Drawing(
        nodes=nodes,
        edges=edges,
        flows=flows,
        width=2 * MARGIN + last * COLUMN + NODE_W,
        height=2 * MARGIN + rows * ROW,
    )
