"""Kinds, states and outcomes of in-person visits: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class VisitKind(StrEnum):
    """Why an officer goes: to dissuade (上门劝阻), or to take the report of someone who already paid (受案)."""

    DISSUASION = "dissuasion"
    REPORT_INTAKE = "report_intake"


class VisitState(StrEnum):
    """open → accepted → done."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DONE = "done"


class VisitOutcome(StrEnum):
    """What the officer found."""

    DISSUADED = "dissuaded"
    ALREADY_PAID = "already_paid"
    NOT_REACHABLE = "not_reachable"
