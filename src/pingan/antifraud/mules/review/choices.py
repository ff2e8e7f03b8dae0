"""Statuses of mule candidates under review: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class CandidateStatus(StrEnum):
    """A candidate waits for review; a reviewer confirms or dismisses it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


register_labels(
    CandidateStatus,
    {
        CandidateStatus.PENDING: N_("awaiting review"),
        CandidateStatus.CONFIRMED: N_("confirmed"),
        CandidateStatus.DISMISSED: N_("dismissed"),
    },
)
