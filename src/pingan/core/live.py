"""Live pages (实时): what any process writes reaches open pages as server-sent events.

pingan writes from several processes (the web app, the stop-payment robot, the bank callbacks, the
screening consumer), so an in-process bus would miss most changes. Every write lands in the audit log
in its own transaction (`core.audit`), so the audit log is the change feed: one poller per web process
(`Hub`) reads the new entries by increasing id, keeps those a topic watches, and hands them to every
open stream of that process. Each stream renders its own fragments, in its own read, within its user's
role and station view (`Topic.render`), so that nothing is pushed that the user's page would not show.

Telemetry (a crowd count, a drone's later report) is not audited: its writer records a pulse
(`core.pulse`), which the poller reads in the same round and sends at most once a second per topic and
key, the last one always (`Hub._poll_pulses`).

On PostgreSQL, ids come from a sequence and are taken before COMMIT, so a transaction can commit after
a later id is already visible. An id skipped over is kept as a gap and looked for again at each poll,
for `GAP_GRACE_S`, after which it is taken for a rolled-back insert. docs/live.md has the latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse, ServerSentEvent

from pingan.core import db
from pingan.core.audit import AuditEntry
from pingan.core.auth import TOKEN_COOKIE, actor_from_token, request_token, require_roles
from pingan.core.errors import Invalid, Unauthorized
from pingan.core.logging import get_logger
from pingan.core.migrate import REPO_ROOT
from pingan.core.pages import TEMPLATES
from pingan.core.pulse import LivePulse
from pingan.core.roles import HUMAN_ROLES, Actor, Role

log = get_logger("live")

POLL_S = 1.0  # how often a web process reads the audit log while a stream is open
WAKE_GAP_S = 0.05  # on PostgreSQL, a notified commit is read this soon, with those that follow it
NOTIFY_CHANNEL = "pingan_live"  # migration 0017: every commit that appends audit entries notifies it
HEARTBEAT_S = 15  # a comment line this often keeps proxies from closing an idle stream
TOKEN_CHECK_S = 15.0  # an idle stream checks its login this often, and ends with it
GAP_GRACE_S = 10.0  # an id skipped over is looked for this long (a commit that arrives late)
MAX_GAPS = 1000
BATCH = 2000  # audit entries read per query
REPLAY = 5000  # changes kept for a stream that reconnects with Last-Event-ID
QUEUE = 256  # batches a slow stream may fall behind before it is ended
SSE_JS = REPO_ROOT / "node_modules" / "htmx-ext-sse" / "dist" / "sse.js"
ATTENTION = "attention"
PULSE = "pulse"  # a Change's action when it comes from a telemetry pulse (core/pulse.py), not the audit log
PULSE_EVERY_S = 1.0  # a topic and key pulsed is sent at most this often, the last pulse always


@dataclass(frozen=True)
class Change:
    """One watched audit entry: its id (the stream's event id), its topic, action and the objects named."""

    seq: int
    topic: str
    action: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Message:
    """One server-sent event: its name (what `sse-swap` listens for) and a server-rendered fragment."""

    event: str
    html: str


Render = Callable[[Session, Actor, list[Change]], list[Message]]
IdsOf = Callable[[str, dict[str, Any]], tuple[int, ...]]


def object_ids(object_id: str, _detail: dict[str, Any]) -> tuple[int, ...]:
    """The object an entry names when it names one by its id."""
    return (int(object_id),) if object_id.isdigit() else ()


@dataclass(frozen=True)
class Topic:
    """What a page may subscribe to: the audit actions that change it, who may read it, and how a
    change is rendered for one reader. `actions` holds exact names, or prefixes ending with a dot."""

    name: str
    roles: frozenset[Role]
    actions: tuple[str, ...]
    render: Render
    ids: IdsOf = object_ids
    # Whether the objects must be read from the entry's detail (a batch entry names a span of ids).
    needs_detail: bool = False
    # Whether every page's stream carries it for the roles that may read it, asked for or not (an
    # alarm that must reach a user wherever they are: an officer in danger).
    everywhere: bool = False

    def watches(self, action: str) -> bool:
        """Whether an audit entry with `action` changes this topic."""
        return any(action == a or (a.endswith(".") and action.startswith(a)) for a in self.actions)


@dataclass(frozen=True)
class Attention:
    """The header's counter: what needs this user's attention (None: the role has no counter)."""

    actions: tuple[str, ...]
    count: Callable[[Session, Actor], int | None]


_topics: dict[str, Topic] = {}
_attention: list[Attention] = []


def register_topics(topics: Iterable[Topic], attention: Attention | None = None) -> None:
    """Set the topics streams may ask for, and the header's counter (the app assembly does, once)."""
    _topics.clear()
    _topics.update({t.name: t for t in topics})
    _attention[:] = [attention] if attention is not None else []


def attention_count(actor: Actor | None) -> int | None:
    """The header counter's value for `actor`, read now (None: no counter for the role)."""
    if actor is None or not _attention:
        return None
    try:
        with db.read_transaction() as session:
            return _attention[0].count(session, actor)
    except SQLAlchemyError:
        # The layout shows this on every page, error pages included: a database fault must not
        # turn a page into a second fault. The stream sends the count when it can.
        log.exception("live.attention_failed")
        return None


def render_fragment(name: str, **context: object) -> str:
    """Render a fragment template outside a request (a stream's messages)."""
    return TEMPLATES.env.get_template(name).render(**context)


TEMPLATES.env.globals["attention_count"] = attention_count


def _watchers() -> list[Topic]:
    found = list(_topics.values())
    if _attention:
        found.append(Topic(ATTENTION, frozenset(HUMAN_ROLES), _attention[0].actions, lambda s, a, c: []))
    return found


class Subscription:
    """One open stream's place at the hub: the batches of changes waiting for it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[list[Change]] = asyncio.Queue(maxsize=QUEUE)
        self.behind = False  # it fell `QUEUE` batches behind and was dropped: the stream ends


class Wakeup:
    """On PostgreSQL: a thread that LISTENs on `NOTIFY_CHANNEL` and wakes the poller at each commit of
    audit entries, so that a change does not wait for the next poll. The poll stays: it is what finds
    the entries, and the only mechanism on SQLite."""

    def __init__(self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
        self._loop, self._wake = loop, wake
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="live-wakeup", daemon=True)

    def start(self) -> None:
        """Listen in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within a second)."""
        self._stopped.set()

    def _listen(self) -> None:
        url = db.get_engine().url.set(drivername="postgresql")
        while not self._stopped.is_set():
            try:
                with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._loop.call_soon_threadsafe(self._wake.set)
            except Exception:
                # Without the wake-up the poll still delivers, a poll interval later: keep trying.
                log.exception("live.listen_failed")
                self._stopped.wait(POLL_S)


class Hub:
    """One per web process: polls the audit log while any stream is open and fans changes out."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._wakeup: Wakeup | None = None
        self._audit = _Cursor()
        self._pulses = _Cursor()
        # topic and key -> when it was last sent, and those held back until their second is over
        self._pulse_sent: dict[tuple[str, int], float] = {}
        self._pulse_held: set[tuple[str, int]] = set()
        self.recent: deque[Change] = deque(maxlen=REPLAY)

    @property
    def cursor(self) -> int:
        """The last audit entry id read."""
        return self._audit.cursor

    @cursor.setter
    def cursor(self, value: int) -> None:
        self._audit.cursor = value

    @property
    def streams(self) -> int:
        """How many streams are open in this process."""
        return len(self._subs)

    async def subscribe(self) -> Subscription:
        """A new subscription, once the poller knows where the log ends: every change committed
        after this returns reaches the subscription. The poller runs while any is open."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            # The first stream, or the first on a new event loop (tests run several). Started here,
            # before any await, so that streams opening at the same moment share one poller.
            self._subs = set()
            self._loop = loop
            self._ready = asyncio.Event()
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        sub = Subscription()
        self._subs.add(sub)
        try:
            await self._ready.wait()
        except asyncio.CancelledError:
            self._subs.discard(sub)
            raise
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a closed stream; the poller stops with the last one."""
        self._subs.discard(sub)

    def replay_after(self, seq: int) -> list[Change]:
        """The changes kept in memory after event id `seq` (a reconnecting stream's Last-Event-ID)."""
        return [c for c in self.recent if c.seq > seq]

    async def _run(self) -> None:
        while self._subs and not self._ready.is_set():
            try:
                # Start from the log's end as it stands now: a page shows what was there before.
                self._audit = _Cursor(await asyncio.to_thread(_log_end))
                self._pulses = _Cursor(await asyncio.to_thread(_pulses_end))
                self._pulse_sent.clear()
                self._pulse_held.clear()
                self.recent.clear()
                self._ready.set()
            except Exception:
                log.exception("live.start_failed")
                await asyncio.sleep(POLL_S)
        if db.get_engine().dialect.name == "postgresql":
            self._wakeup = Wakeup(asyncio.get_running_loop(), self._wake)
            self._wakeup.start()
        try:
            await self._poll_while_open()
        finally:
            if self._wakeup is not None:
                self._wakeup.stop()
                self._wakeup = None

    async def _poll_while_open(self) -> None:
        while self._subs:
            self._wake.clear()  # a commit notified while reading is read at once, in the next round
            try:
                changes = await asyncio.to_thread(self.poll)
            except Exception:
                # A database that is down for a moment must not end every stream: try again.
                log.exception("live.poll_failed")
                changes = []
            if changes:
                self.recent.extend(changes)
                for sub in list(self._subs):
                    if sub.queue.full():
                        log.warning("live.stream_behind")
                        sub.behind = True
                        self._subs.discard(sub)
                    else:
                        sub.queue.put_nowait(changes)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_S)
            await asyncio.sleep(WAKE_GAP_S)

    def poll(self) -> list[Change]:
        """Read the audit entries after the cursor (and the gaps still open), oldest first, then the
        telemetry pulses, at most one per topic and key a second."""
        watchers = _watchers()
        changes: list[Change] = []
        with db.read_transaction() as session:
            while True:
                rows = session.execute(
                    select(AuditEntry.id, AuditEntry.action, AuditEntry.object_id)
                    .where(self._audit.where(AuditEntry.id))
                    .order_by(AuditEntry.id)
                    .limit(BATCH)
                ).all()
                matched: list[tuple[int, str, str, Topic]] = []
                for entry_id, action, object_id in rows:
                    self._audit.advance(entry_id)
                    matched.extend((entry_id, action, object_id, t) for t in watchers if t.watches(action))
                details = _details(session, [m[0] for m in matched if m[3].needs_detail])
                for entry_id, action, object_id, topic in matched:
                    try:
                        ids = topic.ids(object_id, details.get(entry_id, {}))
                    except (ValueError, KeyError, TypeError):
                        ids = ()
                    changes.append(Change(entry_id, topic.name, action, ids))
                if len(rows) < BATCH:
                    break
            changes.extend(self._poll_pulses(session))
        self._audit.expire()
        self._pulses.expire()
        return changes

    def _poll_pulses(self, session: Session) -> list[Change]:
        """The topics and keys pulsed since the last read, each sent at most once per `PULSE_EVERY_S`:
        one pulsed again within its second is held and sent when the second is over, so the last
        state always reaches the page, and a counter reporting ten times a second costs one fetch."""
        pulsed: set[tuple[str, int]] = set()
        while True:
            rows = session.execute(
                select(LivePulse.id, LivePulse.topic, LivePulse.key)
                .where(self._pulses.where(LivePulse.id))
                .order_by(LivePulse.id)
                .limit(BATCH)
            ).all()
            for pulse_id, topic, key in rows:
                self._pulses.advance(pulse_id)
                if topic in _topics:
                    pulsed.add((topic, int(key)))
            if len(rows) < BATCH:
                break
        now = time.monotonic()
        due: list[tuple[str, int]] = []
        for item in sorted(pulsed | self._pulse_held):
            if now - self._pulse_sent.get(item, -PULSE_EVERY_S) >= PULSE_EVERY_S:
                due.append(item)
                self._pulse_sent[item] = now
                self._pulse_held.discard(item)
            else:
                self._pulse_held.add(item)
        for item in [i for i, at in self._pulse_sent.items() if now - at > 60 and i not in self._pulse_held]:
            del self._pulse_sent[item]
        # A pulse has no audit id: it is not replayed to a reconnecting stream (the page fetches the
        # state again on the next pulse, at most a second later while the telemetry flows).
        return [Change(0, topic, PULSE, (key,)) for topic, key in due]


@dataclass
class _Cursor:
    """Where a poller stands in an id-ordered log (the audit log, the pulses): the last id read, and the
    ids skipped over that a late commit may still fill (PostgreSQL), each looked for `GAP_GRACE_S`."""

    cursor: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def where(self, column: Any) -> Any:
        """The condition for the rows not read yet: after the cursor, or in a gap."""
        after = column > self.cursor
        return or_(after, column.in_(list(self.gaps))) if self.gaps else after

    def advance(self, entry_id: int) -> None:
        """Note an id read."""
        if entry_id in self.gaps:
            del self.gaps[entry_id]
            return
        now = time.monotonic()
        # A late commit holds one of the ids just below this one; ids far below were most likely
        # rolled back (a sequence runs on past them), so the gaps kept are the nearest ones.
        for missing in range(max(self.cursor + 1, entry_id - MAX_GAPS), entry_id):
            self.gaps[missing] = now
        self.cursor = max(self.cursor, entry_id)

    def expire(self) -> None:
        """Forget the gaps looked for long enough: rolled-back inserts."""
        horizon = time.monotonic() - GAP_GRACE_S
        for gap in [g for g, seen in self.gaps.items() if seen < horizon]:
            del self.gaps[gap]
        while len(self.gaps) > MAX_GAPS:
            del self.gaps[min(self.gaps)]


def _log_end() -> int:
    with db.read_transaction() as session:
        return int(session.execute(select(func.coalesce(func.max(AuditEntry.id), 0))).scalar_one())


def _pulses_end() -> int:
    with db.read_transaction() as session:
        return int(session.execute(select(func.coalesce(func.max(LivePulse.id), 0))).scalar_one())


def _details(session: Session, entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not entry_ids:
        return {}
    rows = session.execute(select(AuditEntry.id, AuditEntry.detail).where(AuditEntry.id.in_(entry_ids)))
    out: dict[int, dict[str, Any]] = {}
    for entry_id, detail in rows:
        try:
            loaded = json.loads(detail or "{}")
        except ValueError:
            loaded = {}
        out[entry_id] = loaded if isinstance(loaded, dict) else {}
    return out


HUB = Hub()


def topics_for(actor: Actor, asked: str) -> list[Topic]:
    """The topics named in `asked` (comma-separated), and those carried `everywhere`, that `actor`'s role
    may read; an unknown name is refused (422, field `topics`), a name the role may not read is left
    out, as its menu leaves the page."""
    names = [n.strip() for n in asked.split(",") if n.strip()]
    if unknown := [n for n in names if n not in _topics]:
        raise Invalid(f"unknown topic {unknown[0]!r}; known: {', '.join(sorted(_topics))}", field="topics")
    names += [n for n, t in _topics.items() if t.everywhere]
    return [_topics[n] for n in dict.fromkeys(names) if actor.role in _topics[n].roles]


@dataclass
class _Reader:
    """One open stream: its login, its topics and the counter value it last sent."""

    token: str
    topics: list[Topic]
    attention: int | None = None

    def render(self, changes: list[Change], *, force_attention: bool = False) -> list[Message] | None:
        """The messages for these changes, within the reader's view; None when the login has ended.

        A stream outlives the request that opened it: the token is checked at every read, so the stream
        ends at the token's expiry, at logout and when the user is deactivated.
        """
        with db.read_transaction() as session:
            try:
                actor = actor_from_token(session, self.token)
            except Unauthorized:
                return None
            out: list[Message] = []
            for topic in self.topics:
                mine = [c for c in changes if c.topic == topic.name]
                if mine:
                    out.extend(topic.render(session, actor, mine))
            if _attention and (force_attention or any(c.topic == ATTENTION for c in changes)):
                count = _attention[0].count(session, actor)
                if count is not None and count != self.attention:
                    self.attention = count
                    out.append(Message(ATTENTION, render_fragment("_attention_count.html", count=count)))
        return out


async def _events(
    reader: _Reader, sub: Subscription, backlog: list[Change]
) -> AsyncIterator[ServerSentEvent]:
    try:
        pending, first, last_check = backlog, True, time.monotonic()
        while True:
            seq = max((c.seq for c in pending), default=None)
            if pending or first or time.monotonic() - last_check >= TOKEN_CHECK_S:
                # The first read sends the counter, which may have moved since the page was rendered.
                messages = await asyncio.to_thread(reader.render, pending, force_attention=first)
                first, last_check = False, time.monotonic()
                if messages is None:
                    yield ServerSentEvent(event="end", data=json.dumps({"reason": "login ended"}))
                    return
                for m in messages:
                    yield ServerSentEvent(event=m.event, data=m.html, id=str(seq) if seq else None)
            if sub.behind:
                yield ServerSentEvent(event="end", data=json.dumps({"reason": "stream fell behind"}))
                return
            try:
                pending = await asyncio.wait_for(sub.queue.get(), timeout=TOKEN_CHECK_S)
            except TimeoutError:
                pending = []
    finally:
        # A closed tab: sse-starlette cancels this generator when the client goes away.
        HUB.unsubscribe(sub)


router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(require_roles(*HUMAN_ROLES))]


@router.get("/live/stream")
async def live_stream(
    request: Request,
    actor: Reader,
    topics: Annotated[str, Query(max_length=200)] = "",
) -> EventSourceResponse:
    """Server-sent events for an open page: server-rendered fragments of the topics asked for
    (comma-separated), within the user's view, and the header's attention counter. A reconnecting
    browser sends Last-Event-ID and gets the changes it missed that this process still holds."""
    chosen = topics_for(actor, topics)
    token = request_token(request) or request.cookies.get(TOKEN_COOKIE)
    assert token is not None  # the Reader guard admitted the request with it
    sub = await HUB.subscribe()
    last = request.headers.get("last-event-id", "")
    backlog = HUB.replay_after(int(last)) if last.isdigit() else []
    return EventSourceResponse(
        _events(_Reader(token, chosen), sub, backlog),
        ping=HEARTBEAT_S,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/static/vendor/htmx-ext-sse.js")
def sse_js() -> Response:
    """The htmx SSE extension, installed from the npm registry by `make` (package.json)."""
    if not SSE_JS.exists():
        return Response(status_code=404)
    return FileResponse(SSE_JS, media_type="application/javascript")


def stream_url(topics: str) -> Markup:
    """The address a page's `sse-connect` opens."""
    return Markup("/live/stream?topics={}").format(topics)


TEMPLATES.env.globals["live_stream_url"] = stream_url
