"""Read side of warnings for other packages' pages: the warnings sent to one person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pingan.antifraud.reports.story import ReportSubject, StoryEntry, StoryPart
from pingan.antifraud.warnings.choices import MessageState
from pingan.antifraud.warnings.model import WarningDelivery, WarningMessage
from pingan.core.i18n import _, label
from pingan.core.roles import Actor
from pingan.core.scoping import station_condition

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
