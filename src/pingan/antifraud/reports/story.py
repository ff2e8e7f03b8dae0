"""A report's whole story on one page: the parts other packages tell about a report.

The report page shows the transfers, orders, findings, trace, warnings and linked cases of one
report. Orders, tracing and warnings depend on reports, so reports may not import them (the
packages form no cycle). Instead each of them offers a `StorySource`, a read-only query, and the
app registers it here once (`web.app`), as it registers the menu. The report page calls every
source and merges their timelines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from pingan.core.roles import Actor


@dataclass(frozen=True)
class ReportSubject:
    """What a source needs to know of the report: its id, reference, station and the victim's
    national-ID pseudonym (the key warnings are filed under); never a clear identifier."""

    id: int
    external_ref: str
    station_code: str
    victim_pseudonym: str


@dataclass(frozen=True)
class StoryEntry:
    """One line of the report's timeline: when, what happened (translated text) and where to read more."""

    at: datetime
    what: str
    detail: str = ""
    href: str | None = None


@dataclass(frozen=True)
class StoryPart:
    """A section of the report page: its anchor and title (translated), the template that draws it,
    its rows, and its timeline entries.

    `template` is a partial in the source package's `templates/`, rendered with `part` in context.
    """

    key: str
    title: str
    template: str
    items: Sequence[object] = ()
    extra: dict[str, object] = field(default_factory=dict)
    entries: Sequence[StoryEntry] = ()


StorySource = Callable[[Session, ReportSubject, Actor], list[StoryPart]]

_SOURCES: list[StorySource] = []


def register_story_sources(sources: Sequence[StorySource]) -> None:
    """Set the sources the report page asks, in the order their sections appear (the app calls it once)."""
    _SOURCES[:] = sources


def story_parts(session: Session, subject: ReportSubject, *, actor: Actor) -> list[StoryPart]:
    """Every registered source's sections about `subject`, as `actor` may see them."""
    return [part for source in _SOURCES for part in source(session, subject, actor)]


def timeline(own: Sequence[StoryEntry], parts: Sequence[StoryPart]) -> list[StoryEntry]:
    """The report's own entries and every part's, newest first; of entries at the same moment, the
    one listed later (a later step of the same order) comes first."""
    entries = [*own, *(e for p in parts for e in p.entries)]
    ranked = sorted(enumerate(entries), key=lambda ie: (ie[1].at, ie[0]), reverse=True)
    return [e for _i, e in ranked]
