"""The seized-property ledger (涉案财物台账): registration with photos, hand-overs signed by both
sides, check-outs with due dates, release and disposal, and the reconciliation of the store.

The ledger writes the case's log through `actions.do_record_event`, so the rule pack's property clocks
run from it: registering an item meets `property.registration` (24 hours from the seizure); finding it
unrelated starts the 3-day release clock (`cpl.unrelated_property_return`,
`admin.unrelated_property_return`); releasing it lifts the seizure and meets that clock.

Separation of duties: the case officer of a case cannot be the custodian of its property (403).
Release and disposal need an approved request (`approvals`): the custodian acts on it, and neither
the custodian nor the requester approves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.i18n import N_
from pingan.core.roles import Actor, Role
from pingan.core.schemas import MAX_ROW_ID
from pingan.core.scoping import check_station
from pingan.core.settings import get_settings
from pingan.supervision import actions, approvals
from pingan.supervision.choices import CaseStatus, EventKind, MovementKind, PropertyState
from pingan.supervision.model import (
    ApprovalRequest,
    CaseEventRow,
    PropertyItem,
    PropertyMovement,
    PropertyPhoto,
    SupervisionCase,
)
from pingan.supervision.schemas import EventIn, MovementIn, PropertyIn, PropertyStepIn

# Who may hold seized property: officers and supervisors of the platform (the custodian is one of them).
HOLDER_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_SUPERVISOR})
PHOTO_TYPES = {"image/jpeg": (b"\xff\xd8\xff", ".jpg"), "image/png": (b"\x89PNG\r\n\x1a\n", ".png")}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# A hand-over left unconfirmed this long shows on the reconciliation.
UNCONFIRMED_AFTER = timedelta(hours=24)
CLOSED_STATES = frozenset({PropertyState.RELEASED, PropertyState.DISPOSED})


def photo_dir() -> Path:
    return get_settings().property_photo_dir


def get_item(session: Session, item_id: int, *, actor: Actor) -> tuple[PropertyItem, SupervisionCase]:
    """The item and its case, if within the actor's view (NotFound otherwise)."""
    item = session.get(PropertyItem, item_id) if 1 <= item_id <= MAX_ROW_ID else None
    if item is None:
        raise NotFound("no property item", field="id")
    case = session.get_one(SupervisionCase, item.case_id)
    check_station(actor, case.station_code, what="property item")
    return item, case


def items_of(session: Session, case_id: int) -> Sequence[PropertyItem]:
    return session.scalars(
        select(PropertyItem).where(PropertyItem.case_id == case_id).order_by(PropertyItem.id)
    ).all()


def photos_of(session: Session, item_id: int) -> Sequence[PropertyPhoto]:
    return session.scalars(
        select(PropertyPhoto).where(PropertyPhoto.item_id == item_id).order_by(PropertyPhoto.id)
    ).all()


def movements_of(session: Session, item_id: int) -> Sequence[PropertyMovement]:
    return session.scalars(
        select(PropertyMovement).where(PropertyMovement.item_id == item_id).order_by(PropertyMovement.id)
    ).all()


def _open(case: SupervisionCase) -> None:
    if case.status is not CaseStatus.OPEN:
        raise Conflict("the case is closed", field="id")


def _seized(case: SupervisionCase, label: str) -> CaseEventRow | None:
    return next((e for e in case.events if e.kind is EventKind.SEIZURE and e.item == label), None)


def _separation(case: SupervisionCase, username: str) -> None:
    if username == case.officer:
        raise Forbidden(
            f"{username} is the case officer of case {case.number} and cannot be the custodian of its "
            "property (separation of duties)",
            field="to_user",
        )


# ------------------------------------------------------------------------------------ registration


def check_register(
    session: Session, case: SupervisionCase, data: PropertyIn, *, actor: Actor, now: datetime
) -> None:
    """Refuse registering an item not seized in the case's log, registered twice, or dated wrongly."""
    actions._authorise(actor, actions.CASE_WRITERS, "register seized property")
    _open(case)
    seizure = _seized(case, data.label)
    if seizure is None:
        raise Invalid(
            f"no seizure of item {data.label!r} in this case: record the seizure first", field="label"
        )
    if data.at < seizure.at:
        raise Invalid("an item cannot be registered before it was seized", field="at")
    if data.at > now + actions.FUTURE_SKEW:
        raise Invalid("a registration cannot be dated in the future", field="at")
    taken = session.execute(
        select(PropertyItem.id).where(PropertyItem.case_id == case.id, PropertyItem.label == data.label)
    ).first()
    if taken:
        raise Conflict(f"item {data.label!r} is registered already", field="label")


def do_register(
    session: Session, case: SupervisionCase, data: PropertyIn, *, actor: Actor, now: datetime
) -> PropertyItem:
    """Register the item, held by the registering officer until the custodian receives it; the case's
    log gets `property_registered`, which meets the 24-hour registration clock."""
    item = PropertyItem(
        case_id=case.id,
        label=data.label,
        description=data.description,
        quantity=data.quantity,
        state=PropertyState.REGISTERED,
        holder=actor.username,
        registered_by=actor.username,
        registered_at=data.at,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.property_registered",
        object_type="supervision_property",
        object_id=item.id,
        detail={"case_id": case.id, "label": item.label, "quantity": item.quantity},
    )
    actions.do_record_event(
        session,
        case,
        EventIn(kind=EventKind.PROPERTY_REGISTERED, at=data.at, item=data.label),
        actor=actor,
        now=now,
    )
    return item


# ------------------------------------------------------------------------------------------ photos


def check_photo(
    case: SupervisionCase, item: PropertyItem, content: bytes, content_type: str, *, actor: Actor
) -> str:
    """The file suffix of a valid photo; Invalid naming `file` if empty, too large or not JPEG/PNG."""
    actions._authorise(actor, actions.CASE_WRITERS, "add a photo of seized property")
    if not content:
        raise Invalid("the photo is empty", field="file")
    if len(content) > MAX_PHOTO_BYTES:
        raise Invalid(f"a photo may be {MAX_PHOTO_BYTES // (1024 * 1024)} MiB at most", field="file")
    kind = PHOTO_TYPES.get(content_type)
    if kind is None or not content.startswith(kind[0]):
        raise Invalid("a photo is a JPEG or PNG image", field="file")
    return kind[1]


def do_add_photo(
    session: Session,
    item: PropertyItem,
    content: bytes,
    content_type: str,
    suffix: str,
    *,
    actor: Actor,
    now: datetime,
) -> PropertyPhoto:
    """Store the file under its SHA-256 (content-addressed, written once) and record hash and path."""
    digest = hashlib.sha256(content).hexdigest()
    relative = Path(digest[:2]) / f"{digest}{suffix}"
    target = photo_dir() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(target)  # atomic: a reader never sees half a file
    photo = PropertyPhoto(
        item_id=item.id,
        sha256=digest,
        path=relative.as_posix(),
        size=len(content),
        content_type=content_type,
        added_by=actor.username,
        added_at=now,
    )
    session.add(photo)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.property_photo_added",
        object_type="supervision_property",
        object_id=item.id,
        detail={"photo_id": photo.id, "sha256": digest, "size": len(content)},
    )
    return photo


def photo_bytes(photo: PropertyPhoto) -> bytes:
    """The stored file, checked against its hash; Conflict if it was changed or lost."""
    target = photo_dir() / photo.path
    if not target.is_file():
        raise Conflict(f"the file of photo {photo.id} is missing from the store", field="id")
    content = target.read_bytes()
    if hashlib.sha256(content).hexdigest() != photo.sha256:
        raise Conflict(f"the file of photo {photo.id} does not match its SHA-256", field="id")
    return content


# --------------------------------------------------------------------------------------- movements


def _pending(session: Session, item_id: int) -> PropertyMovement | None:
    return session.scalars(
        select(PropertyMovement).where(
            PropertyMovement.item_id == item_id, PropertyMovement.confirmed_at.is_(None)
        )
    ).first()


def _holder_user(session: Session, username: str, field: str) -> None:
    user = actions._user(session, username)
    if user is None or not user.active or user.role not in HOLDER_ROLES:
        raise Invalid(f"{username!r} is not an active officer who may hold property", field=field)


def check_movement(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: MovementIn,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Refuse a hand-over not started by the holder, to oneself, out of order, or to the case officer
    as custodian (403, separation of duties)."""
    actions._authorise(actor, actions.CASE_WRITERS, "hand over seized property")
    if item.state in CLOSED_STATES:
        raise Conflict(f"the item is {item.state.value}", field="id")
    if actor.username != item.holder:
        raise Forbidden(f"only its holder {item.holder} may hand the item over", field="id")
    if data.to_user == actor.username:
        raise Invalid("an item cannot be handed to oneself", field="to_user")
    _holder_user(session, data.to_user, "to_user")
    if _pending(session, item.id) is not None:
        raise Conflict("a hand-over of this item awaits confirmation", field="id")
    expected = {
        MovementKind.CUSTODY: PropertyState.REGISTERED,
        MovementKind.CHECK_OUT: PropertyState.IN_STORE,
        MovementKind.RETURN: PropertyState.CHECKED_OUT,
    }[data.kind]
    if item.state is not expected:
        raise Conflict(
            f"a {data.kind.value} needs the item {expected.value}; it is {item.state.value}", field="kind"
        )
    if data.kind is MovementKind.CUSTODY:
        _separation(case, data.to_user)
    if data.kind is MovementKind.CHECK_OUT:
        if data.due_at is None:
            raise Invalid("a check-out has a due date", field="due_at")
        if data.due_at <= now:
            raise Invalid("a check-out is due back in the future", field="due_at")
    elif data.due_at is not None:
        raise Invalid(f"a {data.kind.value} has no due date", field="due_at")
    if data.kind is MovementKind.RETURN and data.to_user != item.custodian:
        raise Invalid(f"the item goes back to its custodian {item.custodian}", field="to_user")


def do_movement(
    session: Session, item: PropertyItem, data: MovementIn, *, actor: Actor, now: datetime
) -> PropertyMovement:
    """The handing user's half of the hand-over; the item moves when the receiver confirms."""
    move = PropertyMovement(
        item_id=item.id,
        kind=data.kind,
        from_user=actor.username,
        to_user=data.to_user,
        requested_at=now,
        due_at=data.due_at,
        location=data.location,
        note=data.note,
    )
    session.add(move)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="supervision.property_handed_over",
        object_type="supervision_property",
        object_id=item.id,
        detail={"movement_id": move.id, "kind": move.kind.value, "to_user": move.to_user},
    )
    return move


def get_movement(
    session: Session, movement_id: int, *, actor: Actor
) -> tuple[PropertyMovement, PropertyItem, SupervisionCase]:
    move = session.get(PropertyMovement, movement_id) if 1 <= movement_id <= MAX_ROW_ID else None
    if move is None:
        raise NotFound("no hand-over", field="id")
    item, case = get_item(session, move.item_id, actor=actor)
    return move, item, case


def check_confirm(case: SupervisionCase, item: PropertyItem, move: PropertyMovement, *, actor: Actor) -> None:
    """Only the receiving user confirms, once; the case officer never confirms as custodian (403)."""
    actions._authorise(actor, actions.CASE_WRITERS, "confirm a hand-over")
    if move.confirmed_at is not None:
        raise Conflict("the hand-over is confirmed already", field="id")
    if actor.username != move.to_user:
        raise Forbidden(f"only the receiver {move.to_user} may confirm this hand-over", field="id")
    if move.kind is MovementKind.CUSTODY:
        _separation(case, actor.username)


def do_confirm(
    session: Session, item: PropertyItem, move: PropertyMovement, *, actor: Actor, now: datetime
) -> None:
    """The receiver's signature: the item moves to them."""
    move.confirmed_at = now
    item.holder = move.to_user
    if move.kind is MovementKind.CUSTODY:
        item.custodian = move.to_user
        item.state = PropertyState.IN_STORE
        item.location = move.location or item.location
    elif move.kind is MovementKind.CHECK_OUT:
        item.state = PropertyState.CHECKED_OUT
    else:
        item.state = PropertyState.IN_STORE
    audit.record(
        session,
        actor=actor,
        action="supervision.property_received",
        object_type="supervision_property",
        object_id=item.id,
        detail={"movement_id": move.id, "kind": move.kind.value, "from_user": move.from_user},
    )


# -------------------------------------------------------------------------- unrelated, release, disposal


def check_unrelated(
    case: SupervisionCase, item: PropertyItem, data: PropertyStepIn, *, actor: Actor, now: datetime
) -> None:
    actions._authorise(actor, actions.CASE_WRITERS, "record seized property as unrelated")
    _open(case)
    if item.state in CLOSED_STATES:
        raise Conflict(f"the item is {item.state.value}", field="id")
    if item.found_unrelated_at is not None:
        raise Conflict("the item is recorded as unrelated already", field="id")
    if data.at < item.registered_at or data.at > now + actions.FUTURE_SKEW:
        raise Invalid("the finding is dated between the registration and now", field="at")


def do_unrelated(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: PropertyStepIn,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Record the finding; the case's log gets `property_found_unrelated`, starting the 3-day clock."""
    item.found_unrelated_at = data.at
    actions.do_record_event(
        session,
        case,
        EventIn(kind=EventKind.PROPERTY_FOUND_UNRELATED, at=data.at, item=item.label, note=data.note),
        actor=actor,
        now=now,
    )


def check_close(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: PropertyStepIn,
    state: PropertyState,
    *,
    actor: Actor,
    now: datetime,
) -> ApprovalRequest:
    """Release or disposal: by the custodian, of an item in the store, on an approved request in force
    at `now` (409 naming why without one: none, pending, lapsed or used); returns that request."""
    actions._authorise(actor, actions.CASE_WRITERS, "release or dispose of seized property")
    _open(case)
    if item.state is not PropertyState.IN_STORE:
        raise Conflict(
            f"only an item in the store can be {state.value}; it is {item.state.value}", field="id"
        )
    if actor.username != item.custodian:
        raise Forbidden(f"only the custodian {item.custodian} may release or dispose of the item", field="id")
    request = approvals.approved_for(session, item, state, now=now)
    if request.decided_by == actor.username:
        raise Forbidden("the custodian cannot act on a request they approved themselves", field="id")
    if data.at < item.registered_at or data.at > now + actions.FUTURE_SKEW:
        raise Invalid("the step is dated between the registration and now", field="at")
    return request


def do_close(
    session: Session,
    case: SupervisionCase,
    item: PropertyItem,
    data: PropertyStepIn,
    state: PropertyState,
    request: ApprovalRequest,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Close the item out of the store on its approved request, which is used up. A release lifts the
    seizure in the case's log (meeting the release clocks), approved by the request's decider; a
    disposal is recorded in the ledger and audited."""
    approvals.mark_used(request, now=now)
    item.state = state
    item.closed_at = data.at
    item.closure_note = data.note
    item.holder = ""
    audit.record(
        session,
        actor=actor,
        action=f"supervision.property_{state.value}",
        object_type="supervision_property",
        object_id=item.id,
        detail={
            "request_id": request.id,
            "requested_by": request.requested_by,
            "approved_by": request.decided_by,
            "at": data.at.isoformat(),
        },
    )
    if state is PropertyState.RELEASED:
        row = actions.do_record_event(
            session,
            case,
            EventIn(kind=EventKind.SEIZURE_LIFTED, at=data.at, item=item.label, note=data.note),
            actor=actor,
            now=now,
            approved_by=request.decided_by,
        )
        request.result_event_id = row.id
    session.flush()


# ---------------------------------------------------------------------------------- reconciliation

PROBLEMS = {
    "overdue": N_("checked out past its due date"),
    "never_received": N_("registered, never received into the store"),
    "unconfirmed": N_("hand-over awaiting the receiver's confirmation for over 24 hours"),
    "unrelated_held": N_("found unrelated, not yet released"),
    "never_registered": N_("seized, never registered"),
    "photo_missing": N_("no photo"),
}


@dataclass(frozen=True)
class ReconciliationLine:
    """One thing the store should hold, or account for, that it does not."""

    case_id: int
    case_number: str
    item_id: int | None
    label: str
    problem: str  # a key of PROBLEMS
    holder: str
    since: datetime | None


@dataclass(frozen=True)
class Reconciliation:
    expected_in_store: int  # items the ledger says are in the store
    checked_out: int
    lines: list[ReconciliationLine]


def reconcile(session: Session, actor: Actor, *, now: datetime) -> Reconciliation:
    """What the store should hold against what the ledger shows, for the cases in the actor's view."""
    cases = [
        c
        for c in session.scalars(select(SupervisionCase).order_by(SupervisionCase.id))
        if actor.sees_station(c.station_code)
    ]
    by_id = {c.id: c for c in cases}
    items = (
        session.scalars(
            select(PropertyItem).where(PropertyItem.case_id.in_(by_id)).order_by(PropertyItem.id)
        ).all()
        if by_id
        else []
    )
    with_photo = set(session.scalars(select(PropertyPhoto.item_id).distinct()).all())
    pending = {
        m.item_id: m
        for m in session.scalars(
            select(PropertyMovement).where(PropertyMovement.confirmed_at.is_(None))
        ).all()
    }
    lines: list[ReconciliationLine] = []
    in_store = out = 0
    registered: set[tuple[int, str]] = set()
    for item in items:
        case = by_id[item.case_id]
        registered.add((case.id, item.label))

        def line(
            problem: str, since: datetime | None, item: PropertyItem = item, case: SupervisionCase = case
        ) -> None:
            lines.append(
                ReconciliationLine(case.id, case.number, item.id, item.label, problem, item.holder, since)
            )

        if item.state is PropertyState.IN_STORE:
            in_store += 1
        if item.state is PropertyState.CHECKED_OUT:
            out += 1
            checkout = next(
                (
                    m
                    for m in reversed(movements_of(session, item.id))
                    if m.kind is MovementKind.CHECK_OUT and m.confirmed_at
                ),
                None,
            )
            if checkout is not None and checkout.due_at is not None and checkout.due_at < now:
                line("overdue", checkout.due_at)
        if item.state is PropertyState.REGISTERED:
            line("never_received", item.registered_at)
        move = pending.get(item.id)
        if move is not None and now - move.requested_at > UNCONFIRMED_AFTER:
            line("unconfirmed", move.requested_at)
        if item.found_unrelated_at is not None and item.state not in CLOSED_STATES:
            line("unrelated_held", item.found_unrelated_at)
        if item.id not in with_photo and item.state not in CLOSED_STATES:
            line("photo_missing", item.registered_at)
    for case in cases:
        for e in case.events:
            if e.kind is EventKind.SEIZURE and (case.id, e.item) not in registered:
                lines.append(
                    ReconciliationLine(
                        case.id, case.number, None, e.item, "never_registered", case.officer, e.at
                    )
                )
                registered.add((case.id, e.item))
    lines.sort(key=lambda ln: (list(PROBLEMS).index(ln.problem), ln.since or now))
    return Reconciliation(expected_in_store=in_store, checked_out=out, lines=lines)
