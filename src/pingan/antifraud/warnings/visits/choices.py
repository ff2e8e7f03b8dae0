"""Kinds, states and outcomes of in-person visits: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class VisitKind(StrEnum):
    """Why an officer goes: to dissuade (上门劝阻), or to take the report of someone who already paid (受案)."""

    DISSUASION = "dissuasion"
    REPORT_INTAKE = "report_intake"


register_labels(
    VisitKind,
    {
        VisitKind.DISSUASION: N_("dissuasion"),
        VisitKind.REPORT_INTAKE: N_("taking a report"),
    },
)


class VisitState(StrEnum):
    """open → accepted → done."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DONE = "done"


register_labels(
    VisitState,
    {
        VisitState.OPEN: N_("not yet accepted"),
        VisitState.ACCEPTED: N_("accepted"),
        VisitState.DONE: N_("done"),
    },
)


class VisitOutcome(StrEnum):
    """What the officer found."""

    DISSUADED = "dissuaded"
    ALREADY_PAID = "already_paid"
    NOT_REACHABLE = "not_reachable"


register_labels(
    VisitOutcome,
    {
        VisitOutcome.DISSUADED: N_("dissuaded"),
        VisitOutcome.ALREADY_PAID: N_("already paid"),
        VisitOutcome.NOT_REACHABLE: N_("not reachable"),
    },
)
