"""Kinds of 110 call-backs (110 回访): what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class CallbackOutcome(StrEnum):
    """What a call-back to the caller of a closed 110 incident found."""

    SATISFIED = "satisfied"  # 满意
    DISSATISFIED = "dissatisfied"  # 不满意: may become a complaint (channel `callback_110`)
    NOT_REACHED = "not_reached"  # 未接通: not counted in the satisfaction


class TaskState(StrEnum):
    """Whether a call-back task is still to be made."""

    PENDING = "pending"
    DONE = "done"


register_labels(
    CallbackOutcome,
    {
        CallbackOutcome.SATISFIED: N_("reached, satisfied"),
        CallbackOutcome.DISSATISFIED: N_("reached, dissatisfied"),
        CallbackOutcome.NOT_REACHED: N_("not reached"),
    },
)
register_labels(TaskState, {TaskState.PENDING: N_("to call"), TaskState.DONE: N_("called")})
