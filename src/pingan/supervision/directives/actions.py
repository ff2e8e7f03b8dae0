"""The only code that writes directives. `check_*` validates and authorises; `do_*` writes in the
caller's transaction and audits there.

Issuing is two steps: `check_issue_directive` refuses bad input and returns the earlier directives the
draft nearly duplicates; a router that gets any back and no `confirm_duplicate` shows them to the
issuer instead of sending (409). Sent anyway, the directive keeps the override and its audit entry
names the directives and the similarity shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from pingan.core import audit, events
from pingan.core.errors import Conflict, Forbidden, Invalid, NotFound
from pingan.core.i18n import N_
from pingan.core.org import stations_by_code
from pingan.core.roles import Actor, Role
from pingan.supervision.directives import queries, rules
from pingan.supervision.directives.model import Directive, DirectiveRecipient
from pingan.supervision.directives.schemas import AnswerIn, DirectiveIn

# The bureau's supervisors (and the administrator) send directives down; station officers answer
# them for their station.
ISSUERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ANSWERERS = frozenset({Role.OFFICER})
READERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.OFFICER, Role.AUDITOR, Role.LEGAL_SUPERVISOR})

EVENT_DIRECTIVE_ISSUED = "directives.issued"
EVENT_DIRECTIVE_ANSWERED = "directives.answered"


def _authorise(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role.value} may not {what}")


@dataclass(frozen=True)
class IssueCheck:
    """What the check found: the stations as given (deduplicated, in order) and the near duplicates."""

    stations: tuple[str, ...]
    similar: tuple[rules.Match, ...]


def check_issue_directive(session: Session, draft: DirectiveIn, *, actor: Actor, now: datetime) -> IssueCheck:
    """Authorise the issuer and validate the draft; return the earlier directives it nearly duplicates.

    Refuses (422, naming the field) a deadline at or before the issue time and a station that does not
    exist."""
    _authorise(actor, ISSUERS, "issue directives")
    decision = rules.deadline_check(now, draft.deadline)
    if not decision.ok:
        raise Invalid(
            f"the deadline {draft.deadline.isoformat()} must come after the issue time {now.isoformat()}",
            field="deadline",
        )
    codes = tuple(dict.fromkeys(s.strip() for s in draft.stations if s.strip()))
    if not codes:
        raise Invalid(N_("name at least one station"), field="stations")
    known = stations_by_code(session, set(codes))
    for i, code in enumerate(codes):
        if code not in known:
            raise Invalid(f"no station {code!r}", field=f"stations.{i}")
    candidate = rules.Candidate(0, draft.subject, draft.text, now, frozenset(codes))
    earlier = queries.candidates_since(session, now - rules.LOOKBACK, stations=set(codes), until=now)
    return IssueCheck(codes, tuple(rules.similar_directives(candidate, earlier)))


def do_issue_directive(
    session: Session, draft: DirectiveIn, checked: IssueCheck, *, actor: Actor, now: datetime
) -> Directive:
    """Send the directive to its stations and audit it; a send despite near duplicates is audited as
    an override naming them. Refuses (409) near duplicates not confirmed. Caller holds the transaction."""
    if checked.similar and not draft.confirm_duplicate:
        raise Conflict(
            "this directive nearly duplicates earlier ones: confirm to send it anyway",
            field="confirm_duplicate",
        )
    best = max((m.similarity for m in checked.similar), default=None)
    directive = Directive(
        subject=draft.subject,
        text=draft.text,
        issuer=actor.username,
        issued_at=now,
        deadline=draft.deadline,
        required_answer=draft.required_answer,
        duplicate_override=best,
        similar_to=",".join(str(m.directive_id) for m in checked.similar),
    )
    directive.recipients = [DirectiveRecipient(station_code=code) for code in checked.stations]
    session.add(directive)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="directive.issue",
        object_type="directive",
        object_id=directive.id,
        detail={"stations": list(checked.stations), "subject": draft.subject},
    )
    if checked.similar:
        audit.record(
            session,
            actor=actor,
            action="directive.duplicate_override",
            object_type="directive",
            object_id=directive.id,
            detail={"similar": [{"id": m.directive_id, "similarity": m.similarity} for m in checked.similar]},
        )
    events.emit(session, EVENT_DIRECTIVE_ISSUED, directive_id=directive.id, stations=list(checked.stations))
    return directive


def get_recipient(session: Session, directive_id: int, *, actor: Actor) -> DirectiveRecipient:
    """The actor's station's copy of a directive; NotFound when the directive does not go there."""
    station = actor.station_code
    row = queries.recipient(session, directive_id, station) if station else None
    if row is None:
        raise NotFound(N_("no directive to your station"), field="id")
    return row


def check_answer(recipient: DirectiveRecipient, answer: AnswerIn, *, actor: Actor, now: datetime) -> None:
    """Authorise a station officer to answer their station's copy once."""
    _authorise(actor, ANSWERERS, "answer directives")
    if actor.station_code != recipient.station_code:
        raise NotFound(N_("no directive to your station"), field="id")
    if recipient.answered_at is not None:
        raise Conflict(N_("your station has already answered this directive"), field="id")
    if now < recipient.directive.issued_at:
        raise Invalid(N_("an answer cannot come before the directive was issued"), field="answered_at")


def do_answer(
    session: Session, recipient: DirectiveRecipient, answer: AnswerIn, *, actor: Actor, now: datetime
) -> DirectiveRecipient:
    """Record the station's answer and the minutes spent, and audit it. Caller holds the transaction."""
    recipient.answered_at = now
    recipient.answered_by = actor.username
    recipient.answer_text = answer.text
    recipient.minutes_spent = answer.minutes_spent
    audit.record(
        session,
        actor=actor,
        action="directive.answer",
        object_type="directive",
        object_id=recipient.directive_id,
        detail={"station": recipient.station_code, "minutes_spent": answer.minutes_spent},
    )
    events.emit(
        session, EVENT_DIRECTIVE_ANSWERED, directive_id=recipient.directive_id, station=recipient.station_code
    )
    return recipient
