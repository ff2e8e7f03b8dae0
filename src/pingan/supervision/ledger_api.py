"""The seized-property ledger over HTTP: register, photograph, hand over, confirm, release on an
approved request, reconcile; the quality ledger and the leaderboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import NotFound
from pingan.core.i18n import html_lang
from pingan.core.roles import Actor
from pingan.supervision import actions, ledger, scores
from pingan.supervision.choices import PropertyState
from pingan.supervision.model import PropertyItem, PropertyPhoto, QualityEntry
from pingan.supervision.pack import in_force
from pingan.supervision.schemas import (
    MovementIn,
    MovementOut,
    PhotoOut,
    PropertyIn,
    PropertyOut,
    PropertyStepIn,
    QualityEntryOut,
    ReconciliationLineOut,
    StandingOut,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
Reader = Annotated[Actor, Depends(require_roles(*actions.CASE_READERS))]
Writer = Annotated[Actor, Depends(require_roles(*actions.CASE_WRITERS))]


def item_out(session: Session, item: PropertyItem) -> PropertyOut:
    out = PropertyOut.model_validate(item, from_attributes=True)
    out.photos = [
        PhotoOut.model_validate(p, from_attributes=True) for p in ledger.photos_of(session, item.id)
    ]
    out.movements = [
        MovementOut.model_validate(m, from_attributes=True) for m in ledger.movements_of(session, item.id)
    ]
    return out


@router.post("/cases/{case_id}/property", response_model=PropertyOut, status_code=201)
def register_property(case_id: int, body: PropertyIn, session: DbSession, actor: Writer) -> PropertyOut:
    """Register a seized item (its label names the case's seizure step); meets the 24-hour rule."""
    now = clock.now()
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        ledger.check_register(session, case, body, actor=actor, now=now)
        item = ledger.do_register(session, case, body, actor=actor, now=now)
        out = item_out(session, item)
    return out


@router.get("/cases/{case_id}/property", response_model=list[PropertyOut])
def case_property(case_id: int, session: DbSession, actor: Reader) -> list[PropertyOut]:
    """The case's seized items with their photos and hand-overs."""
    with session.begin():
        case = actions.get_case(session, case_id, actor=actor)
        out = [item_out(session, i) for i in ledger.items_of(session, case.id)]
    return out


@router.post("/property/{item_id}/photos", response_model=PhotoOut, status_code=201)
def add_photo(
    item_id: int, session: DbSession, actor: Writer, file: Annotated[UploadFile, File()]
) -> PhotoOut:
    """Add a JPEG or PNG photo: stored as a file under its SHA-256, the hash and path recorded."""
    now = clock.now()
    content = file.file.read(ledger.MAX_PHOTO_BYTES + 1)
    with session.begin():
        item, case = ledger.get_item(session, item_id, actor=actor)
        suffix = ledger.check_photo(case, item, content, file.content_type or "", actor=actor)
        photo = ledger.do_add_photo(
            session, item, content, file.content_type or "", suffix, actor=actor, now=now
        )
        out = PhotoOut.model_validate(photo, from_attributes=True)
    return out


@router.get("/property/photos/{photo_id}")
def get_photo(photo_id: int, session: DbSession, actor: Reader) -> Response:
    """The photo's file, checked against its SHA-256 (409 if it was changed or lost)."""
    with session.begin():
        photo = session.get(PropertyPhoto, photo_id) if 1 <= photo_id <= MAX_ROW_ID else None
        if photo is None:
            raise NotFound("no photo", field="id")
        ledger.get_item(session, photo.item_id, actor=actor)
        content = ledger.photo_bytes(photo)
    return Response(content, media_type=photo.content_type)


@router.post("/property/{item_id}/movements", response_model=MovementOut, status_code=201)
def hand_over(item_id: int, body: MovementIn, session: DbSession, actor: Writer) -> MovementOut:
    """The holder hands the item over (into custody, a check-out with its due date, or a return).
    403 when the case officer is named custodian."""
    now = clock.now()
    with session.begin():
        item, case = ledger.get_item(session, item_id, actor=actor)
        ledger.check_movement(session, case, item, body, actor=actor, now=now)
        move = ledger.do_movement(session, item, body, actor=actor, now=now)
        out = MovementOut.model_validate(move, from_attributes=True)
    return out


@router.post("/property/movements/{movement_id}/confirm", response_model=PropertyOut)
def confirm(movement_id: int, session: DbSession, actor: Writer) -> PropertyOut:
    """The receiver signs the hand-over; the item moves to them."""
    now = clock.now()
    with session.begin():
        move, item, case = ledger.get_movement(session, movement_id, actor=actor)
        ledger.check_confirm(case, item, move, actor=actor)
        ledger.do_confirm(session, item, move, actor=actor, now=now)
        out = item_out(session, item)
    return out


@router.post("/property/{item_id}/unrelated", response_model=PropertyOut)
def found_unrelated(item_id: int, body: PropertyStepIn, session: DbSession, actor: Writer) -> PropertyOut:
    """Record the item as unrelated to the case: the 3-day release clock starts."""
    now = clock.now()
    with session.begin():
        item, case = ledger.get_item(session, item_id, actor=actor)
        ledger.check_unrelated(case, item, body, actor=actor, now=now)
        ledger.do_unrelated(session, case, item, body, actor=actor, now=now)
        out = item_out(session, item)
    return out


def _close(
    item_id: int, body: PropertyStepIn, session: Session, actor: Actor, state: PropertyState
) -> PropertyOut:
    now = clock.now()
    with session.begin():
        item, case = ledger.get_item(session, item_id, actor=actor)
        request = ledger.check_close(session, case, item, body, state, actor=actor, now=now)
        ledger.do_close(session, case, item, body, state, request, actor=actor, now=now)
        out = item_out(session, item)
    return out


@router.post("/property/{item_id}/release", response_model=PropertyOut)
def release(item_id: int, body: PropertyStepIn, session: DbSession, actor: Writer) -> PropertyOut:
    """The custodian returns the item to its owner on an approved request (409 naming why without one):
    the seizure is lifted in the case's log."""
    return _close(item_id, body, session, actor, PropertyState.RELEASED)


@router.post("/property/{item_id}/disposal", response_model=PropertyOut)
def dispose(item_id: int, body: PropertyStepIn, session: DbSession, actor: Writer) -> PropertyOut:
    """The custodian disposes of the item on an approved request (409 naming why without one)."""
    return _close(item_id, body, session, actor, PropertyState.DISPOSED)


@router.get("/property/reconciliation", response_model=list[ReconciliationLineOut])
def reconciliation(session: DbSession, actor: Reader) -> list[ReconciliationLineOut]:
    """What the store should hold against what it does, for the cases in the caller's view."""
    with session.begin():
        rec = ledger.reconcile(session, actor, now=clock.now())
    return [
        ReconciliationLineOut(
            item_id=ln.item_id,
            case_id=ln.case_id,
            case_number=ln.case_number,
            label=ln.label,
            problem=ln.problem,
            holder=ln.holder,
            since=ln.since,
        )
        for ln in rec.lines
    ]


@router.get("/quality", response_model=list[QualityEntryOut])
def quality_entries(
    session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)]
) -> list[QualityEntryOut]:
    """The quality ledger of a month (YYYY-MM) for the stations in view: deductions and appeal decisions."""
    m = scores.parse_month(month)
    with session.begin():
        rows = session.scalars(
            select(QualityEntry).where(QualityEntry.month == m).order_by(QualityEntry.id)
        ).all()
        out = [
            QualityEntryOut.model_validate(e, from_attributes=True)
            for e in rows
            if actor.sees_station(e.station_code)
        ]
    return out


@router.get("/leaderboard", response_model=list[StandingOut])
def leaderboard(
    session: DbSession, actor: Reader, month: Annotated[str, Query(max_length=7)]
) -> list[StandingOut]:
    """The stations of the month, best first, with the rules that moved each."""
    m = scores.parse_month(month)
    pack = in_force()
    with session.begin():
        units, _people = scores.leaderboard(session, m, actor=actor)
        out = [
            StandingOut(
                key=u.key,
                name=u.name,
                score=u.score,
                reasons=u.reasons(pack, zh=html_lang().startswith("zh")),
            )
            for u in units
        ]
    return out
