"""Directive choices: the answer a directive requires, and where a station's answer stands."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class RequiredAnswer(StrEnum):
    """What a directive asks the station to send back."""

    ACKNOWLEDGE = "acknowledge"  # 签收: confirm it was received and will be carried out
    REPORT = "report"  # 书面报告: a written report of what was done
    DATA = "data"  # 报送数据: figures or a list to fill in


register_labels(
    RequiredAnswer,
    {
        RequiredAnswer.ACKNOWLEDGE: N_("acknowledgement"),
        RequiredAnswer.REPORT: N_("written report"),
        RequiredAnswer.DATA: N_("data return"),
    },
)


class AnswerState(StrEnum):
    """Where one station's answer to a directive stands at a moment (derived, never stored)."""

    PENDING = "pending"
    OVERDUE = "overdue"
    ANSWERED = "answered"
    ANSWERED_LATE = "answered_late"


register_labels(
    AnswerState,
    {
        AnswerState.PENDING: N_("awaiting answer"),
        AnswerState.OVERDUE: N_("overdue"),
        AnswerState.ANSWERED: N_("answered"),
        AnswerState.ANSWERED_LATE: N_("answered late"),
    },
)
