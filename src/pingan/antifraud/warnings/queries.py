"""Read side of warning delivery: the deliveries list with its filters, search and export columns,
and the warnings sent to one person, for other packages' pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.reports.story import ReportSubject, StoryEntry, StoryPart
from pingan.antifraud.risk import queries as risk_queries
from pingan.antifraud.warnings.choices import ChannelKind, DeliveryState, MessageState
from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.core.i18n import _, label
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm, any_of
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition

DELIVERY_LIST = ListSpec(
    name="warning_delivery",
    sorts={
        "received_at": WarningDelivery.received_at,
        "amount": WarningDelivery.amount_fen,
        "state": WarningDelivery.state,
    },
    default_sort="-received_at",
    id_column=WarningDelivery.id,
)


@dataclass(frozen=True)
class DeliveryFilter:
    """The filters of the deliveries list; every one optional."""

    channel: ChannelKind | None = None
    status: DeliveryState | None = None
    search: SearchTerm | None = None


def delivery_search(term: SearchTerm) -> ColumnElement[bool]:
    """The deliveries a search finds: by plan id, or through pseudonyms: a person's ID number is the
    delivery's person key, and a phone finds the people whose warning plan was sent to it."""
    conditions: list[ColumnElement[bool]] = []
    if term.text:
        conditions.append(WarningDelivery.plan_id == term.text)
    if term.national_id:
        conditions.append(WarningDelivery.person_pseudonym == term.national_id)
    if term.phone:
        conditions.append(WarningDelivery.person_pseudonym.in_(risk_queries.plans_by_phone(term.phone)))
    return any_of(conditions)


def delivery_list_query(f: DeliveryFilter, *, actor: Actor) -> Select[Any]:
    """The deliveries matching `f` within `actor`'s station view: masked columns only, unordered."""
    q = select(
        WarningDelivery.id,
        WarningDelivery.plan_id,
        WarningDelivery.person_pseudonym,
        func.substr(WarningDelivery.person_pseudonym, 1, 16).label("person_short"),
        WarningDelivery.phone.masked.label("phone"),
        WarningDelivery.typology,
        WarningDelivery.amount_fen,
        WarningDelivery.home_station_code,
        WarningDelivery.state,
        WarningDelivery.priority,
        WarningDelivery.received_at,
        WarningDelivery.first_contact_at,
        WarningDelivery.first_contact_channel,
    ).where(station_condition(actor, WarningDelivery.home_station_code))
    if f.channel is not None:
        q = q.where(
            select(WarningMessage.id)
            .where(WarningMessage.delivery_id == WarningDelivery.id, WarningMessage.kind == f.channel)
            .exists()
        )
    if f.status is not None:
        q = q.where(WarningDelivery.state == f.status)
    if f.search is not None:
        q = q.where(delivery_search(f.search))
    return q


DELIVERY_EXPORT = (
    ExportColumn("Plan", "plan_id"),
    ExportColumn("Person", "person_short"),
    ExportColumn("Phone", "phone"),
    ExportColumn("Typology", "typology"),
    ExportColumn("Amount", "amount_fen", CellKind.MONEY),
    ExportColumn("Station", "home_station_code"),
    ExportColumn("State", "state", CellKind.LABEL),
    ExportColumn("Priority", "priority", CellKind.LABEL),
    ExportColumn("Received", "received_at", CellKind.TIME),
    ExportColumn("First contact", "first_contact_at", CellKind.TIME),
    ExportColumn("First contact channel", "first_contact_channel", CellKind.LABEL),
)

# A message reached the person only on the network's word: a delivery report for a text, an
# answered call for a voice message. Submitted, queued and outbox-recorded messages did not.
REACHED_STATES = frozenset({MessageState.DELIVERED, MessageState.ANSWERED})


@dataclass(frozen=True)
class SentWarning:
    """One message of a warning to a person, and whether it reached them."""

    delivery: WarningDelivery
    message: WarningMessage

    @property
    def reached(self) -> bool:
        """True only on a delivery report or an answered call."""
        return self.message.state in REACHED_STATES


def warnings_to(session: Session, person_pseudonym: str, *, actor: Actor) -> list[SentWarning]:
    """Every warning message to the person with this national-ID pseudonym, within `actor`'s station
    view, oldest first."""
    deliveries = session.execute(
        select(WarningDelivery)
        .where(
            WarningDelivery.person_pseudonym == person_pseudonym,
            station_condition(actor, WarningDelivery.home_station_code),
        )
        .options(selectinload(WarningDelivery.messages))
        .order_by(WarningDelivery.received_at, WarningDelivery.id)
    ).scalars()
    return [SentWarning(d, m) for d in deliveries for m in d.messages]


def report_story(session: Session, subject: ReportSubject, actor: Actor) -> list[StoryPart]:
    """The report page's section of warnings sent to the victim, with their timeline entries."""
    sent = warnings_to(session, subject.victim_pseudonym, actor=actor)
    entries = [
        StoryEntry(
            at=w.message.final_at or w.message.submitted_at or w.message.created_at,
            what=_("Warning %(kind)s to the victim: %(state)s")
            % {"kind": label(w.message.kind), "state": label(w.message.state)},
            href=f"/warnings/persons/{w.delivery.person_pseudonym}",
        )
        for w in sent
    ]
    return [
        StoryPart(
            key="warnings",
            title=_("Warnings sent to the victim"),
            template="story_warnings.html",
            items=sent,
            entries=entries,
        )
    ]
