"""Statuses of mule candidates under review: what other packages may import."""

from __future__ import annotations

from enum import StrEnum


class CandidateStatus(StrEnum):
    """A candidate waits for review; a reviewer confirms or dismisses it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
