"""Kinds of the outcome figures: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class PersonReach(StrEnum):
    """Whether a flagged person's warnings reached them, as the monthly report shows it."""

    REACHED = "reached"  # a delivery report, an answered call or a visit done
    RECORDED_NOT_SENT = "recorded_not_sent"  # the outbox only wrote the warnings down
    NOT_REACHED = "not_reached"


register_labels(
    PersonReach,
    {
        PersonReach.REACHED: N_("reached"),
        PersonReach.RECORDED_NOT_SENT: N_("recorded, not sent"),
        PersonReach.NOT_REACHED: N_("not reached"),
    },
)
